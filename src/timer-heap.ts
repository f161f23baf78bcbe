// Binary min-heap of TimerHandles ordered by (when, seq): deadline order, and FIFO among
// equal deadlines. Cancelled handles stay until they reach the top or until the loop
// rebuilds the heap (asyncio's lazy deletion).
import type { TimerHandle } from "./events.js";

function before(a: TimerHandle, b: TimerHandle): boolean {
  return a._when < b._when || (a._when === b._when && a._seq < b._seq);
}

export class TimerHeap {
  items: TimerHandle[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): TimerHandle | undefined {
    return this.items[0];
  }

  push(h: TimerHandle): void {
    const a = this.items;
    let i = a.length;
    a.push(h);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h, a[parent])) break;
      a[i] = a[parent];
      i = parent;
    }
    a[i] = h;
  }

  pop(): TimerHandle | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) this.siftDown(last);
    return top;
  }

  /** Drops every handle for which keep() is false and restores heap order in O(n). */
  filter(keep: (h: TimerHandle) => boolean): void {
    this.items = this.items.filter(keep);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDownFrom(i, this.items[i]);
  }

  clear(): void {
    this.items = [];
  }

  private siftDown(h: TimerHandle): void {
    this.siftDownFrom(0, h);
  }

  private siftDownFrom(start: number, h: TimerHandle): void {
    const a = this.items;
    const n = a.length;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(a[child + 1], a[child])) child++;
      if (!before(a[child], h)) break;
      a[i] = a[child];
      i = child;
    }
    a[i] = h;
  }
}
