// FallbackProactor: the Proactor over Node's own libuv modules (net, dgram, fs, ...), with no
// native code, so it works wherever Node does. Timers: ONE Node timeout for the earliest
// deadline, re-armed as it changes. Keep-alive while running: one ref'd interval.
import type { Proactor, ProactorHost } from "../src/proactor.js";
import { monotonicMs } from "../src/clock.js";

/** Longest delay Node's setTimeout takes (2^31-1 ms); later deadlines re-arm on the way. */
const MAX_TIMEOUT_MS = 0x7fffffff;

export class FallbackProactor implements Proactor {
  readonly backend = "fallback" as const;
  /**
   * Node timers count from libuv's cached loop time, so they may fire up to 1 ms early
   * against hrtime; a timer is still never run early: the core finds nothing due and
   * re-arms for the rest.
   */
  readonly clockResolution = 0;
  private host: ProactorHost | null = null;
  private timer: NodeJS.Timeout | null = null;
  private deadline: number | null = null;
  private keepAlive: NodeJS.Timeout | null = null;
  private closed = false;

  attach(host: ProactorHost): void {
    this.host = host;
  }

  get timerDeadline(): number | null {
    return this.deadline;
  }

  setTimer(whenMs: number | null): void {
    if (whenMs === this.deadline || this.closed) return;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.deadline = whenMs;
    if (whenMs === null) return;
    // A timeout that fired early leaves < 1 ms: sleep one more ms. Re-checking on every
    // libuv turn instead was measured worse (p99 ~3 ms): a busy process loses the CPU to
    // the scheduler on a shared machine.
    const remaining = whenMs - monotonicMs();
    this.timer = setTimeout(this.onTimer, Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.ceil(remaining))));
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.deadline = null;
    this.host?._runOnce();
  };

  /** Node's libuv I/O cannot be polled from JS: completions wait for the next libuv turn. */
  pollNow(): void {}

  ref(): void {
    if (this.keepAlive === null && !this.closed) this.keepAlive = setInterval(() => {}, MAX_TIMEOUT_MS);
  }

  unref(): void {
    if (this.keepAlive !== null) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }

  pendingOps(): number {
    return 0;
  }

  detachedCleanup(): null {
    // Every Node handle it holds is unref'd when the loop is not running.
    return null;
  }

  close(): void {
    if (this.closed) return;
    this.setTimer(null);
    this.unref();
    this.closed = true;
    this.host = null;
  }
}
