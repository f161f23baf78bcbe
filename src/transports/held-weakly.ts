// How a backend handle (an endpoint, a listener) reaches the user-facing object it serves
// (a transport, a server) without keeping it alive, as asyncio's loop does: an object with
// work in flight is kept alive by that work, an idle one only by its users. An idle object
// nobody references is garbage-collected, its backend handle closed, and in debug mode
// reported as unclosed (resource-warnings.ts).
//
// Rules:
//   - The backend handle holds only a HeldWeakly (directly or through a forwarding sink).
//   - The object pins itself (pin(this)) while it has work in flight and unpins (pin(null))
//     when it has none: the handle then reaches it only weakly.
//   - The object's unclosed-resource cleanup (trackUnclosed) closes the handle; it must not
//     reference the object.
export class HeldWeakly<T extends object> {
  private strong: T | null = null;
  private readonly weak: WeakRef<T>;

  constructor(target: T) {
    this.weak = new WeakRef(target);
  }

  /** The object, or undefined once it has been garbage-collected. */
  get(): T | undefined {
    return this.strong ?? this.weak.deref();
  }

  /** Keeps `target` alive from the handle (work in flight), or stops doing so (null). */
  pin(target: T | null): void {
    this.strong = target;
  }
}
