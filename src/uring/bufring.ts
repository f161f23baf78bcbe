// The provided buffer ring that multishot RECV picks from (one buffer group per ring;
// registered by native ring.setupBufRing, kernel >= 5.19).
//
// Rule: a buffer the kernel filled is copied out into a fresh Buffer (the protocol may keep
// it) and goes back into the ring at once, by writing the next ring entry through a typed
// array view and publishing the new tail with Atomics.store (release order): no native call.
import { systemError } from "../system-error.js";
import type { NativeRing } from "./native.js";

const ENTRY_BYTES = 16;

export class BufRing {
  readonly group: number;
  readonly count: number;
  readonly size: number;
  private readonly mask: number;
  private readonly u32: Uint32Array;
  private readonly u16: Uint16Array;
  private readonly data: Buffer;
  private readonly dataAddr: number;
  private tail: number;

  constructor(native: NativeRing, count: number, size: number, group: number) {
    const r = native.setupBufRing(count, size, group);
    if (typeof r === "number") throw systemError(r, "io_uring_register_buf_ring");
    this.group = group;
    this.count = count;
    this.size = size;
    this.mask = count - 1;
    this.u32 = new Uint32Array(r.entries);
    this.u16 = new Uint16Array(r.entries);
    this.data = Buffer.from(r.data);
    this.dataAddr = r.dataAddr;
    this.tail = Atomics.load(this.u16, 7);
  }

  /** Copies `len` bytes of buffer `bid` into a fresh Buffer and gives the buffer back. */
  take(bid: number, len: number): Buffer {
    const start = bid * this.size;
    const out = Buffer.allocUnsafe(len);
    this.data.copy(out, 0, start, start + len);
    this.recycle(bid);
    return out;
  }

  /** Puts buffer `bid` back into the ring (entry at tail, then tail + 1). */
  recycle(bid: number): void {
    const e = this.tail & this.mask;
    const addr = this.dataAddr + bid * this.size;
    const w = e * (ENTRY_BYTES / 4);
    this.u32[w] = addr >>> 0;
    this.u32[w + 1] = Math.floor(addr / 4294967296);
    this.u32[w + 2] = this.size;
    this.u16[e * (ENTRY_BYTES / 2) + 6] = bid;
    this.tail = (this.tail + 1) & 0xffff;
    Atomics.store(this.u16, 7, this.tail);
  }
}
