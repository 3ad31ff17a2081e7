// Builds wire bytes for test fixtures field by field, independently of the code under test.
export class BufferList {
  private readonly parts: Buffer[] = [];

  byte(value: number): this {
    return this.add(Buffer.from([value]));
  }

  /** One ASCII character as a Byte1, e.g. a Describe target. */
  char(value: string): this {
    return this.add(Buffer.from(value, 'latin1'));
  }

  int16(value: number): this {
    const buffer = Buffer.alloc(2);
    buffer.writeInt16BE(value);
    return this.add(buffer);
  }

  int32(value: number): this {
    const buffer = Buffer.alloc(4);
    if (value < 0) buffer.writeInt32BE(value);
    else buffer.writeUInt32BE(value);
    return this.add(buffer);
  }

  /** A String: UTF-8 then NUL. */
  cstring(value: string): this {
    return this.add(Buffer.from(value, 'utf8')).byte(0);
  }

  add(bytes: Buffer): this {
    this.parts.push(bytes);
    return this;
  }

  /** The fields alone. */
  payload(): Buffer {
    return Buffer.concat(this.parts);
  }

  /** A regular frame: Byte1 type, Int32 length counting itself, the fields. */
  message(type: string): Buffer {
    const payload = this.payload();
    return new BufferList()
      .char(type)
      .int32(4 + payload.length)
      .add(payload)
      .payload();
  }

  /** A startup frame: Int32 length counting itself, the fields. */
  startup(): Buffer {
    const payload = this.payload();
    return new BufferList()
      .int32(4 + payload.length)
      .add(payload)
      .payload();
  }
}

/** Splits one complete regular message into its type byte and payload, checking its length field. */
export function splitMessage(message: Buffer): { type: number; payload: Buffer } {
  if (message.readUInt32BE(1) !== message.length - 1) throw new Error('length field does not match the message');
  return { type: message[0] as number, payload: message.subarray(5) };
}
