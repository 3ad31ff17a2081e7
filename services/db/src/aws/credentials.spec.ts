import { AccessDeniedError } from '#libs/common';
import { AwsIdentities, type AwsCredentials } from './credentials.js';
import { roleChain } from './rds-iam.js';

describe('roleChain', () => {
  const role = 'arn:aws:iam::111111111111:role/database-user-role';
  it('assume_role_arn (with external_id) first, then the database user when it is an IAM role', () => {
    expect(roleChain(undefined, 'alice')).toEqual([]);
    expect(roleChain({ region: 'us-east-1' }, 'alice')).toEqual([]);
    expect(roleChain({ assume_role_arn: 'arn:aws:iam::1:role/a', external_id: 'x' }, 'alice')).toEqual([
      { roleArn: 'arn:aws:iam::1:role/a', externalId: 'x' },
    ]);
    expect(roleChain({ assume_role_arn: 'arn:aws:iam::1:role/a' }, role)).toEqual([
      { roleArn: 'arn:aws:iam::1:role/a' },
      { roleArn: role },
    ]);
    expect(roleChain({}, role)).toEqual([{ roleArn: role }]);
    expect(roleChain({}, 'arn:aws:iam::111111111111:user/alice')).toEqual([]);
  });
});

describe('AwsIdentities, the host credentials', () => {
  it("come from the default chain; none found is the guide's NoCredentialProviders error", async () => {
    const host: AwsCredentials = { accessKeyId: 'AKIA1', secretAccessKey: 's' };
    expect(await new AwsIdentities('s', async () => host).credentials('us-east-1', [])).toBe(host);
    const none = new AwsIdentities('s', async () => {
      throw new Error('Could not load credentials from any providers');
    });
    const err = await none.credentials('us-east-1', []).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect((err as Error).message).toMatch(
      /^NoCredentialProviders: no valid providers in chain: .*Could not load credentials from any providers/,
    );
  });
});
