// The bytes a transport has been given and not yet seen sent: queued (copied into shared
// staging memory, write-stage.ts) and in flight (handed to the endpoint by one write).
//
// write() COPIES the data into staging memory shared by all transports and reused (measured
// in write-stage.ts: far cheaper than a fresh Buffer per write), so the caller may change its
// Buffer right after; keeping the caller's Buffer instead cannot be made safe in JS.
// Consecutive writes of one transport with no other transport's write between them are
// contiguous, so a burst of small writes becomes ONE chunk.
//
// Ownership: the regions of the queued bytes are the queue's until take(); those of a write
// in flight belong to the endpoint from start() until done() (its onWriteDone, or onClosed
// when onWriteDone never comes).
import { takeRegion, releaseStages, STAGE_SIZE, type Stage } from "./write-stage.js";

/** Everything queued, as one endpoint write: its chunks and the stage regions they live in. */
export interface QueuedWrite {
  chunks: Uint8Array[];
  stages: Stage[];
  bytes: number;
}

export class WriteQueue {
  /** Bytes queued, not yet handed to the endpoint. */
  queued = 0;
  /** Bytes of the write in flight (0 when none, or when it is not a queued write). */
  inFlight = 0;
  /** Chunks sealed so far (views of stages). */
  private chunks: Uint8Array[] = [];
  /**
   * The stage this queue appends to: bytes [stageStart, stageEnd) are queued but not yet in
   * `chunks`; appending goes on in place while stage.used === stageEnd (no other transport
   * wrote since).
   */
  private stage: Stage | null = null;
  private stageStart = 0;
  private stageEnd = 0;
  /** One entry per region taken for the queued bytes (the current stage's included). */
  private queuedStages: Stage[] = [];
  /** The regions the endpoint owns until the write in flight is done. */
  private inFlightStages: Stage[] = [];

  /** Copies `data` to the shared fill mark (a new region when ours is no longer at it). */
  append(data: Uint8Array): void {
    let off = 0;
    const n = data.length;
    while (off < n) {
      let s = this.stage;
      if (s === null || s.used !== this.stageEnd || s.used === STAGE_SIZE) s = this.nextRegion(n - off);
      const take = Math.min(n - off, STAGE_SIZE - s.used);
      s.buf.set(off === 0 && take === n ? data : data.subarray(off, off + take), s.used);
      s.used += take;
      this.stageEnd = s.used;
      off += take;
    }
    this.queued += n;
  }

  /** Everything queued, as one write; the queue is empty after. Later appends take a new region. */
  take(): QueuedWrite {
    this.seal();
    const w: QueuedWrite = { chunks: this.chunks, stages: this.queuedStages, bytes: this.queued };
    this.chunks = [];
    this.queued = 0;
    this.stage = null;
    this.queuedStages = [];
    return w;
  }

  /** `w` is now the write in flight (its regions are the endpoint's until done()). */
  start(w: QueuedWrite): void {
    this.inFlightStages = w.stages;
    this.inFlight = w.bytes;
  }

  /** The write in flight completed (or the endpoint closed): its regions are free. */
  done(): void {
    this.inFlight = 0;
    releaseStages(this.inFlightStages);
    this.inFlightStages = [];
  }

  /** Drops what is queued (not the endpoint's yet: released now). */
  drop(): void {
    this.chunks = [];
    this.queued = 0;
    releaseStages(this.queuedStages);
    this.queuedStages = [];
    this.stage = null;
  }

  private nextRegion(want: number): Stage {
    if (this.stage !== null) this.seal();
    const s = takeRegion(want);
    this.queuedStages.push(s);
    this.stage = s;
    this.stageStart = this.stageEnd = s.used;
    return s;
  }

  /** Moves the current region's pending bytes into `chunks`. */
  private seal(): void {
    if (this.stageEnd > this.stageStart) {
      this.chunks.push(this.stage!.buf.subarray(this.stageStart, this.stageEnd));
      this.stageStart = this.stageEnd;
    }
  }
}
