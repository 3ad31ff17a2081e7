import { parseHostPort } from '#libs/common';

// RDS and Aurora endpoints: <instance>.<id>.<region>.rds.amazonaws.com, <cluster>.cluster-<id>.<region>...,
// cluster-ro- and proxy- variants, and .rds.amazonaws.com.cn in the China regions.
const RDS_HOST = /^(?:[a-z0-9-]+\.)+([a-z]{2}(?:-[a-z]+)+-\d+)\.rds\.amazonaws\.com(?:\.cn)?$/;

/** The AWS region an RDS or Aurora endpoint name carries, or undefined for any other host. */
export function rdsRegionFromHost(host: string): string | undefined {
  return RDS_HOST.exec(host.toLowerCase().replace(/\.$/, ''))?.[1];
}

/** The region to sign IAM tokens for: `aws.region` when set, else the one in an RDS endpoint's name. */
export function databaseAwsRegion(db: { uri: string; aws?: { region?: string | undefined } | undefined }): string | undefined {
  if (db.aws?.region) return db.aws.region;
  try {
    return rdsRegionFromHost(parseHostPort(db.uri).host);
  } catch {
    return undefined;
  }
}

/** Teleport's `db_type`: `rds` for databases reached with AWS IAM authentication. */
export function databaseType(db: { uri: string; aws?: { region?: string | undefined } | undefined }): 'rds' | 'self-hosted' {
  return databaseAwsRegion(db) ? 'rds' : 'self-hosted';
}
