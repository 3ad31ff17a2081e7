import { randomBytes } from 'node:crypto';

export interface CancelTarget {
  uri: string;
  processId: number;
  secretKey: number;
}

/**
 * The BackendKeyData we give clients, mapped to the database's own. Ours are random 64-bit pairs,
 * unique per session and forgotten when it ends, so a key is worthless afterwards.
 */
export class CancelKeys {
  private readonly targets = new Map<string, CancelTarget>();

  issue(target: CancelTarget): { processId: number; secretKey: number } {
    for (;;) {
      const bytes = randomBytes(8);
      const key = { processId: bytes.readInt32BE(0) & 0x7fffffff, secretKey: bytes.readInt32BE(4) };
      const id = `${key.processId}:${key.secretKey}`;
      if (key.processId === 0 || this.targets.has(id)) continue;
      this.targets.set(id, target);
      return key;
    }
  }

  lookup(processId: number, secretKey: number): CancelTarget | undefined {
    return this.targets.get(`${processId}:${secretKey}`);
  }

  release(key: { processId: number; secretKey: number }): void {
    this.targets.delete(`${key.processId}:${key.secretKey}`);
  }
}
