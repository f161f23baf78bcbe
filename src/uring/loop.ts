// UringEventLoop: the asyncio loop over io_uring (UringProactor).
import { BaseEventLoop } from "../base-events.js";
import { UringProactor } from "./proactor.js";
import { DEFAULT_RING_CONFIG } from "./ring.js";

export interface UringLoopOptions {
  /** SQ entries (power of two, 1..32768; default 4096). */
  entries?: number;
  /** Op table size: operations in flight at once (default 32768). */
  maxOps?: number;
}

export class UringEventLoop extends BaseEventLoop {
  /** @internal */ declare readonly _proactor: UringProactor;

  constructor(opts: UringLoopOptions = {}) {
    if (opts === null || typeof opts !== "object") throw new TypeError("The \"opts\" argument must be an object");
    super(new UringProactor({ entries: opts.entries ?? DEFAULT_RING_CONFIG.entries, maxOps: opts.maxOps ?? DEFAULT_RING_CONFIG.maxOps }));
  }

  /** io_uring setup flags this loop's ring runs with. */
  get ringFlags(): string[] {
    return this._proactor.flags;
  }
}
