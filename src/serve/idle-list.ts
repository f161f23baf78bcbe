// The connections waiting for a request with nothing of it buffered, idle longest first:
// the order --max-connections evicts in. An intrusive doubly linked list: a connection is
// marked idle again after every answer, and moving it to the newest end is a few pointer
// writes, where a Set's delete + add hashed it twice per request (4 KiB files: ~1% of the
// server's samples).

/** The links a listed item carries (owned by the one IdleList it may be on). */
export interface IdleLinks<T> {
  idlePrev: T | null;
  idleNext: T | null;
  idleListed: boolean;
}

export class IdleList<T extends IdleLinks<T>> {
  private head: T | null = null;
  private tail: T | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The item idle longest, or null. */
  oldest(): T | null {
    return this.head;
  }

  /** Makes `item` the newest (adds it when absent). */
  touch(item: T): void {
    if (this.tail === item) return;
    this.delete(item);
    item.idlePrev = this.tail;
    item.idleNext = null;
    if (this.tail !== null) this.tail.idleNext = item;
    else this.head = item;
    this.tail = item;
    item.idleListed = true;
    this.count++;
  }

  /** Takes `item` off the list; nothing when it is not on it. */
  delete(item: T): void {
    if (!item.idleListed) return;
    const { idlePrev: prev, idleNext: next } = item;
    if (prev !== null) prev.idleNext = next;
    else this.head = next;
    if (next !== null) next.idlePrev = prev;
    else this.tail = prev;
    item.idlePrev = item.idleNext = null;
    item.idleListed = false;
    this.count--;
  }
}
