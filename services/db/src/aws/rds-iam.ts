import { Signer } from '@aws-sdk/rds-signer';
import { parseHostPort } from '#libs/common';
import { databaseAwsRegion, type DatabaseConfig } from '#libs/config';
import { AwsIdentities, type AssumeRoleStep } from './credentials.js';
import { iamAuthRejectedError } from './errors.js';

/** An IAM role ARN used as a database user: for the services whose database users are IAM roles. */
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;

/**
 * The roles to assume before signing, in order: `aws.assume_role_arn` (with `aws.external_id`), then
 * the database user when it is itself an IAM role: with both, the second is assumed with the first's
 * credentials (role chaining).
 */
export function roleChain(aws: DatabaseConfig['aws'], dbUser: string): AssumeRoleStep[] {
  const chain: AssumeRoleStep[] = [];
  if (aws?.assume_role_arn) chain.push({ roleArn: aws.assume_role_arn, ...(aws.external_id ? { externalId: aws.external_id } : {}) });
  if (IAM_ROLE_ARN.test(dbUser)) chain.push({ roleArn: dbUser });
  return chain;
}

/** RDS and Aurora IAM authentication: the token sent as the password, and why the database refused one. */
export class RdsIamAuth {
  constructor(private readonly identities: AwsIdentities) {}

  /** A SigV4-presigned `connect` URL for `dbUser` at the database's host and port, valid 15 minutes. */
  async token(db: DatabaseConfig, dbUser: string): Promise<string> {
    const region = this.region(db);
    const { host, port } = parseHostPort(db.uri);
    const credentials = await this.identities.credentials(region, roleChain(db.aws, dbUser));
    return new Signer({ hostname: host, port, region, username: dbUser, credentials }).getAuthToken();
  }

  /** The error for a database that refused our token, naming the identity that signed it. */
  async rejected(db: DatabaseConfig, dbUser: string, databaseMessage: string): Promise<Error> {
    const region = this.region(db);
    const credentials = await this.identities.credentials(region, roleChain(db.aws, dbUser)).catch(() => undefined);
    const principal = credentials ? await this.identities.whoAmI(region, credentials) : undefined;
    return iamAuthRejectedError({ uri: db.uri, dbUser, region, principal, databaseMessage });
  }

  private region(db: DatabaseConfig): string {
    const region = databaseAwsRegion(db);
    if (!region) throw new Error(`database ${db.name} has no AWS region`);
    return region;
  }
}
