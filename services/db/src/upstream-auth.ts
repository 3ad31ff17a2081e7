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
  private readonly caFiles: Map<string, string | undefined>;

  private constructor(
    databases: DatabaseConfig[],
    private readonly clientKey: KeyPair,
    private readonly certificates: ClientCertificates,
    private readonly rdsIam: RdsIamAuth,
  ) {
    this.caFiles = new Map(databases.map((db) => [db.name, db.tls?.ca_cert_file ? readFileSync(db.tls.ca_cert_file, 'utf8') : undefined]));
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
  async for(db: DatabaseConfig, dbUser: string, ttlMs: number, sid: string): Promise<UpstreamAuth> {
    const context = `session ${sid}`;
    const ca = this.caFiles.get(db.name);
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
