// The Proactor: the seam between the I/O-agnostic core (base-events.ts) and a backend
// (src/uring/ over io_uring, fallback/ over Node's libuv modules). The core only ever talks
// to this interface; transports, servers and sock_* methods of later issues are written once
// against it and each backend only completes operations.
//
// Rules every backend keeps:
// - A completion is never delivered synchronously inside the call that started the op.
// - After a batch of completions (or a timer wake-up) the backend calls host._runOnce() once.
// - An op owns its buffers and fds until its final completion, also after a cancel.
// - close() cancels whatever is in flight and releases every handle; it is idempotent.
import type { ExceptionContext } from "./events.js";

export type Backend = "uring" | "fallback";

/** What a backend may call on the loop that owns it. */
export interface ProactorHost {
  /** One loop iteration: due timers to the ready queue, then run the ready queue. */
  _runOnce(): void;
  callExceptionHandler(context: ExceptionContext): void;
}

export interface Proactor {
  readonly backend: Backend;
  /** Timers due within this many ms of now count as due (the wake-up source's granularity). */
  readonly clockResolution: number;
  attach(host: ProactorHost): void;
  /**
   * One wake-up for the earliest timer: call host._runOnce() at monotonic time `whenMs`
   * (loop.time() scale), or never when null. A new call replaces the previous deadline.
   */
  setTimer(whenMs: number | null): void;
  /** The deadline currently armed, or null (also null again once it has fired). */
  readonly timerDeadline: number | null;
  /**
   * Between two iterations run back to back in one JS turn: submit what is staged and hand
   * the completions already available to their handlers, WITHOUT calling host._runOnce().
   * A backend that cannot look at its I/O synchronously does nothing.
   */
  pollNow(): void;
  /** While the loop runs, the backend keeps the Node process alive; unref() lets it go. */
  ref(): void;
  unref(): void;
  /** Operations submitted whose final completion has not arrived (leak checks, close). */
  pendingOps(): number;
  close(): void;
  /**
   * A cleanup that releases the backend's resources without referencing the loop or the
   * proactor, run when a loop is garbage-collected unclosed; null when nothing needs it.
   */
  detachedCleanup(): (() => void) | null;
}
