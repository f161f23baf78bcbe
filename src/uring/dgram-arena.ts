// The send arena of the io_uring datagram endpoints (one per proactor): sendto() copies the
// destination sockaddr and the payload into a region of a chunk here, and the OP_SENDTO
// record carries the region's address (ops/sendto.cc), so a datagram costs no native call
// and no allocation. Chunks are JS Buffers whose address native gave once
// (ring.bufferAddress) when the chunk was made.
//
// Rules (DESIGN.md, Ownership):
//   - take() reserves a region and one reference on its chunk; the region's bytes stay put
//     and the chunk stays referenced (from the caller's queue, then from bySlot[slot]) until
//     drop() or the op's final CQE (release(slot)).
//   - A chunk with no reference left is rewound (used = 0): kept as the current chunk, else
//     put on the free list (at most MAX_FREE), else left to the GC, which is safe then: no
//     op points into it.
//   - A region larger than a chunk gets a chunk of its own (not kept once free).
import type { NativeRing } from "./native.js";
import { systemError } from "../system-error.js";
import { SOCKADDR_MAX } from "./dgram-addr.js";

export const CHUNK_BYTES = 256 * 1024;
const MAX_FREE = 16;
/** Bytes reserved for the address at the start of a region (sockaddr_un rounded to 8). */
export const NAME_ROOM = (SOCKADDR_MAX + 7) & ~7;

export class ArenaChunk {
  used = 0;
  refs = 0;
  constructor(
    readonly buf: Buffer,
    readonly addr: number,
  ) {}
}

export class SendArena {
  private current: ArenaChunk | null = null;
  private readonly free: ArenaChunk[] = [];
  /** The chunk of the op in each slot (its final CQE releases it). */
  private readonly bySlot: (ArenaChunk | null)[];
  /** The payload length of the op in each slot. */
  private readonly lenBySlot: Int32Array;
  /** Offset of the region the last take() reserved. */
  offset = 0;
  /** Regions taken and not yet released (tests: none may leak). */
  held = 0;

  constructor(
    private readonly native: NativeRing,
    maxOps: number,
  ) {
    this.bySlot = new Array<ArenaChunk | null>(maxOps).fill(null);
    this.lenBySlot = new Int32Array(maxOps);
  }

  /** Reserves NAME_ROOM + `payload` bytes (8-aligned); the region starts at this.offset. */
  take(payload: number): ArenaChunk {
    const need = (NAME_ROOM + payload + 7) & ~7;
    let c = this.current;
    if (c === null || c.buf.length - c.used < need) {
      c = need > CHUNK_BYTES ? this.fresh(need) : (this.free.pop() ?? this.fresh(CHUNK_BYTES));
      if (need <= CHUNK_BYTES) this.current = c;
    }
    this.offset = c.used;
    c.used += need;
    c.refs++;
    this.held++;
    return c;
  }

  /** The op in `slot` (sending `len` payload bytes) now holds the region's reference. */
  bind(slot: number, chunk: ArenaChunk, len: number): void {
    this.bySlot[slot] = chunk;
    this.lenBySlot[slot] = len;
  }

  /** The op in `slot` completed: its reference goes; returns its payload length. */
  release(slot: number): number {
    const c = this.bySlot[slot];
    this.bySlot[slot] = null;
    if (c !== null) this.drop(c);
    return this.lenBySlot[slot];
  }

  /** One reference on `c` goes (a region that was never sent, or whose op completed). */
  drop(c: ArenaChunk): void {
    this.held--;
    if (--c.refs > 0) return;
    c.used = 0;
    if (c !== this.current && c.buf.length === CHUNK_BYTES && this.free.length < MAX_FREE) this.free.push(c);
  }

  private fresh(size: number): ArenaChunk {
    const buf = Buffer.allocUnsafeSlow(size);
    const addr = this.native.bufferAddress(buf);
    if (addr < 0) throw systemError(addr, "bufferAddress");
    return new ArenaChunk(buf, addr);
  }
}
