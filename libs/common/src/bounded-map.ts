/**
 * A Map that holds at most `limit` entries: setting a new key when full forgets the one set longest
 * ago. For memos of work done per certificate, key or context, which must not grow with what callers
 * send.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    // Set again, a key becomes the newest.
    if (this.has(key)) this.delete(key);
    else if (this.size >= this.limit) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
