import { databaseAwsRegion, databaseType, rdsRegionFromHost } from './aws-region.js';

describe('rdsRegionFromHost', () => {
  it.each([
    ['postgres-aurora-instance-1.abcdefghijklm.us-west-1.rds.amazonaws.com', 'us-west-1'],
    ['databases-1.xxx.us-east-1.rds.amazonaws.com', 'us-east-1'],
    ['aurora.cluster-abcdefghijkl.eu-central-1.rds.amazonaws.com', 'eu-central-1'],
    ['aurora.cluster-ro-abcdefghijkl.ap-southeast-2.rds.amazonaws.com', 'ap-southeast-2'],
    ['my-proxy.proxy-abcdefghijkl.us-east-2.rds.amazonaws.com', 'us-east-2'],
    ['pg.abcdefghijkl.us-gov-west-1.rds.amazonaws.com', 'us-gov-west-1'],
    ['pg.abcdefghijkl.cn-north-1.rds.amazonaws.com.cn', 'cn-north-1'],
    ['PG.ABCDEFGHIJKL.US-WEST-2.RDS.AMAZONAWS.COM.', 'us-west-2'],
  ])('%s is in %s', (host, region) => {
    expect(rdsRegionFromHost(host)).toBe(region);
  });

  it.each([
    'localhost',
    '127.0.0.1',
    'db.example.com',
    'us-west-1.rds.amazonaws.com',
    'pg.abc.us-west-1.rds.amazonaws.com.evil.example',
    'pg.abc.us-west-1.redshift.amazonaws.com',
    'pg.abc.notaregion.rds.amazonaws.com',
  ])('%s is not an RDS endpoint', (host) => {
    expect(rdsRegionFromHost(host)).toBeUndefined();
  });
});

describe('databaseAwsRegion and databaseType', () => {
  it('prefers aws.region, else reads the endpoint, else the database is self-hosted', () => {
    const rdsUri = 'pg.abc.us-west-1.rds.amazonaws.com:5432';
    expect(databaseAwsRegion({ uri: rdsUri, aws: { region: 'eu-west-1' } })).toBe('eu-west-1');
    expect(databaseAwsRegion({ uri: rdsUri })).toBe('us-west-1');
    expect(databaseAwsRegion({ uri: 'localhost:5432', aws: { region: 'us-east-1' } })).toBe('us-east-1');
    expect(databaseType({ uri: rdsUri })).toBe('rds');
    expect(databaseType({ uri: 'localhost:5432', aws: {} })).toBe('self-hosted');
    expect(databaseType({ uri: '[::1]:5432' })).toBe('self-hosted');
  });
});
