import { readFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import type { RpcClient } from '#libs/bus';
import { databaseType, type DatabaseConfig } from '#libs/config';
import { generateKeyPair, type KeyPair } from '#libs/pki';
import { AwsIdentities } from './aws/credentials.js';
import { RdsIamAuth } from './aws/rds-iam.js';
import { ClientCertificates } from './client-certificates.js';
import type { UpstreamAuth } from './postgres/upstream.js';

/**
 * How a database user authenticates to a database this service serves: an IAM token for RDS and
 * Aurora, else a client certificate signed by the cluster's db_client CA (cached per user).
 */
export class UpstreamAuthenticator {
  private readonly logger = new Logger('db');
  /** tls.ca_cert_file contents, by path: read when a database is first served, so a missing file shows at once. */
  private readonly caFiles = new Map<string, string>();

  private constructor(
    databases: DatabaseConfig[],
    private readonly clientKey: KeyPair,
    private readonly certificates: ClientCertificates,
    private readonly rdsIam: RdsIamAuth,
  ) {
    for (const db of databases) this.caOf(db);
  }

  /** The CAs a database's server certificate is checked against, when it names its own: a resource's ca_cert, or a ca_cert_file. */
  private caOf(db: DatabaseConfig & { caPem?: string }): string | undefined {
    if (db.caPem) return db.caPem;
    const file = db.tls?.ca_cert_file;
    if (!file) return undefined;
    let pem = this.caFiles.get(file);
    if (pem === undefined) {
      pem = readFileSync(file, 'utf8');
      this.caFiles.set(file, pem);
    }
    return pem;
  }

  static async create(databases: DatabaseConfig[], rpc: RpcClient, hostId: string): Promise<UpstreamAuthenticator> {
    const clientKey = await generateKeyPair();
    return new UpstreamAuthenticator(
      databases,
      clientKey,
      new ClientCertificates(rpc, clientKey.publicKeyPem),
      new RdsIamAuth(new AwsIdentities(`teleport-db-${hostId}`)),
    );
  }

  /** For session `sid` (which names the context in logs too). */
  async for(db: DatabaseConfig & { caPem?: string }, dbUser: string, ttlMs: number, sid: string): Promise<UpstreamAuth> {
    const context = `session ${sid}`;
    const ca = this.caOf(db);
    if (databaseType(db) === 'rds') {
      const password = await this.rdsIam.token(db, dbUser).catch((err: Error) => {
        this.logger.warn(`${context}: no IAM token for ${dbUser} at ${db.name}: ${err.message}`);
        throw err;
      });
      return {
        password,
        ...(ca ? { caPems: [ca] } : {}),
        rejected: async (message: string) => {
          const err = await this.rdsIam.rejected(db, dbUser, message);
          this.logger.warn(`${context}: ${err.message}`);
          return err;
        },
      };
    }
    const signed = await this.certificates.get(dbUser, ttlMs, sid);
    return { certPem: signed.certPem, privateKeyPem: this.clientKey.privateKeyPem, caPems: ca ? [ca] : (signed.cas.db ?? []) };
  }
}
