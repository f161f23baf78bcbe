// The Proactor: the seam between the I/O-agnostic core (base-events.ts) and a backend
// (src/uring/ over io_uring, fallback/ over Node's libuv modules). The core only ever talks
// to this interface; transports (src/transports/), servers (server.ts), the stream methods
// (streams.ts) and the sock_* methods (sock-methods.ts) are written once against it, and
// each backend only completes operations. Nothing outside src/uring/ and fallback/ imports
// a backend, except the policy that picks one (policy.ts) and the public surface (index.ts)
// (test/layers.test.ts keeps it so).
//
// Rules every backend keeps:
// - A completion is never delivered synchronously inside the call that started the op.
// - After a batch of completions (or a timer wake-up) the backend calls host._runOnce() once.
// - An op owns its buffers and fds until its final completion, also after a cancel.
// - close() cancels whatever is in flight and releases every handle; it is idempotent.
import type { ExceptionContext, LoopMetrics, SockAddr } from "./events.js";

// ---------------------------------------------------------------- streams
//
// A StreamEndpoint is one connected stream socket (TCP or Unix) as a backend sees it. The
// stream transport (src/transports/stream.ts), written ONCE, drives it and is its sink.
// Completions are reported to the sink from the backend's completion context (never
// synchronously inside the call that started the operation); the transport turns them
// into protocol calls. The backend's host._runOnce() after each batch is load-bearing here:
// writes a protocol makes inside onData/onReadInto are flushed by that iteration (the
// transport schedules no iteration of its own for them).
//
// Reading: an endpoint never holds data. What arrives after stopReading() (data still on
// its way, EOF, an error) is delivered all the same; the transport holds what the protocol
// may not see yet.
//
// Ownership: buffers given to write() belong to the endpoint until onWriteDone; the
// endpoint never reuses memory handed to onData. close() releases the fd only after every
// op in flight has completed (DESIGN.md, Ownership), then calls onClosed() once.

export interface StreamSink {
  /** Bytes arrived; `data` is a fresh Buffer the receiver may keep. */
  onData(data: Buffer): void;
  /** readInto() finished: `nbytes` were written into the memory it was given (0 = EOF). */
  onReadInto(nbytes: number): void;
  /** The peer shut down its write side (recv returned 0). Reading has stopped. */
  onEof(): void;
  /** A read failed (ECONNRESET, ...). Reading has stopped. */
  onReadError(err: Error): void;
  /** The write started by write() finished: every byte sent, or `err`. */
  onWriteDone(err: Error | null): void;
  /** shutdownWrite() finished. */
  onShutdownDone(err: Error | null): void;
  /**
   * sendfile() finished: `sent` bytes of the file reached the socket (also on error; fewer
   * than asked with err null = the file ended early). A sink that never calls sendfile()
   * may omit it.
   */
  onSendfileDone?(sent: number, err: Error | null): void;
  /** Every op has completed and the fd is closed. */
  onClosed(): void;
}

export interface StreamEndpoint {
  /** The fd (-1 where the backend has none to give, e.g. a fallback socket not yet connected). */
  readonly fd: number;
  setSink(sink: StreamSink): void;
  /** Deliver data continuously through onData until stopReading(), EOF or an error. */
  startReading(): void;
  /** Stop delivering (pauseReading). What is already on its way may still be delivered. */
  stopReading(): void;
  /**
   * Optional: one read straight into `buf` (BufferedProtocol); result through onReadInto.
   * Absent: the transport reads with startReading() and copies each chunk into the
   * protocol's buffer.
   */
  readInto?(buf: Uint8Array): void;
  /** Send all of `chunks` (one writev/sendmsg where possible); one write in flight at a time. */
  write(chunks: Uint8Array[]): void;
  /**
   * Optional (absent = no native sendfile path): send `count` bytes of the regular file
   * `fd` from `offset`, in place of a write (never while one is in flight, and no write
   * until onSendfileDone). `fd` stays the caller's: the endpoint does not close it, and
   * no op uses it after onSendfileDone or onClosed.
   */
  sendfile?(fd: number, offset: number, count: number): void;
  /** With sendfile(): bytes of the file in flight that reached the socket so far (0 when none). */
  sendfileProgress?(): number;
  /** Half-close: shutdown(SHUT_WR) after the write in flight. */
  shutdownWrite(): void;
  /** Cancel what is in flight, then close the fd; onClosed() when done. Idempotent. */
  close(): void;
  /** Close without waiting for writes and with an RST (SO_LINGER 0) where possible. */
  abort(): void;
  sockname(): SockAddr | null;
  peername(): SockAddr | null;
  setNoDelay(on: boolean): void;
  /**
   * Optional (absent: a no-op): SO_KEEPALIVE on or off; with `initialDelaySec` > 0 also the
   * idle time before the first probe (TCP_KEEPIDLE). No-op on Unix sockets.
   */
  setKeepAlive?(on: boolean, initialDelaySec: number): void;
}

export interface ListenerSink {
  /** A connection was accepted (the sink owns the endpoint from now on). */
  onAccept(endpoint: StreamEndpoint): void;
  /** Accepting failed (EMFILE...). The listener backs off and resumes by itself. */
  onAcceptError(err: Error): void;
}

export interface ListenOptions {
  backlog: number;
  reuseAddress: boolean;
  reusePort: boolean;
  /** For IP listeners on "::": accept IPv6 only (each family gets its own socket). */
  ipv6Only: boolean;
}

export interface Listener {
  readonly fd: number;
  sockname(): SockAddr;
  /** Start (or resume) accepting; multishot where the backend has it. */
  startAccepting(sink: ListenerSink): void;
  stopAccepting(): void;
  /** Stop accepting and close the socket (the path of a Unix socket is unlinked by the caller). */
  close(): void;
}

export interface ConnectOptions {
  localAddr?: SockAddr;
  signal?: AbortSignal;
}

// ---------------------------------------------------------------- datagrams
//
// A DatagramEndpoint is one SOCK_DGRAM socket (UDP over IPv4/IPv6, or AF_UNIX) as a backend
// sees it. The datagram transport (src/transports/datagram.ts), written ONCE, drives it
// and is its sink. Completions are never delivered synchronously inside the call that
// started the operation. Unlike streams, the datagram transport needs no iteration after a
// completion (sendto() goes to the endpoint at once, and callSoon() from a protocol method
// schedules its own): a backend whose completions come one by one (node:dgram) need not
// run host._runOnce() after each.
//
// Receiving: startReceiving() delivers every datagram through onDatagram until
// stopReceiving() or close(); what is already on its way may still arrive after
// stopReceiving() (the transport holds it). A receive error (an ICMP error reported on a
// connected socket: ECONNREFUSED..., or a datagram larger than the backend's receive
// buffer: EMSGSIZE) goes to onReceiveError and receiving goes on.
// Truncation rule: a datagram is delivered whole or not at all. One that did not fit is
// reported as an Error with code "EMSGSIZE", syscall "recvmsg", `size` = its real length
// and `addr` = its sender; its bytes are dropped.
//
// Sending: sendto() COPIES the bytes (the caller may reuse its memory at once) and sends
// them as one datagram to `addr` (null: the connected peer). Every sendto() gets exactly
// one onSent(bytes, err) (bytes = the datagram's length), unless close() comes first:
// then the sink hears nothing more but onClosed.
//
// Ownership: close() cancels what is in flight, waits for every op's final completion,
// then closes the fd and calls onClosed() once (DESIGN.md, Ownership). Idempotent.

export interface DatagramSink {
  /** One datagram; `data` is a fresh Buffer the receiver may keep. `addr` null: the sender has no address. */
  onDatagram(data: Buffer, addr: SockAddr | null): void;
  /** A receive failed (see Receiving above); receiving goes on. */
  onReceiveError(err: Error): void;
  /** The datagram of one sendto() left (`err` null) or failed. */
  onSent(bytes: number, err: Error | null): void;
  /** Every op has completed and the fd is closed. */
  onClosed(): void;
}

export interface DatagramEndpoint {
  /** The fd (-1 where the backend has none to give, e.g. node:dgram). */
  readonly fd: number;
  setSink(sink: DatagramSink): void;
  startReceiving(): void;
  stopReceiving(): void;
  /** Copies `data` and sends it to `addr` (a resolved address: IP literal with family, or a path), or to the connected peer when null. */
  sendto(data: Uint8Array, addr: SockAddr | null): void;
  /** Cancel what is in flight (unsent datagrams are dropped), then close the fd; onClosed() when done. */
  close(): void;
  sockname(): SockAddr | null;
  peername(): SockAddr | null;
}

/** What createDatagramEndpoint asks a backend for: addresses already resolved (IP literals with family, or a Unix path). */
export interface DatagramOpenOptions {
  /** 4, 6, or 0 for AF_UNIX. */
  family: 0 | 4 | 6;
  localAddr: SockAddr | null;
  remoteAddr: SockAddr | null;
  reusePort: boolean;
  allowBroadcast: boolean;
}

// ---------------------------------------------------------------- fd readiness
//
// watchFd() is one single-shot wait for an fd (owned by the caller) to become readable or
// writable: the sock_* methods (try the syscall, on EAGAIN wait, retry) and addReader/
// addWriter (re-armed after each callback: asyncio's readiness is level-triggered).
// Rules:
// - The callback runs at most once, from the completion context, never synchronously inside
//   watchFd(): with null when the fd is ready (also on error/hang-up readiness: the retried
//   syscall reports it), or with an error (the fd is not pollable, EBADF), or from inside
//   close() with an error when the proactor closes while it waits.
// - After cancel() the callback never runs and the fd may be closed at once (cancel by fd
//   before close, DESIGN.md Ownership). Idempotent; a no-op after the callback ran.
// - A backend that cannot watch an arbitrary fd throws NotImplementedError from both
//   checkFdWatch() and watchFd(), naming itself and what to use instead.

/** Readiness events: poll(2) bits (POLLIN, POLLOUT), passed to the kernel as they are. */
export const WATCH_READ = 1;
export const WATCH_WRITE = 4;

export interface FdWatch {
  cancel(): void;
}

export type FdWatchCallback = (err: Error | null) => void;
// ---------------------------------------------------------------- files
//
// FileOps: file syscalls as asynchronous ops on the loop's backend. src/fs.ts (the public
// `fs` module, written ONCE) validates arguments and builds open/readFile/FileHandle... on
// it. Rules every backend keeps:
// - Arguments arrive validated: `buf`/`bufs` are the exact bytes to transfer, `position`
//   is an integer >= -1 (-1 = the file position, advancing it).
// - read/write resolve the count the kernel returned (short counts included); looping is
//   the caller's job.
// - Errors are Node-style system errors with code, errno, syscall (and path where Node's
//   fs has one).
// - Ownership: buffers, paths and fds an op uses stay referenced until its completion.
// - fds opened by open() are tracked until close(); close() of the proactor closes the
//   ones still open (no fd outlives its loop); after that close(fd) resolves (nothing is left
//   open) and every other op rejects with EBADF.

/** What stat/lstat/fstat resolve (Node's Stats fields; times in ms as Node computes them). */
export interface StatFields {
  dev: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
  ino: number;
  size: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

export interface FileOps {
  /** open(2) with O_CLOEXEC added; resolves the fd. */
  open(path: string | Buffer, flags: number, mode: number): Promise<number>;
  close(fd: number): Promise<void>;
  /**
   * `offload`: the caller keeps several large reads in flight into fresh memory (readFile);
   * a backend that completes reads inline in the loop thread may run these elsewhere.
   */
  read(fd: number, buf: Uint8Array, position: number, offload?: boolean): Promise<number>;
  write(fd: number, buf: Uint8Array, position: number): Promise<number>;
  readv(fd: number, bufs: Uint8Array[], position: number): Promise<number>;
  writev(fd: number, bufs: Uint8Array[], position: number): Promise<number>;
  /** stat (followLinks) or lstat. */
  stat(path: string | Buffer, followLinks: boolean): Promise<StatFields>;
  fstat(fd: number): Promise<StatFields>;
  /** fsync, or fdatasync when dataOnly. */
  fsync(fd: number, dataOnly: boolean): Promise<void>;
  /**
   * Uninitialised memory for `size` bytes that the caller is about to fill once (readFile's
   * result). A backend may arrange cheaper first-touch page faults for it.
   */
  freshBuffer(size: number): Buffer;
}

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
  /** loop.metrics() without `backend`: counters read on demand, cheap enough to call often. */
  metrics(): Omit<LoopMetrics, "backend">;
  close(): void;
  // Streams. Errors are Node-style system errors (code, errno, syscall, address, port).
  /** Connect one stream socket to one address (no name resolution here). */
  connectStream(addr: SockAddr, opts: ConnectOptions): Promise<StreamEndpoint>;
  /**
   * Create, bind and listen one stream socket. A backend whose listen is asynchronous
   * (node:net) returns a Promise; the caller awaits either.
   */
  listenStream(addr: SockAddr, opts: ListenOptions): Listener | Promise<Listener>;
  /** Adopt an already connected stream socket fd (connectAcceptedSocket, sock options). */
  adoptStream(fd: number): StreamEndpoint;
  /** Adopt an already listening socket fd (createServer({ sock })). */
  adoptListener(fd: number): Listener | Promise<Listener>;
  // Datagrams (see "datagrams" above). A Unix-domain socket (family 0) the backend cannot
  // serve natively gets null; the core then uses its readiness endpoint over watchFd().
  /** Create (bind, connect) one datagram socket. */
  openDatagram(opts: DatagramOpenOptions): DatagramEndpoint | Promise<DatagramEndpoint> | null;
  /** Adopt a SOCK_DGRAM socket fd of `family` (createDatagramEndpoint({ sock })); owned from now on. */
  adoptDatagram(fd: number, family: 0 | 4 | 6): DatagramEndpoint | Promise<DatagramEndpoint> | null;
  // Readiness (see "fd readiness" above).
  /** Throws NotImplementedError where this backend cannot watch fds; returns otherwise. */
  checkFdWatch(): void;
  /** One wait for `events` (WATCH_READ | WATCH_WRITE) on `fd`. */
  watchFd(fd: number, events: number, callback: FdWatchCallback): FdWatch;
  /**
   * Optional (absent = no native path; loop.sockSendfile then reads and sends): send
   * [offset, offset + count) of regular file `file` to connected stream socket `sock`, both
   * fds owned by the caller. done(sent, err) runs once, from the completion context, after
   * the last op's final CQE (sent < count with err null: the file ended early); only then
   * may the caller close the file. cancelNow() makes the kernel let go of the socket before
   * it returns (the socket fd may be closed right after); done() still follows.
   */
  sendFileToSocket?(sock: number, file: number, offset: number, count: number, done: (sent: number, err: Error | null) => void): { cancelNow(): void };
  /** Files (src/fs.ts). */
  readonly files: FileOps;
  /**
   * A cleanup that releases the backend's resources without referencing the loop or the
   * proactor, run when a loop is garbage-collected unclosed; null when nothing needs it.
   */
  detachedCleanup(): (() => void) | null;
}
