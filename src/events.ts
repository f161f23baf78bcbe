// Contracts of the event loop (asyncio events.py): Handle, TimerHandle, the loop interface
// the rest of the code is written against, and the policy base class.
import type { Future } from "./futures.js";
import type { Task, TaskCoro } from "./tasks.js";
import type { Executor } from "./executor.js";
import type { AddrInfo } from "./dns.js";
import type { Server } from "./server.js";
import type { StreamTransport } from "./transports/stream.js";
import type { BaseProtocol } from "./protocols.js";
import type { CreateConnectionOptions, CreateServerOptions, CreateUnixServerOptions } from "./streams.js";
import type { SendfileSource, SendfileOptions } from "./sendfile.js";
import type { Transport } from "./transports.js";

export type Callback = (...args: any[]) => unknown;

/** The keys asyncio puts in an exception-handler context, camelCased. */
export interface ExceptionContext {
  message?: string;
  exception?: unknown;
  future?: Future<unknown>;
  task?: Task<unknown>;
  handle?: Handle;
  protocol?: unknown;
  transport?: unknown;
  socket?: unknown;
  asyncgen?: AsyncGenerator<unknown, unknown, unknown>;
  sourceTraceback?: string;
  handleTraceback?: string;
  [key: string]: unknown;
}

export type ExceptionHandler = (loop: AbstractEventLoop, context: ExceptionContext) => void;
export type TaskFactory = (loop: AbstractEventLoop, coro: TaskCoro<any>, opts?: { name?: string }) => Task<any>;

/** What the core needs from a loop to run a handle; kept minimal so Handle stays I/O-agnostic. */
export interface HandleOwner {
  callExceptionHandler(context: ExceptionContext): void;
  getDebug(): boolean;
  /** Called by TimerHandle.cancel() so the timer leaves the heap at once. */
  _timerHandleCancelled(handle: TimerHandle): void;
}

/** A scheduled callback (asyncio.Handle). */
export class Handle {
  /** @internal */ _callback: Callback | null;
  /** @internal */ _args: unknown[] | null;
  /** @internal */ _cancelled = false;
  /** @internal */ readonly _loop: HandleOwner;
  /** Stack at creation, recorded in debug mode only. */
  /** @internal */ _sourceTraceback: string | undefined;

  constructor(callback: Callback, args: unknown[], loop: HandleOwner) {
    this._callback = callback;
    this._args = args;
    this._loop = loop;
    if (loop.getDebug()) this._sourceTraceback = captureStack(3);
  }

  cancel(): void {
    if (this._cancelled) return;
    this._cancelled = true;
    // Drop references so a cancelled handle never keeps its arguments alive.
    this._callback = null;
    this._args = null;
  }

  cancelled(): boolean {
    return this._cancelled;
  }

  /** @internal Runs the callback; an exception goes to the loop's exception handler, never further. */
  _run(): void {
    const cb = this._callback!;
    const args = this._args!;
    try {
      switch (args.length) {
        case 0:
          cb();
          break;
        case 1:
          cb(args[0]);
          break;
        default:
          cb(...args);
      }
    } catch (exception) {
      const context: ExceptionContext = { message: `Exception in callback ${this.describe()}`, exception, handle: this };
      if (this._sourceTraceback) context.sourceTraceback = this._sourceTraceback;
      this._loop.callExceptionHandler(context);
    }
  }

  describe(): string {
    const name = this._callback ? this._callback.name || "<anonymous>" : "<cancelled>";
    return `${name}()`;
  }

  toString(): string {
    return `<${this.constructor.name} ${this._cancelled ? "cancelled " : ""}${this.describe()}>`;
  }
}

/** A callback scheduled for a point in loop time (asyncio.TimerHandle); `when` is in ms. */
export class TimerHandle extends Handle {
  /** @internal */ readonly _when: number;
  /** @internal Tie-breaker: equal deadlines run in the order they were scheduled. */
  /** @internal */ readonly _seq: number;
  /** @internal Position in the loop's timer heap, -1 when not in it (timer-heap.ts). */
  /** @internal */ _heapIndex = -1;

  constructor(when: number, seq: number, callback: Callback, args: unknown[], loop: HandleOwner) {
    super(callback, args, loop);
    this._when = when;
    this._seq = seq;
  }

  /** The absolute loop time (ms) the callback is scheduled for. */
  when(): number {
    return this._when;
  }

  override cancel(): void {
    if (this._cancelled) return;
    if (this._heapIndex >= 0) this._loop._timerHandleCancelled(this);
    super.cancel();
  }

  override describe(): string {
    return `${super.describe()} when=${this._when.toFixed(3)}`;
  }
}

export function captureStack(skip: number): string {
  const stack = new Error().stack ?? "";
  return stack.split("\n").slice(skip).join("\n");
}

/** The loop interface (asyncio.AbstractEventLoop) as far as the delivered issues go. */
export interface AbstractEventLoop extends HandleOwner {
  readonly backend: "uring" | "fallback";
  slowCallbackDuration: number;
  runUntilComplete<T>(future: Future<T> | PromiseLike<T>): Promise<T>;
  runForever(): Promise<void>;
  stop(): void;
  close(): void;
  isRunning(): boolean;
  isClosed(): boolean;
  shutdownAsyncgens(): Promise<void>;
  shutdownDefaultExecutor(): Promise<void>;
  setDebug(enabled: boolean): void;
  getDebug(): boolean;
  callSoon(callback: Callback, ...args: unknown[]): Handle;
  callSoonThreadsafe(callback: Callback, ...args: unknown[]): Handle;
  callLater(delayMs: number, callback: Callback, ...args: unknown[]): TimerHandle;
  callAt(whenMs: number, callback: Callback, ...args: unknown[]): TimerHandle;
  time(): number;
  createFuture<T = unknown>(): Future<T>;
  createTask<T>(coro: TaskCoro<T>, opts?: { name?: string }): Task<T>;
  setTaskFactory(factory: TaskFactory | null): void;
  getTaskFactory(): TaskFactory | null;
  runInExecutor<R>(executor: Executor | null, fn: unknown, ...args: unknown[]): Promise<R>;
  setDefaultExecutor(executor: Executor): void;
  getaddrinfo(host: string | null, port: number | string | null, opts?: { family?: 0 | 4 | 6; type?: number; proto?: number; flags?: number }): Promise<AddrInfo[]>;
  getnameinfo(addr: { host: string; port: number }, flags?: number): Promise<[string, string]>;
  createConnection<P extends BaseProtocol>(protocolFactory: () => P, host?: string | null, port?: number | string | null, opts?: CreateConnectionOptions): Promise<[StreamTransport, P]>;
  createServer(protocolFactory: () => BaseProtocol, host?: string | string[] | null, port?: number | string | null, opts?: CreateServerOptions): Promise<Server>;
  createUnixConnection<P extends BaseProtocol>(protocolFactory: () => P, path?: string | null, opts?: { ssl?: unknown; sock?: number; signal?: AbortSignal }): Promise<[StreamTransport, P]>;
  createUnixServer(protocolFactory: () => BaseProtocol, path?: string | null, opts?: CreateUnixServerOptions): Promise<Server>;
  connectAcceptedSocket<P extends BaseProtocol>(protocolFactory: () => P, sock: number, opts?: { ssl?: unknown }): Promise<[StreamTransport, P]>;
  /** Sends `count` bytes (to EOF when omitted) of `file` from `offset`; resolves to the bytes sent (sendfile.ts). */
  sendfile(transport: Transport, file: SendfileSource, offset?: number, count?: number | null, opts?: SendfileOptions): Promise<number>;
  setExceptionHandler(handler: ExceptionHandler | null): void;
  getExceptionHandler(): ExceptionHandler | null;
  defaultExceptionHandler(context: ExceptionContext): void;
}

/** Base class of event loop policies (asyncio.AbstractEventLoopPolicy). */
export abstract class AbstractEventLoopPolicy {
  abstract getEventLoop(): AbstractEventLoop;
  abstract setEventLoop(loop: AbstractEventLoop | null): void;
  abstract newEventLoop(): AbstractEventLoop;
}
