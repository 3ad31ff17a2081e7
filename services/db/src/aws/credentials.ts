import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { stsError, noCredentialsError } from './errors.js';

export type AwsCredentials = Awaited<ReturnType<ReturnType<typeof fromNodeProviderChain>>>;
type CredentialsProvider = () => Promise<AwsCredentials>;

/** One sts:AssumeRole of a chain: the role, and the external id its trust policy may require. */
export interface AssumeRoleStep {
  roleArn: string;
  externalId?: string;
}

/** Temporary credentials are renewed this long before they expire, so none expires mid-signature. */
export const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * The Database Service's AWS identities: the host's own from the default credential chain
 * (environment, shared files, SSO, container and instance roles), and roles assumed from it with
 * sts:AssumeRole, each in turn with the credentials of the one before (role chaining). Assumed
 * credentials are cached until shortly before they expire.
 */
export class AwsIdentities {
  private readonly cache = new Map<string, Promise<AwsCredentials>>();

  constructor(
    private readonly sessionName: string,
    private readonly base: CredentialsProvider = fromNodeProviderChain(),
    private readonly now: () => number = Date.now,
  ) {}

  /** The credentials at the end of `chain`; the host's own for an empty chain. */
  async credentials(region: string, chain: AssumeRoleStep[]): Promise<AwsCredentials> {
    if (!chain.length) {
      try {
        return await this.base();
      } catch (err) {
        throw noCredentialsError(err as Error);
      }
    }
    const key = JSON.stringify([region, chain]);
    const cached = this.cache.get(key);
    if (cached) {
      const creds = await cached.catch(() => undefined);
      if (creds && (!creds.expiration || creds.expiration.getTime() - this.now() > REFRESH_BEFORE_MS)) return creds;
      if (this.cache.get(key) === cached) this.cache.delete(key);
      return this.credentials(region, chain);
    }
    const assumed = this.assume(region, chain);
    this.cache.set(key, assumed);
    assumed.catch(() => {
      if (this.cache.get(key) === assumed) this.cache.delete(key);
    });
    return assumed;
  }

  private async assume(region: string, chain: AssumeRoleStep[]): Promise<AwsCredentials> {
    const step = chain[chain.length - 1]!;
    const previous = chain.slice(0, -1);
    const caller = await this.credentials(region, previous);
    const sts = new STSClient({ region, credentials: caller });
    try {
      const out = await sts.send(
        new AssumeRoleCommand({
          RoleArn: step.roleArn,
          RoleSessionName: this.sessionName,
          ...(step.externalId ? { ExternalId: step.externalId } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('sts:AssumeRole returned no credentials');
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        ...(c.Expiration ? { expiration: c.Expiration } : {}),
      };
    } catch (err) {
      throw stsError(err as Error, step, previous.length ? previous[previous.length - 1]!.roleArn : undefined);
    } finally {
      sts.destroy();
    }
  }

  /** The ARN these credentials act as (sts:GetCallerIdentity), or undefined when STS does not say. */
  async whoAmI(region: string, credentials: AwsCredentials): Promise<string | undefined> {
    const sts = new STSClient({ region, credentials });
    try {
      return (await sts.send(new GetCallerIdentityCommand({}))).Arn;
    } catch {
      return undefined;
    } finally {
      sts.destroy();
    }
  }
}
