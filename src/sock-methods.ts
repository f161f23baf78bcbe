// The loop's sock_* methods (API.md "Sockets"), written once over the Proactor seam as
// asyncio's selector loop does them: try the non-blocking syscall; on EAGAIN wait for
// readiness (Proactor.watchFd, single shot) and retry. Data given to a send method must
// not change until its Promise settles (it is sent from the caller's memory, not copied).
//
// Waits: each registers a SocketWait on its Socket, so Socket.close() cancels the poll and
// rejects the Promise (EBADF) before the fd closes; loop.close() ends them through the
// proactor (the Promise rejects with the closed-loop error).
//
// Abort (opts.signal): an aborted signal ends the call before its next syscall, or its wait
// at once (the poll is cancelled); it rejects with the signal's reason (abortReason). A
// syscall that has returned data is never undone: its result is delivered even when the
// signal aborts meanwhile, so the socket stays usable and no byte read is lost. An aborted
// sockSendall may have sent a prefix of its data; an aborted sockConnect leaves the
// connection attempt running (sockConnect again waits for it: EALREADY).
import type { FdWatchCallback, Proactor } from "./proactor.js";
import { WATCH_READ, WATCH_WRITE } from "./proactor.js";
import type { SockAddr, SockAddrInput, SockOptions } from "./events.js";
import { Socket, type SocketWait } from "./socket.js";
import { systemError, errno } from "./system-error.js";
import { describeType, signalOption, argRangeError, argTypeError } from "./validate.js";
import { abortReason } from "./exceptions.js";
import { nativeSockets, SOCKOPT_ERROR } from "./addon.js";
import { errorExtra, type ResolvedAddr } from "./sockaddr.js";

/** What the sock_* methods need from the loop. */
export interface SockLoop {
  readonly _proactor: Proactor;
  isClosed(): boolean;
  /** Throws the closed-loop error when the loop is closed. */
  _checkClosed(): void;
}

const EAGAIN = -errno.EAGAIN;

/**
 * Validates `sock`, the loop and `opts`; returns the signal (an aborted one is refused by
 * the first attempt, so that every argument is checked first).
 */
export function begin(loop: SockLoop, sock: unknown, syscall: string, opts: unknown, type?: "stream" | "dgram"): AbortSignal | undefined {
  if (!(sock instanceof Socket)) throw argTypeError(`The "sock" argument must be a ringloop Socket. Received ${describeType(sock)}`);
  if (type !== undefined && sock.type !== type) throw argTypeError(`The "sock" argument must be a ${type} socket. Received a ${sock.type} socket`, "ERR_INVALID_ARG_VALUE");
  const signal = signalOption(opts);
  loop._checkClosed();
  loop._proactor.checkFdWatch();
  sock._checkOpen(syscall);
  return signal;
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * Resolves when `sock` is ready for `events`; rejects when it is closed, the loop closes or
 * `signal` aborts.
 */
function waitReady(loop: SockLoop, sock: Socket, events: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    loop._checkClosed(); // the loop may have closed since the previous attempt
    checkAborted(signal);
    const ended = (): void => {
      sock._waits.delete(wait);
      signal?.removeEventListener("abort", onAbort);
    };
    const wait: SocketWait = {
      abort(err) {
        ended();
        watch.cancel();
        reject(err);
      },
    };
    const onAbort = (): void => wait.abort(abortReason(signal!));
    const done: FdWatchCallback = (err) => {
      ended();
      if (err === null) resolve();
      else reject(loop.isClosed() ? closedError(loop, err) : err);
    };
    const watch = loop._proactor.watchFd(sock._checkOpen("poll"), events, done);
    sock._waits.add(wait);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The loop's closed error when the loop is closed, else `fallback`. */
export function closedError(loop: SockLoop, fallback: Error): unknown {
  try {
    loop._checkClosed();
  } catch (err) {
    return err;
  }
  return fallback;
}

/**
 * Runs `attempt` until it returns something other than -EAGAIN, waiting for `events` in
 * between. A negative result becomes a system error naming `syscall`.
 */
async function retry<T>(loop: SockLoop, sock: Socket, events: number, syscall: string, signal: AbortSignal | undefined, attempt: (fd: number) => T | number, a?: ResolvedAddr): Promise<T> {
  for (let eagains = 1; ; eagains++) {
    checkAborted(signal);
    const r = attempt(sock._checkOpen(syscall));
    if (typeof r !== "number" || r >= 0) return r as T;
    if (r !== EAGAIN) throw systemError(r, syscall, a ? errorExtra(a) : undefined);
    await waitAgain(loop, sock, events, signal, eagains);
  }
}

/** The longest pause between two attempts that readiness did not tell apart (ms). */
const MAX_BACKOFF_MS = 64;

/**
 * Waits for readiness before attempt number `eagains + 1`. Readiness does not always
 * explain an EAGAIN: a Unix stream socket whose listener's backlog is full, or an
 * unconnected Unix datagram socket whose receiver's queue is full, polls writable at once
 * (the kernel cannot tell which peer is full), so waiting for readiness alone would spin.
 * From the second EAGAIN in a row on, a pause follows the wait: 1, 2, 4 ... 64 ms. The pause
 * is a Node timer, not a loop timer, so that a loop closed meanwhile is seen by the next
 * wait (it rejects with the closed-loop error) instead of a timer that never fires.
 */
async function waitAgain(loop: SockLoop, sock: Socket, events: number, signal: AbortSignal | undefined, eagains: number): Promise<void> {
  await waitReady(loop, sock, events, signal);
  if (eagains < 2) return;
  const ms = Math.min(MAX_BACKOFF_MS, 2 ** (eagains - 2));
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function toBytes(data: unknown, name: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw argTypeError(`The "${name}" argument must be a Buffer, TypedArray, DataView or ArrayBuffer. Received ${describeType(data)}`);
}

function checkSize(n: unknown, name: string, min: number): asserts n is number {
  if (typeof n !== "number") throw argTypeError(`The "${name}" argument must be of type number. Received ${describeType(n)}`);
  if (!Number.isInteger(n) || n < min || n > 0x7fffffff) throw argRangeError(`The "${name}" argument must be an integer >= ${min} and <= 2147483647. Received ${n}`);
}

export async function sockRecv(loop: SockLoop, sock: Socket, nbytes: number, opts?: SockOptions): Promise<Buffer> {
  checkSize(nbytes, "nbytes", 0);
  const signal = begin(loop, sock, "recv", opts);
  const buf = Buffer.allocUnsafe(nbytes);
  const n = await retry(loop, sock, WATCH_READ, "recv", signal, (fd) => nativeSockets().recv(fd, buf));
  return n === nbytes ? buf : buf.subarray(0, n);
}

export async function sockRecvInto(loop: SockLoop, sock: Socket, buf: Uint8Array, opts?: SockOptions): Promise<number> {
  const view = toBytes(buf, "buf");
  const signal = begin(loop, sock, "recv", opts);
  return retry(loop, sock, WATCH_READ, "recv", signal, (fd) => nativeSockets().recv(fd, view));
}

export async function sockRecvfrom(loop: SockLoop, sock: Socket, bufsize: number, opts?: SockOptions): Promise<[Buffer, SockAddr | null]> {
  checkSize(bufsize, "bufsize", 0);
  const signal = begin(loop, sock, "recvfrom", opts);
  const buf = Buffer.allocUnsafe(bufsize);
  const [n, addr] = await retry(loop, sock, WATCH_READ, "recvfrom", signal, (fd) => nativeSockets().recvFrom(fd, buf));
  return [n === bufsize ? buf : buf.subarray(0, n), addr];
}

export async function sockRecvfromInto(loop: SockLoop, sock: Socket, buf: Uint8Array, nbytes = 0, opts?: SockOptions): Promise<[number, SockAddr | null]> {
  let view = toBytes(buf, "buf");
  checkSize(nbytes, "nbytes", 0);
  if (nbytes > view.byteLength) throw argRangeError(`The "nbytes" argument (${nbytes}) is larger than the buffer (${view.byteLength} bytes)`);
  if (nbytes > 0) view = view.subarray(0, nbytes);
  const signal = begin(loop, sock, "recvfrom", opts);
  const [n, addr] = await retry(loop, sock, WATCH_READ, "recvfrom", signal, (fd) => nativeSockets().recvFrom(fd, view));
  return [n, addr];
}

export async function sockSendall(loop: SockLoop, sock: Socket, data: Uint8Array, opts?: SockOptions): Promise<void> {
  const bytes = toBytes(data, "data");
  const signal = begin(loop, sock, "send", opts);
  await sendAll(loop, sock, bytes, signal);
}

/** sockSendall after its checks (also sockSendfile's generic path). */
export async function sendAll(loop: SockLoop, sock: Socket, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
  checkAborted(signal);
  let off = 0;
  while (off < bytes.byteLength) {
    const rest = off === 0 ? bytes : bytes.subarray(off);
    off += await retry(loop, sock, WATCH_WRITE, "send", signal, (fd) => nativeSockets().send(fd, rest));
  }
}

export async function sockSendto(loop: SockLoop, sock: Socket, data: Uint8Array, addr: SockAddrInput, opts?: SockOptions): Promise<number> {
  const bytes = toBytes(data, "data");
  const signal = begin(loop, sock, "sendto", opts);
  const a = sock._resolve(addr, "addr");
  return retry(loop, sock, WATCH_WRITE, "sendto", signal, (fd) => nativeSockets().sendTo(fd, bytes, a.family, a.host, a.port), a);
}

/**
 * IP addresses must be literals here (no name resolution; use getaddrinfo first). EALREADY
 * (an earlier, aborted sockConnect is still in progress) is waited for as EINPROGRESS.
 */
export async function sockConnect(loop: SockLoop, sock: Socket, addr: SockAddrInput, opts?: SockOptions): Promise<void> {
  const signal = begin(loop, sock, "connect", opts);
  const a = sock._resolve(addr, "addr");
  const s = nativeSockets();
  for (let eagains = 1; ; eagains++) {
    checkAborted(signal);
    const r = s.connect(sock._checkOpen("connect"), a.family, a.host, a.port);
    if (r === 0) return;
    if (r === EAGAIN) {
      // A Unix socket whose listener's backlog is full: wait, then connect again.
      await waitAgain(loop, sock, WATCH_WRITE, signal, eagains);
      continue;
    }
    if (r !== -errno.EINPROGRESS && r !== -errno.EALREADY) throw systemError(r, "connect", errorExtra(a));
    await waitReady(loop, sock, WATCH_WRITE, signal);
    const out = new Int32Array(2);
    const g = s.getOpt(sock._checkOpen("connect"), SOCKOPT_ERROR, out);
    if (g < 0) throw systemError(g, "getsockopt");
    if (out[0] !== 0) throw systemError(out[0], "connect", errorExtra(a));
    return;
  }
}

export async function sockAccept(loop: SockLoop, sock: Socket, opts?: SockOptions): Promise<[Socket, SockAddr | null]> {
  const signal = begin(loop, sock, "accept", opts, "stream");
  const [fd, addr] = await retry(loop, sock, WATCH_READ, "accept", signal, (lfd) => nativeSockets().accept(lfd));
  return [new Socket(fd, sock.family, "stream"), addr];
}
