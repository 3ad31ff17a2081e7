import { AccessDeniedError, ConnectionProblemError, type DomainError } from '#libs/common';
import type { AssumeRoleStep } from './credentials.js';

const DOCS = 'see docs/aws-rds.md';

/** The default credential chain found nothing: the guide's "No credential providers error". */
export function noCredentialsError(err: Error): DomainError {
  return new AccessDeniedError(
    `NoCredentialProviders: no valid providers in chain: the Database Service found no AWS credentials (${err.message}); ` +
      'give its host credentials allowed rds-db:connect: an instance or task role, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ' +
      `or a profile in ~/.aws (${DOCS})`,
  );
}

/** sts:AssumeRole failed: who could not assume what, and what to configure. */
export function stsError(err: Error & { name: string; $metadata?: unknown }, step: AssumeRoleStep, callerRole?: string): DomainError {
  if (err.name === 'AccessDenied' || err.name === 'AccessDeniedException') {
    // STS says "User: <principal> is not authorized to perform: sts:AssumeRole on resource: <role>".
    const said = err.message.includes('sts:AssumeRole')
      ? err.message
      : `${callerRole ? `User: ${callerRole}` : 'The Database Service'} is not authorized to perform: sts:AssumeRole on resource: ${step.roleArn} (${err.message})`;
    return new AccessDeniedError(
      `AccessDenied: ${said}; allow it: the trust policy of ${step.roleArn} must name that principal (or its account) as Principal` +
        (step.externalId ? ` with the condition sts:ExternalId = "${step.externalId}"` : '') +
        `, and the principal needs sts:AssumeRole on ${step.roleArn} (${DOCS})`,
    );
  }
  if (!('$metadata' in err)) {
    return new ConnectionProblemError(
      `cannot reach AWS STS to assume ${step.roleArn}: ${err.message}; check the host's network and proxy settings`,
    );
  }
  return new AccessDeniedError(
    `${err.name}: assuming ${step.roleArn} failed: ${err.message}; check the AWS credentials of the Database Service (${DOCS})`,
  );
}

/** The database refused the IAM token: the two grants it takes, with the ARN to allow. */
export function iamAuthRejectedError(opts: {
  uri: string;
  dbUser: string;
  region: string;
  principal: string | undefined;
  databaseMessage: string;
}): DomainError {
  const account = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(opts.principal ?? '')?.[1] ?? '<account-id>';
  const partition = /^arn:(aws[a-z-]*):/.exec(opts.principal ?? '')?.[1] ?? 'aws';
  return new AccessDeniedError(
    `the database at ${opts.uri} rejected IAM authentication as "${opts.dbUser}" (${opts.databaseMessage}); ` +
      `the token was signed for region ${opts.region}${opts.principal ? ` by ${opts.principal}` : ''}. ` +
      `Grant the database user rds_iam (GRANT rds_iam TO "${opts.dbUser}";), enable IAM authentication on the database, ` +
      `and allow rds-db:connect on arn:${partition}:rds-db:${opts.region}:${account}:dbuser:<resource-id>/${opts.dbUser} ` +
      `(the resource id is on the database's Configuration tab: db-... for RDS, cluster-... for Aurora) to that AWS identity; ` +
      `check that aws.region is the database's region (${DOCS})`,
  );
}
