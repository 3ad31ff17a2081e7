import { randomBytes } from 'node:crypto';

export interface CancelTarget {
  uri: string;
  processId: number;
  secretKey: number;
}

/**
 * The cancel keys of this service's sessions. A client's BackendKeyData carries the database
 * backend's real process id (what `pg_backend_pid()` and a NOTIFY's sender say) and a secret of ours:
 * random, unique among this service's sessions, forgotten when the session ends, so it is worthless
 * afterwards and never reveals the database's own secret. The secret is reserved before the database is
 * reached (the broker routes cancels by it) and bound to the database's key once the session is connected;
 * a CancelRequest must name both the process id and our secret.
 */
export class CancelKeys {
  private readonly targets = new Map<number, CancelTarget | undefined>();

  /** A fresh secret for a session that is starting. */
  reserve(): number {
    for (;;) {
      const secret = randomBytes(4).readInt32BE(0);
      if (secret === 0 || this.targets.has(secret)) continue;
      this.targets.set(secret, undefined);
      return secret;
    }
  }

  bind(secret: number, target: CancelTarget): void {
    this.targets.set(secret, target);
  }

  lookup(processId: number, secretKey: number): CancelTarget | undefined {
    const target = this.targets.get(secretKey);
    return target?.processId === processId ? target : undefined;
  }

  release(secret: number): void {
    this.targets.delete(secret);
  }
}
