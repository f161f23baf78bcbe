// Binary min-heap of TimerHandles ordered by (when, seq): deadline order, and FIFO among
// equal deadlines. Each handle knows its index (_heapIndex, -1 when not in the heap), so a
// cancelled timer leaves the heap at once in O(log n): cancelled handles never linger to be
// promoted by the GC (1M callLater+cancel went from GC-bound to ~3x setTimeout+clearTimeout).
import type { TimerHandle } from "./events.js";

function before(a: TimerHandle, b: TimerHandle): boolean {
  return a._when < b._when || (a._when === b._when && a._seq < b._seq);
}

export class TimerHeap {
  private items: TimerHandle[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): TimerHandle | undefined {
    return this.items[0];
  }

  push(h: TimerHandle): void {
    this.items.push(h);
    this.siftUp(this.items.length - 1, h);
  }

  pop(): TimerHandle | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    this.removeAt(0);
    return top;
  }

  /** Removes `h` if it is in the heap. */
  remove(h: TimerHandle): void {
    const i = h._heapIndex;
    if (i >= 0 && this.items[i] === h) this.removeAt(i);
  }

  clear(): void {
    for (const h of this.items) h._heapIndex = -1;
    this.items = [];
  }

  private removeAt(i: number): void {
    const a = this.items;
    a[i]._heapIndex = -1;
    const last = a.pop()!;
    if (i === a.length) return;
    // Put the last handle in the hole and move it whichever way order requires.
    if (i > 0 && before(last, a[(i - 1) >> 1])) this.siftUp(i, last);
    else this.siftDown(i, last);
  }

  private siftUp(start: number, h: TimerHandle): void {
    const a = this.items;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent];
      if (!before(h, p)) break;
      a[i] = p;
      p._heapIndex = i;
      i = parent;
    }
    a[i] = h;
    h._heapIndex = i;
  }

  private siftDown(start: number, h: TimerHandle): void {
    const a = this.items;
    const n = a.length;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(a[child + 1], a[child])) child++;
      const c = a[child];
      if (!before(c, h)) break;
      a[i] = c;
      c._heapIndex = i;
      i = child;
    }
    a[i] = h;
    h._heapIndex = i;
  }
}
