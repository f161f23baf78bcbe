// Task (asyncio.Task): a Future driven by a coroutine. In JS a coroutine is a Promise, or a
// function (signal) => Promise started on the next loop iteration (asyncio's lazy start).
//
// Cancellation is cooperative (API.md): cancel() aborts the signal with a CancelledError.
//   not started       -> the function is never called; the task ends CANCELLED
//   started, function -> signal aborted; the task ends CANCELLED when the promise rejects
//                        with that reason or any CancelledError/AbortError, and takes the
//                        result if it fulfils anyway (cancellation suppressed)
//   bare Promise      -> CANCELLED at once; the Promise's later outcome is ignored
import { Future } from "./futures.js";
import { CancelledError, isCancellation } from "./exceptions.js";
import type { AbstractEventLoop, AbstractTask, TaskCoro } from "./events.js";
import { argTypeError } from "./validate.js";

let taskCounter = 0;

export class Task<T = unknown> extends Future<T> implements AbstractTask<T> {
  /** @internal */ _name: string;
  /** @internal */ _coro: ((signal: AbortSignal) => PromiseLike<T> | T) | null;
  /** @internal */ _controller: AbortController | null = null;
  /** @internal */ _started = false;
  /** @internal */ _cancelRequested = false;

  constructor(coro: TaskCoro<T>, opts?: { loop?: AbstractEventLoop; name?: string }) {
    super(opts?.loop ? { loop: opts.loop } : undefined);
    if (opts?.name !== undefined && typeof opts.name !== "string") {
      throw argTypeError("The \"name\" option must be a string");
    }
    this._name = opts?.name ?? `Task-${++taskCounter}`;
    const loop = this._loop as AbstractEventLoop & { _registerTask?(t: Task<unknown>): void };
    if (typeof coro === "function") {
      this._coro = coro;
      this._controller = new AbortController();
      loop.callSoon(() => this._start());
    } else if (coro !== null && typeof coro === "object" && typeof (coro as PromiseLike<T>).then === "function") {
      this._coro = null;
      this._started = true;
      this._follow(coro as PromiseLike<T>);
    } else {
      throw argTypeError("The \"coro\" argument must be a Promise or a function (signal) => Promise");
    }
    loop._registerTask?.(this as Task<unknown>);
  }

  getName(): string {
    return this._name;
  }

  setName(name: unknown): void {
    this._name = String(name);
  }

  /** The AbortSignal handed to the coroutine function (null for a task over a bare Promise). */
  get signal(): AbortSignal | null {
    return this._controller ? this._controller.signal : null;
  }

  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    if (!this._started || this._controller === null) {
      // Never started, or nothing to signal: cancelled at once.
      return super.cancel(msg);
    }
    if (!this._cancelRequested) {
      this._cancelRequested = true;
      this._cancelMessage = msg;
      this._controller.abort(new CancelledError(msg ?? ""));
    }
    return true;
  }

  /** @internal */
  _start(): void {
    if (this.done()) return; // cancelled before it started: the function never runs
    this._started = true;
    const fn = this._coro!;
    this._coro = null;
    let out: PromiseLike<T> | T;
    try {
      out = fn(this._controller!.signal);
    } catch (err) {
      this._settleRejected(err);
      return;
    }
    if (out !== null && typeof out === "object" && typeof (out as PromiseLike<T>).then === "function") {
      this._follow(out as PromiseLike<T>);
    } else {
      this._settleFulfilled(out as T);
    }
  }

  /** @internal */
  _follow(p: PromiseLike<T>): void {
    p.then(
      (v) => this._settleFulfilled(v),
      (e) => this._settleRejected(e),
    );
  }

  /** @internal */
  _settleFulfilled(value: T): void {
    if (this.done()) return; // a bare-Promise task cancelled earlier ignores its outcome
    this.setResult(value);
  }

  /** @internal */
  _settleRejected(err: unknown): void {
    if (this.done()) return;
    const reason = this._controller?.signal.reason;
    if (isCancellation(err) || (this._cancelRequested && err === reason)) {
      const msg = this._cancelMessage ?? (err instanceof CancelledError ? err.message : undefined);
      super.cancel(msg || undefined);
    } else {
      this.setException(err ?? new Error(`Task rejected with ${String(err)}`));
    }
  }

  override toString(): string {
    return super.toString().replace(/^<(\w+)/, `<$1 name='${this._name}'`);
  }
}
