// Future (asyncio.Future): a result that arrives later, bound to a loop. Done callbacks are
// always scheduled with loop.callSoon, never called synchronously. A Future is a thenable:
// `await fut` resolves through a done callback, so it needs the loop to be running.
//
// States: PENDING -> FINISHED (result or exception) | CANCELLED. No other transitions.
import { CancelledError, InvalidStateError } from "./exceptions.js";
import { captureStack, type AbstractEventLoop, type AbstractFuture } from "./events.js";
import { validateCallback, argTypeError } from "./validate.js";

const enum State {
  Pending,
  Cancelled,
  Finished,
}

export type DoneCallback<T> = (fut: Future<T>) => void;

/** Resolved lazily by the loop module to avoid an import cycle. */
let defaultLoop: (() => AbstractEventLoop) | null = null;
export function _setDefaultLoopGetter(getter: () => AbstractEventLoop): void {
  defaultLoop = getter;
}

export class Future<T = unknown> implements AbstractFuture<T> {
  /** @internal */ _state: State = State.Pending;
  /** @internal */ _result: T | undefined = undefined;
  /** @internal */ _exception: unknown = undefined;
  /** @internal */ _cancelMessage: string | undefined = undefined;
  /** @internal */ _callbacks: DoneCallback<T>[] | null = null;
  /** @internal */ _loop: AbstractEventLoop;
  /** @internal */ _promise: Promise<T> | null = null;
  /** @internal */ _sourceTraceback: string | undefined;

  constructor(opts?: { loop?: AbstractEventLoop }) {
    if (opts !== undefined && (typeof opts !== "object" || opts === null)) {
      throw argTypeError("The \"opts\" argument must be an object");
    }
    const loop = opts?.loop ?? defaultLoop?.();
    if (!loop) throw new Error("Future needs a loop: pass { loop } or set an event loop");
    this._loop = loop;
    if (loop.getDebug()) this._sourceTraceback = captureStack(3);
  }

  getLoop(): AbstractEventLoop {
    return this._loop;
  }

  done(): boolean {
    return this._state !== State.Pending;
  }

  cancelled(): boolean {
    return this._state === State.Cancelled;
  }

  /** Cancels a pending future; false when it is already done. */
  cancel(msg?: string): boolean {
    if (this._state !== State.Pending) return false;
    this._state = State.Cancelled;
    this._cancelMessage = msg;
    this._scheduleCallbacks();
    return true;
  }

  result(): T {
    if (this._state === State.Cancelled) throw this._makeCancelledError();
    if (this._state !== State.Finished) throw new InvalidStateError("Result is not ready.");
    if (this._exception !== undefined) throw this._exception;
    return this._result as T;
  }

  exception(): unknown {
    if (this._state === State.Cancelled) throw this._makeCancelledError();
    if (this._state !== State.Finished) throw new InvalidStateError("Exception is not set.");
    return this._exception ?? null;
  }

  setResult(result: T): void {
    if (this._state !== State.Pending) throw new InvalidStateError(`invalid state: ${this._stateName()}`);
    this._result = result;
    this._state = State.Finished;
    this._scheduleCallbacks();
  }

  setException(exception: unknown): void {
    if (this._state !== State.Pending) throw new InvalidStateError(`invalid state: ${this._stateName()}`);
    if (exception === undefined || exception === null) {
      throw argTypeError("The \"exception\" argument must not be null or undefined");
    }
    this._exception = exception;
    this._state = State.Finished;
    this._scheduleCallbacks();
  }

  addDoneCallback(callback: DoneCallback<T>): void {
    validateCallback(callback);
    if (this._state !== State.Pending) {
      this._loop.callSoon(callback, this);
    } else if (this._callbacks === null) {
      this._callbacks = [callback];
    } else {
      this._callbacks.push(callback);
    }
  }

  /** Removes every registration of `callback`; returns how many were removed. */
  removeDoneCallback(callback: DoneCallback<T>): number {
    if (this._callbacks === null) return 0;
    const kept = this._callbacks.filter((cb) => cb !== callback);
    const removed = this._callbacks.length - kept.length;
    this._callbacks = kept;
    return removed;
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this._asPromise().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this._asPromise().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this._asPromise().finally(onfinally);
  }

  /** @internal One Promise per future, created on first await. */
  _asPromise(): Promise<T> {
    if (this._promise === null) {
      this._promise = new Promise<T>((resolve, reject) => {
        this.addDoneCallback((fut) => {
          if (fut._state === State.Cancelled) reject(fut._makeCancelledError());
          else if (fut._exception !== undefined) reject(fut._exception);
          else resolve(fut._result as T);
        });
      });
    }
    return this._promise;
  }

  /** @internal */
  _makeCancelledError(): CancelledError {
    return new CancelledError(this._cancelMessage ?? "");
  }

  /** @internal */
  _scheduleCallbacks(): void {
    const callbacks = this._callbacks;
    if (callbacks === null) return;
    this._callbacks = null;
    for (let i = 0; i < callbacks.length; i++) this._loop.callSoon(callbacks[i], this);
  }

  /** @internal */
  _stateName(): string {
    return this._state === State.Pending ? "PENDING" : this._state === State.Cancelled ? "CANCELLED" : "FINISHED";
  }

  toString(): string {
    let detail = this._stateName();
    if (this._state === State.Finished) detail += this._exception !== undefined ? ` exception=${String(this._exception)}` : ` result=${String(this._result)}`;
    return `<${this.constructor.name} ${detail}>`;
  }
}

export function isFuture(x: unknown): x is Future<unknown> {
  return x instanceof Future;
}
