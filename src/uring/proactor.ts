// UringProactor: the Proactor over one io_uring ring per loop, living inside Node's libuv
// loop (native/ring.cc). Ops are staged into shared memory and submitted once per libuv
// iteration; completions arrive in batches and end with one host._runOnce().
import type { Proactor, ProactorHost } from "../proactor.js";
import { Ring, DEFAULT_RING_CONFIG, type OpHandler, type RingConfig } from "./ring.js";
import { RingTimer } from "./timer.js";
import { OP_NOP, OP_ASYNC_CANCEL, NO_OP_INDEX } from "./native.js";

export class UringProactor implements Proactor {
  readonly backend = "uring" as const;
  /** IORING_TIMEOUT_ABS fires at or after the deadline, never before. */
  readonly clockResolution = 0;
  /** @internal */ readonly ring: Ring;
  private readonly timer: RingTimer;
  private host: ProactorHost | null = null;
  private refed = false;
  private closed = false;

  constructor(config: RingConfig = DEFAULT_RING_CONFIG) {
    this.ring = new Ring(
      config,
      () => this.host?._runOnce(),
      (exception, handler) =>
        this.host?.callExceptionHandler({ message: "Exception in io_uring completion handler", exception, handler }),
    );
    this.timer = new RingTimer(this.ring, () => {});
  }

  attach(host: ProactorHost): void {
    this.host = host;
  }

  get flags(): string[] {
    return this.ring.flags;
  }

  get timerDeadline(): number | null {
    return this.timer.deadline;
  }

  setTimer(whenMs: number | null): void {
    if (this.closed) return;
    this.timer.set(whenMs);
  }

  pollNow(): void {
    if (!this.closed) this.ring.pollNow();
  }

  /** IORING_OP_NOP: completes with res 0; for the ring round-trip benchmark and tests. */
  nop(handler: OpHandler): number {
    const slot = this.ring.alloc(handler);
    this.ring.stageRecord(OP_NOP, slot, -1);
    return slot;
  }

  /**
   * IORING_OP_ASYNC_CANCEL of the op in `slot` (fire and forget, kernel >= 5.5). The target
   * still completes (usually -ECANCELED) and keeps its slot, buffers and fds until then.
   */
  cancel(slot: number): void {
    if (!this.closed) this.ring.stageTargeted(OP_ASYNC_CANCEL, NO_OP_INDEX, slot, 0);
  }

  ref(): void {
    if (this.refed || this.closed) return;
    this.refed = true;
    this.ring.native.ref();
  }

  unref(): void {
    if (!this.refed || this.closed) return;
    this.refed = false;
    this.ring.native.unref();
  }

  /** Ops in flight, not counting the loop's own wake-up timer. */
  pendingOps(): number {
    return this.closed ? 0 : this.ring.pending - this.timer.held;
  }

  detachedCleanup(): () => void {
    const native = this.ring.native;
    return () => native.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host = null;
    this.ring.close();
  }
}
