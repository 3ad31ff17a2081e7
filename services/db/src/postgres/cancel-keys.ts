import { randomBytes } from 'node:crypto';

export interface CancelTarget {
  uri: string;
  processId: number;
  secretKey: number;
}

export interface CancelKey {
  processId: number;
  secretKey: number;
}

const id = (key: CancelKey) => `${key.processId}:${key.secretKey}`;

/**
 * The BackendKeyData we give clients, mapped to the database's own. Ours are random 64-bit pairs,
 * unique per session and forgotten when it ends, so a key is worthless afterwards. A key is reserved
 * before the database is reached (the broker routes cancels by its process id) and bound to the
 * database's key once the session is connected.
 */
export class CancelKeys {
  private readonly targets = new Map<string, CancelTarget | undefined>();

  reserve(): CancelKey {
    for (;;) {
      const bytes = randomBytes(8);
      const key = { processId: bytes.readInt32BE(0) & 0x7fffffff, secretKey: bytes.readInt32BE(4) };
      if (key.processId === 0 || this.targets.has(id(key))) continue;
      this.targets.set(id(key), undefined);
      return key;
    }
  }

  bind(key: CancelKey, target: CancelTarget): void {
    this.targets.set(id(key), target);
  }

  lookup(processId: number, secretKey: number): CancelTarget | undefined {
    return this.targets.get(id({ processId, secretKey }));
  }

  release(key: CancelKey): void {
    this.targets.delete(id(key));
  }
}
