import type { RpcClient } from '#libs/bus';
import { Rpc, type SignedCert } from '#libs/events';
import { inspectCert } from '#libs/pki';

/** A certificate is reused only while it has at least this long to live. */
const REUSE_MARGIN_MS = 60_000;

/**
 * db_client certificates for database users, signed by auth. A session may reuse one only when it
 * expires no later than the session must end (the user's certificate), so no session outlives its
 * user's certificate; otherwise a new one is signed for exactly the session's lifetime.
 */
export class ClientCertificates {
  private readonly cache = new Map<string, { certPem: string; cas: SignedCert['cas']; notAfter: number }>();

  constructor(
    private readonly auth: RpcClient,
    private readonly publicKeyPem: string,
  ) {}

  /** A certificate for `dbUser`, for session `sid` (auth signs only for the users of this service's sessions). */
  async get(dbUser: string, ttlMs: number, sid: string): Promise<{ certPem: string; cas: SignedCert['cas'] }> {
    const now = Date.now();
    const cached = this.cache.get(dbUser);
    if (cached && cached.notAfter <= now + ttlMs && cached.notAfter - now > REUSE_MARGIN_MS) return cached;
    const signed = await this.auth.call<SignedCert>(Rpc.Auth.SignDbClient, {
      db_user: dbUser,
      public_key: this.publicKeyPem,
      ttl_ms: ttlMs,
      sid,
    });
    const entry = { certPem: signed.cert, cas: signed.cas, notAfter: inspectCert(signed.cert).notAfter.getTime() };
    this.cache.set(dbUser, entry);
    return entry;
  }
}
