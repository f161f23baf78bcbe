// A FIFO of handles on a power-of-two ring buffer: O(1) push/shift without the O(n)
// Array.prototype.shift or the garbage of linked nodes. The ready queue's container.
export class Deque<T> {
  private items: (T | undefined)[];
  private head = 0;
  private tail = 0;
  private mask: number;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity) cap <<= 1;
    this.items = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return (this.tail - this.head) & this.mask;
  }

  push(item: T): void {
    this.items[this.tail] = item;
    this.tail = (this.tail + 1) & this.mask;
    if (this.tail === this.head) this.grow();
  }

  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    return item;
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = this.tail = 0;
  }

  private grow(): void {
    const old = this.items;
    const cap = old.length;
    // The buffer is full: head === tail. Unroll it into a twice-as-large buffer.
    const next = new Array<T | undefined>(cap * 2);
    for (let i = 0; i < cap; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.tail = cap;
    this.mask = cap * 2 - 1;
  }
}
