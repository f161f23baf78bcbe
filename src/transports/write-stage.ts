// Staging memory for transport writes, SHARED by every transport of the thread. write()
// copies the caller's bytes (the caller may change its Buffer at once) to the fill mark of
// the current 64 KiB stage; the next write, by any transport, goes right after it. A stage
// is reused once every region handed out from it is released.
//
// Why shared: a stage per transport cost 64 KiB per connection with a write in flight, so
// one 100-byte message to each of 2,000 connections allocated 125 MiB of ArrayBuffers (V8
// counts them as external memory and collects sooner), and 100 concurrent echoes wrote
// into 100 different stages. Shared, those 2,000 messages fill 4 stages, and the 16 KiB
// x100 echo makes 1.06-1.10x the messages (perf/RESULTS.md, net-bench notes).
// Why staging at all (measured here, Node 20): copying into memory that is reused costs
// ~30 ns for 64 B and ~0.35 us for 16 KiB; a fresh Buffer per write (Buffer.from) costs
// ~0.1 us and ~3.6 us (new pages: page faults and GC pressure), ~10 us for 64 KiB.
//
// Rules:
//   - takeRegion(want) takes a reference to the stage the caller may append to, from
//     stage.used on; the caller advances stage.used as it copies (synchronously, so no
//     other transport writes in between). Its bytes stay put until it releases that
//     reference with releaseStages().
//   - A transport's region belongs to the endpoint from the write that carries it until
//     that write's onWriteDone, or the endpoint's onClosed when onWriteDone never comes;
//     only then is it released.
//   - A stage with no reference left is rewound (used = 0): kept as the current stage,
//     else put on the free list (at most MAX_FREE) or left to the GC.
export const STAGE_SIZE = 64 * 1024;
/** Stages kept for reuse at most (4 MiB); more are left to the GC. */
const MAX_FREE = 64;

export class Stage {
  readonly buf: Buffer = Buffer.allocUnsafeSlow(STAGE_SIZE);
  /** Bytes [0, used) are handed out. */
  used = 0;
  /** Regions handed out and not yet released. */
  refs = 0;
}

const free: Stage[] = [];
let current: Stage | null = null;
let regionsHeld = 0;

/**
 * The current stage, or a fresh one when it has less than `want` bytes of room (up to a
 * whole stage): a write that fits in a stage is then one contiguous chunk (one SEND, not a
 * two-iovec SENDMSG) at the price of the old stage's tail. One more reference is taken.
 */
export function takeRegion(want: number): Stage {
  let s = current;
  if (s === null || STAGE_SIZE - s.used < Math.min(want, STAGE_SIZE)) {
    s = free.pop() ?? new Stage();
    current = s;
  }
  s.refs++;
  regionsHeld++;
  return s;
}

/** Drops one reference per entry (a stage appears once per region taken from it). */
export function releaseStages(stages: Stage[]): void {
  for (let i = 0; i < stages.length; i++) {
    const s = stages[i];
    regionsHeld--;
    if (--s.refs > 0) continue;
    s.used = 0;
    if (s !== current && free.length < MAX_FREE) free.push(s);
  }
}

/** Regions taken and not yet released, process-wide (tests: no region may leak). */
export function heldRegions(): number {
  return regionsHeld;
}
