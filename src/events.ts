// Contracts of the event loop (asyncio events.py): Handle, TimerHandle, the loop interface
// the rest of the code is written against, the types its methods take and return (futures,
// tasks, servers, sockets, addresses, options), and the policy base class.
//
// Layer rule (test/layers.test.ts): this file and the other contracts (transports.ts,
// protocols.ts, proactor.ts) import only each other, never an implementation file.
import type { BaseProtocol, SubprocessProtocol } from "./protocols.js";
import type { DatagramTransport, ReadTransport, SubprocessTransport, Transport, WriteTransport } from "./transports.js";

export type Callback = (...args: any[]) => unknown;

/** The keys asyncio puts in an exception-handler context, camelCased. */
export interface ExceptionContext {
  message?: string;
  exception?: unknown;
  future?: AbstractFuture<unknown>;
  task?: AbstractTask<unknown>;
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
export type TaskFactory = (loop: AbstractEventLoop, coro: TaskCoro<any>, opts?: { name?: string }) => AbstractTask<any>;

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

// ---------------------------------------------------------------- futures and tasks

/** What a Task runs: a Promise, or a function started on the loop with an AbortSignal. */
export type TaskCoro<T> = PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T> | T);

/** asyncio.Future (futures.ts implements it). A thenable: `await fut` works. */
export interface AbstractFuture<T = unknown> extends PromiseLike<T> {
  result(): T;
  exception(): unknown;
  done(): boolean;
  cancelled(): boolean;
  cancel(msg?: string): boolean;
  setResult(value: T): void;
  setException(exception: unknown): void;
  addDoneCallback(callback: (fut: AbstractFuture<T>) => void): void;
  removeDoneCallback(callback: (fut: AbstractFuture<T>) => void): number;
  getLoop(): AbstractEventLoop;
}

/** asyncio.Task (tasks.ts implements it). */
export interface AbstractTask<T = unknown> extends AbstractFuture<T> {
  getName(): string;
  setName(name: string): void;
}

/** loop.runInExecutor's executor: the default is a worker_threads pool (executor.ts). */
export interface Executor {
  submit(fn: any, ...args: unknown[]): Promise<unknown>;
  shutdown(): Promise<void>;
}

// ---------------------------------------------------------------- addresses and sockets

/** An IP address as API.md writes it, or a Unix socket path ("\0name": abstract namespace). */
export type SockAddr = { host: string; port: number; family: 4 | 6 } | string;
/** An address as input: `family` may be left out for IP addresses (API.md "addresses"). */
export type SockAddrInput = { host: string; port: number; family?: 4 | 6 } | string;

/** Socket types as the kernel numbers them (getaddrinfo's `type`, SO_TYPE). */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;

/** One getaddrinfo() result (Python's 5-tuple as an object, sockaddr spread into host/port). */
export interface AddrInfo {
  family: 4 | 6;
  type: number;
  proto: number;
  canonname: string;
  host: string;
  port: number;
}

export type SocketFamily = 4 | 6 | "unix";
export type SocketType = "stream" | "dgram";
export interface Linger {
  onoff: boolean;
  linger: number;
}
/** Option names of getsockopt/setsockopt (socket.ts says what each takes). */
export type SocketOption =
  | "SO_REUSEADDR"
  | "SO_REUSEPORT"
  | "SO_KEEPALIVE"
  | "SO_BROADCAST"
  | "TCP_NODELAY"
  | "IPV6_V6ONLY"
  | "SO_RCVBUF"
  | "SO_SNDBUF"
  | "SO_LINGER"
  | "SO_ERROR"
  | "SO_TYPE";
export type SocketOptionValue = boolean | number | Linger | SocketType;

/** A read-only view of a socket a transport or server owns (its fd, addresses, options). */
export interface SocketView {
  fileno(): number;
  getsockname(): SockAddr | null;
  getpeername(): SockAddr | null;
  getsockopt(name: SocketOption): SocketOptionValue;
}

/** ringloop's own non-blocking socket (socket.ts implements it), what the sock_* methods take. */
export interface AbstractSocket extends SocketView {
  readonly family: SocketFamily;
  readonly type: SocketType;
  readonly closed: boolean;
  getsockname(): SockAddr;
  getpeername(): SockAddr;
  bind(addr: SockAddrInput): void;
  listen(backlog?: number): void;
  setsockopt(name: SocketOption, value: SocketOptionValue): void;
  detach(): number;
  close(): void;
}

// ---------------------------------------------------------------- servers and options

/** asyncio.AbstractServer (3.12 semantics; server.ts implements it). */
export interface AbstractServer {
  /** The listening sockets; empty once closed. */
  readonly sockets: SocketView[];
  close(): void;
  getLoop(): AbstractEventLoop;
  isServing(): boolean;
  startServing(): Promise<void>;
  serveForever(opts?: { signal?: AbortSignal }): Promise<never>;
  waitClosed(): Promise<void>;
  closeClients(): void;
  abortClients(): void;
}

/** The TLS handshake and shutdown timeouts every TLS-capable entry point takes. */
export interface TlsTimeoutOptions {
  /** ms to finish the TLS handshake (default 60000, asyncio's); alias sslHandshakeTimeout. */
  handshakeTimeout?: number | null;
  sslHandshakeTimeout?: number | null;
  /** ms to wait for the peer's close_notify after ours before aborting (default 30000). */
  sslShutdownTimeout?: number | null;
}

/** TLS (asyncio's ssl=) and its timeouts, for the connection and server entry points. */
export interface TlsOptions extends TlsTimeoutOptions {
  /**
   * TLS: true (a client verifying against the system CAs), a tls.SecureContext, or
   * tls.SecureContextOptions plus tls.connect's per-connection options (ALPNProtocols,
   * rejectUnauthorized, requestCert, ...); see src/tls/options.ts.
   */
  ssl?: unknown;
}

export interface CreateConnectionOptions extends TlsOptions {
  /** The name sent as SNI and checked against the certificate (default: host; "" checks none). */
  serverHostname?: string;
  family?: 0 | 4 | 6;
  localAddr?: { host: string | null; port?: number } | null;
  happyEyeballsDelay?: number | null;
  /** interleave (asyncio): how many addresses of the first family go before the other; default 1 with happyEyeballsDelay. */
  interleave?: number;
  /** A connected stream socket's fd; the transport owns it from then on. */
  sock?: number;
  signal?: AbortSignal;
}

export interface CreateServerOptions extends TlsOptions {
  family?: 0 | 4 | 6;
  backlog?: number;
  reuseAddress?: boolean;
  reusePort?: boolean;
  /** A listening stream socket's fd; the server owns it from then on. */
  sock?: number;
  startServing?: boolean;
}

export interface CreateUnixConnectionOptions extends TlsOptions {
  serverHostname?: string;
  sock?: number;
  signal?: AbortSignal;
}

export interface CreateUnixServerOptions extends TlsOptions {
  backlog?: number;
  sock?: number;
  startServing?: boolean;
}

/** ssl: the server side of a TLS connection, as asyncio's connect_accepted_socket. */
export type ConnectAcceptedSocketOptions = TlsOptions;

/** loop.startTls options (asyncio's start_tls). */
export interface StartTlsOptions extends TlsTimeoutOptions {
  serverSide?: boolean;
  /** Client side: required (the name sent as SNI and checked; "" checks none). */
  serverHostname?: string | null;
}

export interface CreateDatagramEndpointOptions {
  /** Bind here: `{ host, port }` (host a name or literal, null = every address) or a Unix path ("\0name": abstract). */
  localAddr?: { host: string | null; port: number } | string | null;
  /** Connect to this peer (with allowBroadcast: only the default destination of sendto()). */
  remoteAddr?: { host: string | null; port: number } | string | null;
  /** 4, 6, or "unix"; required when neither address is given. */
  family?: 0 | 4 | 6 | "unix";
  /** SO_REUSEPORT. */
  reusePort?: boolean;
  /** SO_BROADCAST: sendto() a broadcast address is refused (EACCES) without it. */
  allowBroadcast?: boolean;
  /** A datagram socket's fd (excludes every other option); the transport owns it from then on. */
  sock?: number;
}

/** What connectReadPipe / connectWritePipe take: an fd, or a Node stream that has one (src/pipes.ts). */
export type PipeSource = number | NodeJS.ReadableStream | NodeJS.WritableStream;

/**
 * A child fd for subprocessExec / subprocessShell: PIPE (the default), DEVNULL, STDOUT
 * (stderr only), an fd >= 0, or null (inherited).
 */
export type SubprocessStdio = number | null;

export interface SubprocessOptions {
  stdin?: SubprocessStdio;
  stdout?: SubprocessStdio;
  stderr?: SubprocessStdio;
  /** The child's working directory (default: ours). */
  cwd?: string | null;
  /** The child's whole environment (default: process.env); the program is looked up in its PATH. */
  env?: Record<string, string> | null;
}

/** What loop.sendfile / sockSendfile send from: a path, an fd, or a FileHandle-like object. */
export type SendfileSource = string | number | { readonly fd: number };

export interface SendfileOptions {
  /** Use the generic read+write path when the native one is not available (default true). */
  fallback?: boolean;
}

/**
 * The trailing options of the sock_* methods: `signal` aborts the call while it waits (it
 * rejects with the signal's reason; the socket stays usable and no byte read is lost).
 */
export interface SockOptions {
  signal?: AbortSignal;
}

export interface SockSendfileOptions extends SendfileOptions, SockOptions {}

// ---------------------------------------------------------------- health metrics

/**
 * loop.metrics(): what the loop's backend has done and holds now, read on demand (the
 * counters are kept all the time, in native memory on io_uring). Counts since the loop was
 * made, except where a field says "per thread" (kept by code shared by the thread's loops).
 */
export interface LoopMetrics {
  backend: "uring" | "fallback";
  /** Operations submitted whose final completion has not arrived (loop.pendingOps()). */
  opsInFlight: number;
  /** The same, by kind (io_uring: the opcode, e.g. RECV, SEND, ACCEPT, POLL_ADD; fallback: fdWatch). */
  opsInFlightByKind: Record<string, number>;
  /** io_uring only. */
  uring?: UringMetrics;
}

export interface UringMetrics {
  /** SQEs the kernel took, CQEs consumed, io_uring_enter syscalls (submits and event fetches). */
  sqesSubmitted: number;
  cqesReaped: number;
  enterCalls: number;
  /** Wake-ups of the ring fd poll in libuv, and busy polls after one that found work. */
  wakeups: number;
  busyPollHits: number;
  /** Times the CQ was found overflowed (CQEs parked in the kernel and fetched: none lost). */
  cqOverflows: number;
  /** CQEs the kernel dropped (0 unless it lacks IORING_FEAT_NODROP and memory ran out). */
  cqDropped: number;
  /** Flushes that found the SQ full and submitted part-way (more staged than it holds). */
  sqFull: number;
  /** Multishot receives re-armed after the buffer ring ran dry (ENOBUFS), per thread. */
  enobufsRearms: number;
  /** Writes sent by SEND_ZC / SENDMSG_ZC (zeroCopyMin), per thread. */
  zeroCopySends: number;
  /** Ops that took a slower path this time, by what and why (per thread). */
  fallbacks: Record<string, number>;
  /** Provided buffer rings: `inKernel` = buffers the kernel can still fill (null where the kernel cannot say: before 6.8). */
  bufRings: Array<{ group: number; count: number; size: number; inKernel: number | null }>;
}

// ---------------------------------------------------------------- the loop

/** The loop interface (asyncio.AbstractEventLoop) as far as the delivered issues go. */
export interface AbstractEventLoop extends HandleOwner {
  readonly backend: "uring" | "fallback";
  slowCallbackDuration: number;
  runUntilComplete<T>(future: AbstractFuture<T> | PromiseLike<T>): Promise<T>;
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
  createFuture<T = unknown>(): AbstractFuture<T>;
  createTask<T>(coro: TaskCoro<T>, opts?: { name?: string }): AbstractTask<T>;
  setTaskFactory(factory: TaskFactory | null): void;
  getTaskFactory(): TaskFactory | null;
  runInExecutor<R>(executor: Executor | null, fn: unknown, ...args: unknown[]): Promise<R>;
  setDefaultExecutor(executor: Executor): void;
  getaddrinfo(host: string | null, port: number | string | null, opts?: { family?: 0 | 4 | 6; type?: number; proto?: number; flags?: number }): Promise<AddrInfo[]>;
  getnameinfo(addr: { host: string; port: number }, flags?: number): Promise<[string, string]>;
  createConnection<P extends BaseProtocol>(protocolFactory: () => P, host?: string | null, port?: number | string | null, opts?: CreateConnectionOptions): Promise<[Transport, P]>;
  createServer(protocolFactory: () => BaseProtocol, host?: string | string[] | null, port?: number | string | null, opts?: CreateServerOptions): Promise<AbstractServer>;
  createUnixConnection<P extends BaseProtocol>(protocolFactory: () => P, path?: string | null, opts?: CreateUnixConnectionOptions): Promise<[Transport, P]>;
  createUnixServer(protocolFactory: () => BaseProtocol, path?: string | null, opts?: CreateUnixServerOptions): Promise<AbstractServer>;
  connectAcceptedSocket<P extends BaseProtocol>(protocolFactory: () => P, sock: number, opts?: ConnectAcceptedSocketOptions): Promise<[Transport, P]>;
  createDatagramEndpoint<P extends BaseProtocol>(protocolFactory: () => P, opts?: CreateDatagramEndpointOptions): Promise<[DatagramTransport, P]>;
  /** Upgrades a live stream transport to TLS; the old transport must not be used afterwards. */
  startTls(transport: Transport, protocol: BaseProtocol, sslContext: unknown, opts?: StartTlsOptions): Promise<Transport>;
  sockRecv(sock: AbstractSocket, nbytes: number, opts?: SockOptions): Promise<Buffer>;
  sockRecvInto(sock: AbstractSocket, buf: Uint8Array, opts?: SockOptions): Promise<number>;
  sockRecvfrom(sock: AbstractSocket, bufsize: number, opts?: SockOptions): Promise<[Buffer, SockAddr | null]>;
  sockRecvfromInto(sock: AbstractSocket, buf: Uint8Array, nbytes?: number, opts?: SockOptions): Promise<[number, SockAddr | null]>;
  sockSendall(sock: AbstractSocket, data: Uint8Array, opts?: SockOptions): Promise<void>;
  sockSendto(sock: AbstractSocket, data: Uint8Array, addr: SockAddrInput, opts?: SockOptions): Promise<number>;
  sockConnect(sock: AbstractSocket, addr: SockAddrInput, opts?: SockOptions): Promise<void>;
  sockAccept(sock: AbstractSocket, opts?: SockOptions): Promise<[AbstractSocket, SockAddr | null]>;
  sockSendfile(sock: AbstractSocket, file: SendfileSource, offset?: number, count?: number | null, opts?: SockSendfileOptions): Promise<number>;
  addReader(fd: number, callback: Callback, ...args: unknown[]): void;
  removeReader(fd: number): boolean;
  addWriter(fd: number, callback: Callback, ...args: unknown[]): void;
  removeWriter(fd: number): boolean;
  connectReadPipe<P extends BaseProtocol>(protocolFactory: () => P, pipe: PipeSource): Promise<[ReadTransport, P]>;
  connectWritePipe<P extends BaseProtocol>(protocolFactory: () => P, pipe: PipeSource): Promise<[WriteTransport, P]>;
  subprocessExec<P extends SubprocessProtocol>(protocolFactory: () => P, program: string, args?: readonly string[], opts?: SubprocessOptions): Promise<[SubprocessTransport, P]>;
  subprocessShell<P extends SubprocessProtocol>(protocolFactory: () => P, cmd: string, opts?: SubprocessOptions): Promise<[SubprocessTransport, P]>;
  addSignalHandler(signal: NodeJS.Signals | number, callback: Callback, ...args: unknown[]): void;
  removeSignalHandler(signal: NodeJS.Signals | number): boolean;
  /** Sends `count` bytes (to EOF when omitted) of `file` from `offset`; resolves to the bytes sent (sendfile.ts). */
  sendfile(transport: Transport, file: SendfileSource, offset?: number, count?: number | null, opts?: SendfileOptions): Promise<number>;
  setExceptionHandler(handler: ExceptionHandler | null): void;
  getExceptionHandler(): ExceptionHandler | null;
  defaultExceptionHandler(context: ExceptionContext): void;
  /** Backend health counters and ops in flight (an addition to asyncio's API: LoopMetrics). */
  metrics(): LoopMetrics;
}

/** Base class of event loop policies (asyncio.AbstractEventLoopPolicy). */
export abstract class AbstractEventLoopPolicy {
  abstract getEventLoop(): AbstractEventLoop;
  abstract setEventLoop(loop: AbstractEventLoop | null): void;
  abstract newEventLoop(): AbstractEventLoop;
}
