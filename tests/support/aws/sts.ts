// A local stand-in for AWS STS (Query protocol over HTTP on loopback): it checks each request's SigV4
// signature against the secret of the access key it names, as STS does, and answers AssumeRole and
// GetCallerIdentity. The SDK reaches it through AWS_ENDPOINT_URL_STS.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AccessKey, Iam } from './iam.js';
import { canonicalRequest, parseAmzDate, parseAuthorization, sameSignature, sha256Hex, signature } from './sigv4.js';

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** STS refuses requests signed further than this from its clock. */
const MAX_SKEW_MS = 5 * 60_000;

export interface StsCall {
  action: string;
  callerArn: string;
  accessKeyId: string;
  region: string;
  roleArn?: string;
  externalId?: string;
  roleSessionName?: string;
  outcome: 'ok' | string;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export class StsStandIn {
  readonly calls: StsCall[] = [];
  private server!: Server;
  url = '';

  constructor(
    private readonly iam: Iam,
    private readonly ttlSeconds = 3600,
  ) {}

  /** Listens on `address` (another host reaches it at that address). */
  async start(address = '127.0.0.1'): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, address, resolve));
    this.url = `http://${address}:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const params = new URLSearchParams(body.toString('utf8'));
    const action = params.get('Action') ?? '';
    const auth = this.authenticate(req, body);
    if ('error' in auth) return this.error(res, 403, auth.error, auth.message);
    const { key, region } = auth;
    const call: StsCall = { action, callerArn: key.arn, accessKeyId: key.accessKeyId, region, outcome: 'ok' };
    this.calls.push(call);
    if (action === 'GetCallerIdentity') {
      return this.reply(
        res,
        action,
        `<Arn>${xmlEscape(key.arn)}</Arn><UserId>${key.accessKeyId}</UserId><Account>${key.arn.split(':')[4]}</Account>`,
      );
    }
    if (action !== 'AssumeRole') return this.error(res, 400, 'InvalidAction', `Could not find operation ${action}`);
    const roleArn = params.get('RoleArn') ?? '';
    const externalId = params.get('ExternalId') ?? undefined;
    const roleSessionName = params.get('RoleSessionName') ?? '';
    Object.assign(call, { roleArn, roleSessionName, ...(externalId ? { externalId } : {}) });
    const denied = this.iam.assumeDenied(key, roleArn, externalId);
    if (denied) {
      call.outcome = 'AccessDenied';
      return this.error(res, 403, 'AccessDenied', denied);
    }
    const issued = this.iam.issue(roleArn, roleSessionName, this.ttlSeconds, new Date());
    return this.reply(
      res,
      action,
      `<Credentials><AccessKeyId>${issued.accessKeyId}</AccessKeyId><SecretAccessKey>${issued.secretAccessKey}</SecretAccessKey>` +
        `<SessionToken>${issued.sessionToken}</SessionToken><Expiration>${issued.expires!.toISOString()}</Expiration></Credentials>` +
        `<AssumedRoleUser><AssumedRoleId>AROA${issued.accessKeyId.slice(4)}:${xmlEscape(roleSessionName)}</AssumedRoleId>` +
        `<Arn>${xmlEscape(issued.arn)}</Arn></AssumedRoleUser>`,
    );
  }

  /** The caller's key when the request is signed with its secret, for the sts service, recently. */
  private authenticate(req: IncomingMessage, body: Buffer): { key: AccessKey; region: string } | { error: string; message: string } {
    const auth = parseAuthorization(req.headers.authorization);
    if (!auth) return { error: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' };
    const key = this.iam.key(auth.scope.accessKeyId);
    if (!key) return { error: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' };
    if (key.sessionToken && req.headers['x-amz-security-token'] !== key.sessionToken)
      return { error: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' };
    if (key.expires && key.expires.getTime() < Date.now())
      return { error: 'ExpiredToken', message: 'The security token included in the request is expired' };
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const when = parseAmzDate(amzDate);
    if (!when || Math.abs(when.getTime() - Date.now()) > MAX_SKEW_MS || amzDate.slice(0, 8) !== auth.scope.date)
      return { error: 'SignatureDoesNotMatch', message: 'Signature expired or not yet valid' };
    if (auth.scope.service !== 'sts')
      return { error: 'SignatureDoesNotMatch', message: `Credential should be scoped to correct service: 'sts'.` };
    const payloadHash = sha256Hex(body);
    const declared = req.headers['x-amz-content-sha256'];
    if (declared !== undefined && declared !== payloadHash) return { error: 'SignatureDoesNotMatch', message: 'payload hash mismatch' };
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const url = new URL(req.url ?? '/', 'http://localhost');
    const canonical = canonicalRequest({
      method: req.method ?? 'POST',
      path: url.pathname,
      query: [...url.searchParams.entries()],
      headers,
      signedHeaders: auth.signedHeaders,
      payloadHash,
    });
    if (
      !auth.signedHeaders.includes('host') ||
      !sameSignature(signature(key.secretAccessKey, auth.scope, amzDate, canonical), auth.signature)
    )
      return {
        error: 'SignatureDoesNotMatch',
        message:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      };
    return { key, region: auth.scope.region };
  }

  private reply(res: ServerResponse, action: string, result: string): void {
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<${action}Response xmlns="${NS}"><${action}Result>${result}</${action}Result>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
    );
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    if (code !== 'AccessDenied') this.calls.push({ action: 'rejected', callerArn: '', accessKeyId: '', region: '', outcome: code });
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(
      `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>` +
        `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );
  }
}
