// The I/O-agnostic core (asyncio base_events.py): ready queue, timer heap, run/stop/close,
// futures and tasks, the exception handler, debug mode, the executor and DNS. Everything
// that touches I/O goes through the Proactor.
//
// Iterations and Node's loop: a libuv turn per iteration (setImmediate) costs ~1 us, more
// than most callbacks. So up to MAX_CHAINED_ITERATIONS iterations, within MAX_CHAIN_MS, run
// back to back as microtasks (interleaving in FIFO order with the Promise reactions they
// cause, as awaiting tasks expect); between two of them the proactor delivers the
// completions already available (pollNow). Then one setImmediate yields to libuv, so
// Node's own I/O and timers wait at most that long.
//
// One iteration (_runOnce), as asyncio's _run_once:
//   1. timers due by now + clockResolution move to the END of the ready queue;
//   2. exactly the callbacks queued at that moment run (later ones wait for the next
//      iteration), in FIFO order;
//   3. stop requested -> the run ends; ready queue not empty -> next iteration via one
//      setImmediate; otherwise the proactor is asked for ONE wake-up at the earliest deadline.
// Completions arriving from the proactor end with a call to _runOnce, so callbacks they
// queue run in the same libuv turn.
import {
  Handle,
  TimerHandle,
  captureStack,
  type AbstractEventLoop,
  type AbstractFuture,
  type AbstractTask,
  type AddrInfo,
  type Callback,
  type ConnectAcceptedSocketOptions,
  type CreateDatagramEndpointOptions,
  type CreateConnectionOptions,
  type CreateServerOptions,
  type CreateUnixConnectionOptions,
  type CreateUnixServerOptions,
  type StartTlsOptions,
  type ExceptionContext,
  type PipeSource,
  type SubprocessOptions,
  type ExceptionHandler,
  type Executor,
  type LoopMetrics,
  type SendfileOptions,
  type SendfileSource,
  type SockAddr,
  type SockAddrInput,
  type SockOptions,
  type SockSendfileOptions,
  type TaskCoro,
  type TaskFactory,
} from "./events.js";
import { Future, isFuture } from "./futures.js";
import { Task } from "./tasks.js";
import { Deque } from "./deque.js";
import { TimerHeap } from "./timer-heap.js";
import { monotonicMs } from "./clock.js";
import { logger, formatValue } from "./log.js";
import { getRunningLoopOrNull, _setRunningLoop } from "./running.js";
import { WorkerPoolExecutor, isWorkerTask } from "./executor.js";
import * as dns from "./dns.js";
import type { Proactor, ProactorHost, Backend } from "./proactor.js";
import type { Socket } from "./socket.js";
import * as sockMethods from "./sock-methods.js";
import { sockSendfile } from "./sock-sendfile.js";
import { Readiness } from "./readiness.js";
import { SignalHandlers } from "./signals.js";
import { trackUnclosed, untrack, type ResourceState } from "./resource-warnings.js";
import * as streams from "./streams.js";
import * as pipes from "./pipes.js";
import * as subprocess from "./subprocess.js";
import * as datagrams from "./datagrams.js";
import type { DatagramTransportImpl } from "./transports/datagram.js";
import { sendfile } from "./sendfile.js";
import { startTls } from "./tls/start.js";
import type { ReadTransport, SubprocessTransport, Transport, WriteTransport } from "./transports.js";
import type { Server } from "./server.js";
import type { StreamTransport } from "./transports/stream.js";
import type { BaseProtocol, SubprocessProtocol } from "./protocols.js";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { describeType, validateCallback, validateMs, argTypeError } from "./validate.js";

/** Iterations run back to back in one JS turn before yielding to libuv (see header). */
const MAX_CHAINED_ITERATIONS = 16;
const MAX_CHAIN_MS = 1;


export function closedLoopError(): Error {
  const err = new Error("Event loop is closed") as Error & { code: string };
  err.code = "ERR_LOOP_CLOSED";
  return err;
}

export class BaseEventLoop implements AbstractEventLoop, ProactorHost {
  /** Debug mode: callbacks slower than this (ms) are logged. */
  slowCallbackDuration = 100;

  /** @internal */ readonly _proactor: Proactor;
  /** @internal */ readonly _ready = new Deque<Handle>();
  /** @internal */ readonly _timers = new TimerHeap();
  /** @internal */ _timerSeq = 0;
  /** @internal */ _running = false;
  /** @internal */ _stopping = false;
  /** @internal */ _closed = false;
  /** @internal */ _debug = false;
  /** @internal */ _iterationScheduled = false;
  /** @internal */ _runSettle: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  /** @internal */ _exceptionHandler: ExceptionHandler | null = null;
  /** @internal */ _taskFactory: TaskFactory | null = null;
  /** @internal */ _defaultExecutor: Executor | null = null;
  /** @internal */ readonly _tasks = new Set<Task<unknown>>();
  /** @internal */ readonly _asyncgens = new Set<AsyncGenerator<unknown, unknown, unknown>>();
  /** @internal */ _asyncgensShutdownCalled = false;
  /** @internal */ readonly _wakerPorts = new Set<MessagePort>();
  /** @internal */ readonly _resource: ResourceState;
  /** @internal Transports with writes queued (transports/stream.ts), flushed at the end of the iteration. */
  /** @internal */ _flushQueue: Array<{ _flush(): void }> = [];
  /** @internal */ _inIteration = false;
  /** @internal addReader/addWriter registrations. */
  /** @internal */ readonly _readiness = new Readiness(this);
  /** @internal addSignalHandler registrations. */
  /** @internal */ readonly _signals = new SignalHandlers(this);
  /** @internal Iterations chained in this JS turn, and when the chain began. */
  /** @internal */ _chained = 0;
  /** @internal */ _chainStart = 0;
  /** @internal */ readonly _iterate = (): void => {
    this._iterationScheduled = false;
    this._runOnce();
  };
  /** @internal */ readonly _iterateChained = (): void => {
    this._iterationScheduled = false;
    if (!this._running) return;
    this._proactor.pollNow();
    this._runIteration();
  };

  constructor(proactor: Proactor) {
    this._proactor = proactor;
    proactor.attach(this);
    const env = process.env.RINGLOOP_DEBUG;
    if (env !== undefined && env !== "" && env !== "0") this._debug = true;
    this._resource = { what: `event loop <${new.target.name} backend=${proactor.backend}>`, debug: this._debug, cleanup: proactor.detachedCleanup() };
    if (this._debug) this._resource.createdAt = captureStack(2);
    trackUnclosed(this, this._resource);
  }

  get backend(): Backend {
    return this._proactor.backend;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Rejects (never throws) when the loop is closed or a loop is already running. */
  runForever(): Promise<void> {
    try {
      this._checkClosed();
      this._checkNotRunning();
    } catch (err) {
      return Promise.reject(err);
    }
    _setRunningLoop(this);
    this._running = true;
    this._proactor.ref();
    return new Promise<void>((resolve, reject) => {
      this._runSettle = { resolve, reject };
      this._scheduleIteration();
    });
  }

  async runUntilComplete<T>(future: AbstractFuture<T> | PromiseLike<T>): Promise<T> {
    this._checkClosed();
    this._checkNotRunning();
    const fut = this._ensureFuture(future);
    const stopWhenDone = (): void => this.stop();
    fut.addDoneCallback(stopWhenDone);
    try {
      await this.runForever();
    } finally {
      fut.removeDoneCallback(stopWhenDone);
    }
    if (!fut.done()) throw new Error("Event loop stopped before Future completed.");
    return fut.result();
  }

  stop(): void {
    this._stopping = true;
    if (this._running) this._scheduleIteration();
  }

  isRunning(): boolean {
    return this._running;
  }

  isClosed(): boolean {
    return this._closed;
  }

  /** Closes the loop: pending callbacks are dropped, the backend releases everything it holds. */
  close(): void {
    if (this._running) throw new Error("Cannot close a running event loop");
    if (this._closed) return;
    this._closed = true;
    untrack(this._resource);
    this._signals.removeAll();
    this._ready.clear();
    this._timers.clear();
    this._flushQueue = [];
    for (const port of this._wakerPorts) port.close();
    this._wakerPorts.clear();
    this._proactor.close();
    const executor = this._defaultExecutor;
    this._defaultExecutor = null;
    // asyncio: executor.shutdown(wait=False). Failures here have nowhere better to go.
    if (executor) executor.shutdown().catch((err: unknown) => logger.error(`default executor shutdown failed: ${formatValue(err)}`));
  }

  /**
   * JS has no global async-generator hooks (asyncio's sys.set_asyncgen_hooks), so the loop
   * closes the generators registered with registerAsyncgen(), as asyncio closes those it saw.
   */
  async shutdownAsyncgens(): Promise<void> {
    this._asyncgensShutdownCalled = true;
    const gens = [...this._asyncgens];
    this._asyncgens.clear();
    const results = await Promise.allSettled(gens.map((g) => g.return(undefined)));
    results.forEach((r, i) => {
      if (r.status === "rejected") {
        this.callExceptionHandler({
          message: "an error occurred during closing of asynchronous generator",
          exception: r.reason,
          asyncgen: gens[i],
        });
      }
    });
  }

  /** Registers an async generator so shutdownAsyncgens() closes it; returns it. */
  registerAsyncgen<G extends AsyncGenerator<unknown, unknown, unknown>>(gen: G): G {
    if (gen === null || typeof gen !== "object" || typeof gen.return !== "function" || typeof gen.next !== "function") {
      throw argTypeError(`The "gen" argument must be an async generator. Received ${describeType(gen)}`);
    }
    if (this._asyncgensShutdownCalled) {
      throw new Error(`asynchronous generator was scheduled after loop.shutdownAsyncgens() call`);
    }
    this._asyncgens.add(gen);
    return gen;
  }

  async shutdownDefaultExecutor(): Promise<void> {
    const executor = this._defaultExecutor;
    this._defaultExecutor = null;
    if (executor) await executor.shutdown();
  }

  // ---------------------------------------------------------------- debug

  setDebug(enabled: boolean): void {
    this._debug = Boolean(enabled);
    this._resource.debug = this._debug;
  }

  getDebug(): boolean {
    return this._debug;
  }

  // ---------------------------------------------------------------- scheduling

  time(): number {
    return monotonicMs();
  }

  callSoon(callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    validateCallback(callback);
    const handle = new Handle(callback, args, this);
    this._ready.push(handle);
    if (this._running && !this._iterationScheduled) this._scheduleIteration();
    return handle;
  }

  /**
   * As callSoon, and safe from any context (signal handlers, native completions, finalizers):
   * JS never preempts, so the only extra duty is to make sure a running loop wakes up.
   * Other threads reach the loop through threadsafeWaker().
   */
  callSoonThreadsafe(callback: Callback, ...args: unknown[]): Handle {
    return this.callSoon(callback, ...args);
  }

  /**
   * A MessagePort to hand to a Worker: each message the Worker posts to it runs
   * onMessage(message) on this loop, as callSoonThreadsafe would. The loop's end of the
   * channel never keeps the process alive; it closes with the loop.
   */
  threadsafeWaker(onMessage: (message: unknown) => void): MessagePort {
    this._checkClosed();
    validateCallback(onMessage, "onMessage");
    const { port1, port2 } = new MessageChannel();
    port1.on("message", (message: unknown) => {
      if (!this._closed) this.callSoonThreadsafe(onMessage, message);
    });
    port1.unref();
    this._wakerPorts.add(port1);
    return port2;
  }

  callLater(delayMs: number, callback: Callback, ...args: unknown[]): TimerHandle {
    validateMs(delayMs, "delayMs");
    return this._callAt(this.time() + (delayMs > 0 ? delayMs : 0), callback, args);
  }

  callAt(whenMs: number, callback: Callback, ...args: unknown[]): TimerHandle {
    validateMs(whenMs, "whenMs");
    return this._callAt(whenMs, callback, args);
  }

  /** @internal */
  _callAt(when: number, callback: Callback, args: unknown[]): TimerHandle {
    this._checkClosed();
    validateCallback(callback);
    const handle = new TimerHandle(when, this._timerSeq++, callback, args, this);
    this._timers.push(handle);
    if (this._running && !this._iterationScheduled) {
      const armed = this._proactor.timerDeadline;
      if (armed === null || when < armed) this._proactor.setTimer(when);
    }
    return handle;
  }

  /** @internal */
  _timerHandleCancelled(handle: TimerHandle): void {
    // The armed wake-up is left alone: if it fires for nothing, the loop re-arms. Cheaper
    // than a ring op per cancel for the callLater/cancel idle-timeout pattern.
    this._timers.remove(handle);
  }

  // ---------------------------------------------------------------- the iteration

  /** @internal */
  _scheduleIteration(): void {
    if (this._iterationScheduled) return;
    this._iterationScheduled = true;
    if (this._chained < MAX_CHAINED_ITERATIONS && this.time() - this._chainStart <= MAX_CHAIN_MS) {
      this._chained++;
      queueMicrotask(this._iterateChained);
    } else {
      setImmediate(this._iterate);
    }
  }

  /** @internal An iteration entered from a libuv callback: a new JS turn, a new chain. */
  _runOnce(): void {
    if (!this._running) return;
    this._chained = 0;
    this._chainStart = this.time();
    this._runIteration();
  }

  /** @internal See the header comment for the order of work. */
  _runIteration(): void {
    const timers = this._timers;
    if (timers.length > 0) {
      const end = this.time() + this._proactor.clockResolution;
      while (timers.length > 0 && timers.peek()!._when <= end) this._ready.push(timers.pop()!);
    }

    const ready = this._ready;
    let ntodo = ready.length;
    this._inIteration = true;
    if (this._debug) {
      while (ntodo-- > 0) {
        const handle = ready.shift()!;
        if (!handle._cancelled) this._runTimed(handle);
      }
    } else {
      while (ntodo-- > 0) {
        const handle = ready.shift()!;
        if (!handle._cancelled) handle._run();
      }
    }
    // A flush may request another (a TLS transport's flush writes to its raw transport): all
    // go out in this iteration.
    while (this._flushQueue.length > 0) this._runFlushes();
    this._inIteration = false;

    if (this._stopping) {
      this._finishRun();
    } else if (ready.length > 0) {
      this._scheduleIteration();
    } else {
      const next = this._nextDeadline();
      if (next !== this._proactor.timerDeadline) this._proactor.setTimer(next);
    }
  }

  /**
   * @internal Writes queued by transports go out here, one endpoint write per transport
   * per iteration. A request made outside an iteration (a Promise reaction, a Node
   * callback) makes sure one runs; one made while a completion is being delivered
   * (`inCompletion`) needs none, since the backend calls _runOnce() after every batch.
   */
  _requestFlush(flusher: { _flush(): void }, inCompletion = false): void {
    this._flushQueue.push(flusher);
    if (!inCompletion && !this._inIteration && this._running) this._scheduleIteration();
  }

  /** @internal */
  _runFlushes(): void {
    const queue = this._flushQueue;
    this._flushQueue = [];
    for (let i = 0; i < queue.length; i++) {
      try {
        queue[i]._flush();
      } catch (exception) {
        this.callExceptionHandler({ message: "Exception while flushing a transport's writes", exception, transport: queue[i] });
      }
    }
  }

  /** @internal */
  _runTimed(handle: Handle): void {
    const t0 = this.time();
    handle._run();
    const dt = this.time() - t0;
    if (dt >= this.slowCallbackDuration) logger.warning(`Executing ${handle} took ${dt.toFixed(3)} ms`);
  }

  /** @internal Earliest deadline (cancelled timers are never in the heap). */
  _nextDeadline(): number | null {
    const top = this._timers.peek();
    return top === undefined ? null : top._when;
  }

  /** @internal */
  _finishRun(): void {
    this._stopping = false;
    this._running = false;
    _setRunningLoop(null);
    this._proactor.setTimer(null);
    this._proactor.unref();
    const settle = this._runSettle;
    this._runSettle = null;
    settle?.resolve();
  }

  // ---------------------------------------------------------------- futures and tasks

  createFuture<T = unknown>(): Future<T> {
    this._checkClosed();
    return new Future<T>({ loop: this });
  }

  createTask<T>(coro: TaskCoro<T>, opts?: { name?: string }): AbstractTask<T> {
    this._checkClosed();
    if (this._taskFactory !== null) {
      const task = this._taskFactory(this, coro, opts);
      if (opts?.name !== undefined) task.setName(opts.name);
      return task;
    }
    return new Task<T>(coro, { loop: this, name: opts?.name });
  }

  setTaskFactory(factory: TaskFactory | null): void {
    if (factory !== null) validateCallback(factory, "factory");
    this._taskFactory = factory;
  }

  getTaskFactory(): TaskFactory | null {
    return this._taskFactory;
  }

  /** @internal Called by every Task of this loop; tasks leave the set when done. */
  _registerTask(task: Task<unknown>): void {
    this._tasks.add(task);
    task.addDoneCallback(this._forgetTask);
  }

  /** @internal */
  readonly _forgetTask = (task: Future<unknown>): void => {
    this._tasks.delete(task as Task<unknown>);
  };

  /** Tasks of this loop not yet done (asyncio.all_tasks). */
  allTasks(): Set<Task<unknown>> {
    return new Set([...this._tasks].filter((t) => !t.done()));
  }

  /** @internal asyncio.ensure_future: a Future stays itself, anything thenable becomes a Task. */
  _ensureFuture<T>(x: AbstractFuture<T> | PromiseLike<T>): AbstractFuture<T> {
    if (isFuture(x)) {
      if (x.getLoop() !== this) throw new Error("The future belongs to a different loop than the one specified as the loop argument");
      return x as Future<T>;
    }
    if (x !== null && typeof x === "object" && typeof (x as PromiseLike<T>).then === "function") {
      return this.createTask(x as PromiseLike<T>);
    }
    throw argTypeError(`An awaitable (a Promise or a Future) is required. Received ${describeType(x)}`);
  }

  // ---------------------------------------------------------------- errors

  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null) validateCallback(handler, "handler");
    this._exceptionHandler = handler;
  }

  getExceptionHandler(): ExceptionHandler | null {
    return this._exceptionHandler;
  }

  /** Logs the context the way asyncio's default handler does: message, keys, exception stack. */
  defaultExceptionHandler(context: ExceptionContext): void {
    let message = context.message || "Unhandled exception in event loop";
    const lines: string[] = [];
    for (const key of Object.keys(context).sort()) {
      if (key === "message" || key === "exception") continue;
      lines.push(`${key}: ${formatValue(context[key])}`);
    }
    if (context.exception !== undefined) lines.push(formatValue(context.exception));
    if (lines.length > 0) message += "\n" + lines.join("\n");
    logger.error(message);
  }

  /** Never throws: a failing custom handler is reported through the default one. */
  callExceptionHandler(context: ExceptionContext): void {
    const handler = this._exceptionHandler;
    if (handler === null) {
      try {
        this.defaultExceptionHandler(context);
      } catch (err) {
        process.stderr.write(`ringloop: exception in default exception handler: ${formatValue(err)}\n`);
      }
      return;
    }
    try {
      handler(this, context);
    } catch (exc) {
      try {
        this.defaultExceptionHandler({ message: "Unhandled error in exception handler", exception: exc, context });
      } catch (err) {
        process.stderr.write(`ringloop: exception in default exception handler: ${formatValue(err)}\n`);
      }
    }
  }

  // ---------------------------------------------------------------- executor and DNS

  runInExecutor<R>(executor: Executor | null, fn: unknown, ...args: unknown[]): Promise<R> {
    this._checkClosed();
    if (executor === null || executor === undefined) {
      if (!isWorkerTask(fn)) {
        throw argTypeError(
          "The default executor runs tasks given as { filename, name } in worker threads; " +
            "to run a function on the loop's thread pass an InlineExecutor",
        );
      }
      executor = this._defaultExecutor ??= new WorkerPoolExecutor();
    } else {
      validateExecutor(executor, "executor");
    }
    return executor.submit(fn, ...args) as Promise<R>;
  }

  setDefaultExecutor(executor: Executor): void {
    validateExecutor(executor, "executor");
    this._defaultExecutor = executor;
  }

  getaddrinfo(host: string | null, port: number | string | null, opts?: Parameters<typeof dns.getaddrinfo>[2]): Promise<AddrInfo[]> {
    this._checkClosed();
    return dns.getaddrinfo(host, port, opts);
  }

  getnameinfo(addr: { host: string; port: number }, flags = 0): Promise<[string, string]> {
    this._checkClosed();
    return dns.getnameinfo(addr, flags);
  }

  // ---------------------------------------------------------------- streams (streams.ts)

  createConnection<P extends BaseProtocol>(
    protocolFactory: () => P,
    host?: string | null,
    port?: number | string | null,
    opts?: CreateConnectionOptions,
  ): Promise<[StreamTransport, P]> {
    this._checkClosed();
    return streams.createConnection(this, protocolFactory, host, port, opts) as Promise<[StreamTransport, P]>;
  }

  createServer(
    protocolFactory: () => BaseProtocol,
    host?: string | string[] | null,
    port?: number | string | null,
    opts?: CreateServerOptions,
  ): Promise<Server> {
    this._checkClosed();
    return streams.createServer(this, protocolFactory, host, port, opts);
  }

  createUnixConnection<P extends BaseProtocol>(protocolFactory: () => P, path?: string | null, opts?: CreateUnixConnectionOptions): Promise<[StreamTransport, P]> {
    this._checkClosed();
    return streams.createUnixConnection(this, protocolFactory, path, opts) as Promise<[StreamTransport, P]>;
  }

  createUnixServer(protocolFactory: () => BaseProtocol, path?: string | null, opts?: CreateUnixServerOptions): Promise<Server> {
    this._checkClosed();
    return streams.createUnixServer(this, protocolFactory, path, opts);
  }

  /** `sock` is a connected stream socket's fd; the transport owns it from now on. */
  connectAcceptedSocket<P extends BaseProtocol>(protocolFactory: () => P, sock: number, opts?: ConnectAcceptedSocketOptions): Promise<[StreamTransport, P]> {
    this._checkClosed();
    return streams.connectAcceptedSocket(this, protocolFactory, sock, opts) as Promise<[StreamTransport, P]>;
  }

  // ---------------------------------------------------------------- pipes (pipes.ts) and subprocesses (subprocess.ts)

  /** A read pipe transport over `pipe` (an fd, or a Node stream with one; the transport takes it). */
  connectReadPipe<P extends BaseProtocol>(protocolFactory: () => P, pipe: PipeSource): Promise<[ReadTransport, P]> {
    this._checkClosed();
    return pipes.connectReadPipe(this, protocolFactory, pipe) as Promise<[ReadTransport, P]>;
  }

  /** A write pipe transport over `pipe` (an fd, or a Node stream with one; the transport takes it). */
  connectWritePipe<P extends BaseProtocol>(protocolFactory: () => P, pipe: PipeSource): Promise<[WriteTransport, P]> {
    this._checkClosed();
    return pipes.connectWritePipe(this, protocolFactory, pipe) as Promise<[WriteTransport, P]>;
  }

  /** Starts `program` with `args`; resolves once the protocol's connectionMade has run. */
  subprocessExec<P extends SubprocessProtocol>(protocolFactory: () => P, program: string, args?: readonly string[], opts?: SubprocessOptions): Promise<[SubprocessTransport, P]> {
    this._checkClosed();
    return subprocess.subprocessExec(this, protocolFactory, program, args, opts) as Promise<[SubprocessTransport, P]>;
  }

  /** Runs `cmd` with /bin/sh -c. */
  subprocessShell<P extends SubprocessProtocol>(protocolFactory: () => P, cmd: string, opts?: SubprocessOptions): Promise<[SubprocessTransport, P]> {
    this._checkClosed();
    return subprocess.subprocessShell(this, protocolFactory, cmd, opts) as Promise<[SubprocessTransport, P]>;
  }

  // ---------------------------------------------------------------- datagrams (datagrams.ts)

  createDatagramEndpoint<P extends BaseProtocol>(protocolFactory: () => P, opts?: CreateDatagramEndpointOptions): Promise<[DatagramTransportImpl, P]> {
    this._checkClosed();
    return datagrams.createDatagramEndpoint(this, protocolFactory, opts) as Promise<[DatagramTransportImpl, P]>;
  }

  // ---------------------------------------------------------------- TLS (tls/start.ts)

  /** asyncio's start_tls (src/tls/start.ts): resolves to the TLS transport once the handshake is done. */
  startTls(transport: Transport, protocol: BaseProtocol, sslContext: unknown, opts?: StartTlsOptions): Promise<StreamTransport> {
    this._checkClosed();
    return startTls(this, transport, protocol, sslContext, opts);
  }

  // ---------------------------------------------------------------- sockets (sock-methods.ts, readiness.ts)

  sockRecv(sock: Socket, nbytes: number, opts?: SockOptions): Promise<Buffer> {
    return sockMethods.sockRecv(this, sock, nbytes, opts);
  }

  sockRecvInto(sock: Socket, buf: Uint8Array, opts?: SockOptions): Promise<number> {
    return sockMethods.sockRecvInto(this, sock, buf, opts);
  }

  sockRecvfrom(sock: Socket, bufsize: number, opts?: SockOptions): Promise<[Buffer, SockAddr | null]> {
    return sockMethods.sockRecvfrom(this, sock, bufsize, opts);
  }

  sockRecvfromInto(sock: Socket, buf: Uint8Array, nbytes?: number, opts?: SockOptions): Promise<[number, SockAddr | null]> {
    return sockMethods.sockRecvfromInto(this, sock, buf, nbytes, opts);
  }

  sockSendall(sock: Socket, data: Uint8Array, opts?: SockOptions): Promise<void> {
    return sockMethods.sockSendall(this, sock, data, opts);
  }

  sockSendto(sock: Socket, data: Uint8Array, addr: SockAddrInput, opts?: SockOptions): Promise<number> {
    return sockMethods.sockSendto(this, sock, data, addr, opts);
  }

  sockConnect(sock: Socket, addr: SockAddrInput, opts?: SockOptions): Promise<void> {
    return sockMethods.sockConnect(this, sock, addr, opts);
  }

  sockAccept(sock: Socket, opts?: SockOptions): Promise<[Socket, SockAddr | null]> {
    return sockMethods.sockAccept(this, sock, opts);
  }

  sockSendfile(sock: Socket, file: SendfileSource, offset?: number, count?: number | null, opts?: SockSendfileOptions): Promise<number> {
    return sockSendfile(this, sock, file, offset, count, opts);
  }

  addReader(fd: number, callback: Callback, ...args: unknown[]): void {
    this._readiness.readers.add(fd, callback, args);
  }

  removeReader(fd: number): boolean {
    return this._readiness.readers.remove(fd);
  }

  addWriter(fd: number, callback: Callback, ...args: unknown[]): void {
    this._readiness.writers.add(fd, callback, args);
  }

  removeWriter(fd: number): boolean {
    return this._readiness.writers.remove(fd);
  }

  // ---------------------------------------------------------------- signals (signals.ts)

  /** Runs `callback(...args)` on this loop each time `signal` (a name or number) arrives. */
  addSignalHandler(signal: NodeJS.Signals | number, callback: Callback, ...args: unknown[]): void {
    this._signals.add(signal, callback, args);
  }

  /** Removes the handler of `signal`; false when it had none. */
  removeSignalHandler(signal: NodeJS.Signals | number): boolean {
    return this._signals.remove(signal);
  }

  /** @internal A handle from a signal listener (or another context outside the loop's callbacks). */
  _addCallbackSignalsafe(handle: Handle): void {
    this._ready.push(handle);
    if (this._running && !this._iterationScheduled) this._scheduleIteration();
  }

  // ---------------------------------------------------------------- sendfile (sendfile.ts)

  sendfile(transport: Transport, file: SendfileSource, offset = 0, count?: number | null, opts?: SendfileOptions): Promise<number> {
    this._checkClosed();
    return sendfile(transport, file, offset, count, opts);
  }

  // ---------------------------------------------------------------- helpers

  /** Operations the backend has in flight (0 when idle; test teardown checks it). */
  pendingOps(): number {
    return this._proactor.pendingOps();
  }

  /** Backend health counters and ops in flight, read on demand (LoopMetrics in events.ts). */
  metrics(): LoopMetrics {
    return { backend: this.backend, ...this._proactor.metrics() };
  }

  /** @internal */
  _checkClosed(): void {
    if (this._closed) throw closedLoopError();
  }

  /** @internal */
  _checkNotRunning(): void {
    if (this._running) throw new Error("This event loop is already running");
    if (getRunningLoopOrNull() !== null) throw new Error("Cannot run the event loop while another loop is running");
  }

  toString(): string {
    return `<${this.constructor.name} backend=${this.backend} running=${this._running} closed=${this._closed} debug=${this._debug}>`;
  }
}

function validateExecutor(executor: unknown, name: string): asserts executor is Executor {
  const e = executor as Executor;
  if (e === null || typeof e !== "object" || typeof e.submit !== "function" || typeof e.shutdown !== "function") {
    throw argTypeError(`The "${name}" argument must be an Executor ({ submit, shutdown }). Received ${describeType(executor)}`);
  }
}

