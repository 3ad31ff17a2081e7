// The IAM side of the local AWS stand-ins: access keys and the principals they belong to, roles with
// their trust policies, and the temporary credentials sts:AssumeRole hands out.
import { randomBytes } from 'node:crypto';

export const ACCOUNT = '111111111111';

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The principal acting: an IAM user, or `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  arn: string;
  /** The IAM role behind an assumed-role session. */
  roleArn?: string;
  expires?: Date;
}

export interface RoleTrust {
  /** Principals allowed to assume the role: role or user ARNs, or `arn:aws:iam::<account>:root`. */
  principals: string[];
  /** The trust policy's `sts:ExternalId` condition. */
  externalId?: string;
}

const random = (n: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'): string =>
  [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');

export class Iam {
  private readonly keys = new Map<string, AccessKey>();
  private readonly roles = new Map<string, RoleTrust>();

  /** A long-lived access key of an IAM user, as the Database Service's host would have. */
  user(name: string): AccessKey {
    const key: AccessKey = {
      accessKeyId: `AKIA${random(16)}`,
      secretAccessKey: random(40, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'),
      arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
    };
    this.keys.set(key.accessKeyId, key);
    return key;
  }

  role(name: string, trust: RoleTrust): string {
    const arn = `arn:aws:iam::${ACCOUNT}:role/${name}`;
    this.roles.set(arn, trust);
    return arn;
  }

  key(accessKeyId: string): AccessKey | undefined {
    return this.keys.get(accessKeyId);
  }

  /** Whether `caller` may assume `roleArn` with `externalId`: the reason it may not, else undefined. */
  assumeDenied(caller: AccessKey, roleArn: string, externalId: string | undefined): string | undefined {
    const trust = this.roles.get(roleArn);
    const denied = `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;
    if (!trust) return denied;
    const who = caller.roleArn ?? caller.arn;
    const trusted = trust.principals.some((p) => p === who || p === `arn:aws:iam::${ACCOUNT}:root`);
    if (!trusted || trust.externalId !== externalId) return denied;
    return undefined;
  }

  /** Temporary credentials of a session of `roleArn`, valid `ttlSeconds`. */
  issue(roleArn: string, sessionName: string, ttlSeconds: number, now: Date): AccessKey {
    const key: AccessKey = {
      accessKeyId: `ASIA${random(16)}`,
      secretAccessKey: random(40, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'),
      sessionToken: random(120, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'),
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleArn.split('/').pop()}/${sessionName}`,
      roleArn,
      expires: new Date(now.getTime() + ttlSeconds * 1000),
    };
    this.keys.set(key.accessKeyId, key);
    return key;
  }
}
