/**
 * Gathers items and hands them to `commit` together: as soon as `maxItems` are waiting, or `maxWaitMs`
 * after the first of a partial batch arrived. The index commits once per batch, never once per event
 * however slowly events come.
 */
export class CommitBatcher<T> {
  private items: T[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly commit: (items: T[]) => void,
    readonly maxItems: number,
    readonly maxWaitMs: number,
  ) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.maxItems) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.maxWaitMs);
  }

  /** Commits what is waiting now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.items.length) return;
    const items = this.items;
    this.items = [];
    this.commit(items);
  }
}
