/**
 * Counts the messages of some types in a stream of regular (typed) messages, reading nothing but
 * their five-byte headers: what a relay that does not parse the protocol can afford per chunk.
 */
export class MessageCounter {
  /** Bytes of the current message's body still to pass over. */
  private remaining = 0;
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;

  constructor(private readonly types: ReadonlySet<number>) {}

  /** How many messages of the counted types begin in `chunk`. */
  push(chunk: Buffer): number {
    let count = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, chunk.length - i);
        i += skip;
        this.remaining -= skip;
        continue;
      }
      let type: number;
      let length: number;
      if (this.headerBytes === 0 && chunk.length - i >= 5) {
        type = chunk[i]!;
        length = chunk.readUInt32BE(i + 1);
        i += 5;
      } else {
        const take = Math.min(5 - this.headerBytes, chunk.length - i);
        chunk.copy(this.header, this.headerBytes, i, i + take);
        this.headerBytes += take;
        i += take;
        if (this.headerBytes < 5) break;
        this.headerBytes = 0;
        type = this.header[0]!;
        length = this.header.readUInt32BE(1);
      }
      if (this.types.has(type)) count++;
      // A length below 4 is a protocol violation the Database Service ends the session for.
      this.remaining = Math.max(0, length - 4);
    }
    return count;
  }
}
