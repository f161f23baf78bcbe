// The provided buffer ring that multishot RECV picks from (one buffer group per ring;
// registered by native ring.setupBufRing, kernel >= 5.19).
//
// Rule: the chunk in a buffer the kernel filled becomes a Buffer the protocol may keep,
// and the buffer's ring entry is refilled at once, by writing the next ring entry through
// a typed array view and publishing the new tail with Atomics.store (release order): no
// native call.
//
// Two ways, by chunk size:
//   - at least HANDOVER_MIN bytes: the protocol gets the entry's memory itself (no copy),
//     and the entry is refilled with fresh memory carved from a SLAB_SIZE slab of our own
//     (one native bufferAddress call per slab). A 16 KiB copy costs about what the whole
//     rest of the user-space path does; a fresh ArrayBuffer per chunk costs as much as the
//     copy (malloc, GC work per ArrayBuffer), hence the slab.
//   - smaller: copied out (Node's 8 KiB pool up to 4 KiB, else our slab), and the entry
//     goes back with its memory unchanged: handing over a mostly empty entry would waste
//     the rest of it.
// Ownership: the kernel may write into an entry's memory until the CQE that consumes it;
// `regions` keeps every entry's memory referenced, and the native Ring object holds that
// array (property bufRegions<group>) until the ring is Closed, as it holds the mapping.
// The price, as with Node's pool: a chunk the protocol keeps holds its slab alive.
import { systemError } from "../system-error.js";
import type { NativeRing } from "./native.js";

const ENTRY_BYTES = 16;
/** Chunks up to this size are copied into Node's pool (Buffer.allocUnsafe uses it up to 4 KiB). */
const POOLED_MAX = 4096;
const SLAB_SIZE = 256 * 1024;

/** Counter for tests and profiling (process-wide): chunks handed over without a copy. */
export const bufRingStats = { handedOver: 0 };

export class BufRing {
  readonly group: number;
  readonly count: number;
  readonly size: number;
  private readonly mask: number;
  private readonly u32: Uint32Array;
  private readonly u16: Uint16Array;
  private readonly native: NativeRing;
  /** Memory of each entry (a view of the mapping at first, slab memory once handed over). */
  private readonly regions: Buffer[];
  private readonly addrs: Float64Array;
  private readonly handoverMin: number;
  private tail: number;
  /** The ring's buffer memory as 32-bit words (a region's words start at region.byteOffset / 4 while it is not handed over). */
  readonly words: Uint32Array;
  private slab: Buffer | null = null;
  private slabAddr = 0;
  private slabUsed = 0;

  constructor(native: NativeRing, count: number, size: number, group: number) {
    const r = native.setupBufRing(count, size, group);
    if (typeof r === "number") throw systemError(r, "io_uring_register_buf_ring");
    this.native = native;
    this.group = group;
    this.count = count;
    this.size = size;
    this.mask = count - 1;
    this.handoverMin = Math.max(POOLED_MAX + 1, size >>> 1);
    this.u32 = new Uint32Array(r.entries);
    this.u16 = new Uint16Array(r.entries);
    const data = Buffer.from(r.data);
    this.words = new Uint32Array(r.data, 0, r.data.byteLength >>> 2);
    this.regions = [];
    this.addrs = new Float64Array(count);
    for (let bid = 0; bid < count; bid++) {
      this.regions.push(data.subarray(bid * size, (bid + 1) * size));
      this.addrs[bid] = r.dataAddr + bid * size;
    }
    Object.defineProperty(native, `bufRegions${group}`, { value: this.regions, configurable: true });
    this.tail = Atomics.load(this.u16, 7);
  }

  /** The `len` bytes the kernel put in buffer `bid`, as a Buffer the caller owns; refills the entry. */
  take(bid: number, len: number): Buffer {
    const mem = this.regions[bid];
    let out: Buffer;
    if (len >= this.handoverMin) {
      out = mem.subarray(0, len);
      const fresh = this.carve(this.size);
      this.regions[bid] = fresh;
      this.addrs[bid] = this.slabAddr + fresh.byteOffset; // a slab starts at offset 0 of its ArrayBuffer
      bufRingStats.handedOver++;
    } else {
      out = len <= POOLED_MAX ? Buffer.allocUnsafe(len) : this.carve(len);
      mem.copy(out, 0, 0, len);
    }
    this.recycle(bid);
    return out;
  }

  /** `len` bytes of the current slab (8-byte aligned), starting a fresh slab when it is full. */
  private carve(len: number): Buffer {
    if (this.slab === null || this.slabUsed + len > this.slab.byteLength) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, len));
      const addr = this.native.bufferAddress(this.slab);
      if (addr < 0) throw systemError(addr, "bufferAddress");
      this.slabAddr = addr;
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + len);
    this.slabUsed += (len + 7) & ~7;
    return out;
  }

  /** Buffers the kernel can still fill (tail - the kernel's head; null where it cannot say: kernel < 6.8). */
  inKernel(): number | null {
    const head = this.native.bufRingHead(this.group);
    return head < 0 ? null : (this.tail - head) & 0xffff;
  }

  /** The memory of buffer `bid` (for a reader that parses it in place, e.g. datagrams; then recycle(bid)). */
  region(bid: number): Buffer {
    return this.regions[bid];
  }

  /** Puts buffer `bid` back into the ring (entry at tail, then tail + 1). */
  recycle(bid: number): void {
    const e = this.tail & this.mask;
    const addr = this.addrs[bid];
    const w = e * (ENTRY_BYTES / 4);
    this.u32[w] = addr >>> 0;
    this.u32[w + 1] = Math.floor(addr / 4294967296);
    this.u32[w + 2] = this.size;
    this.u16[e * (ENTRY_BYTES / 2) + 6] = bid;
    this.tail = (this.tail + 1) & 0xffff;
    Atomics.store(this.u16, 7, this.tail);
  }
}
