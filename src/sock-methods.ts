// The loop's sock_* methods (API.md "Sockets"), written once over the Proactor seam as
// asyncio's selector loop does them: try the non-blocking syscall; on EAGAIN wait for
// readiness (Proactor.watchFd, single shot) and retry. Data given to a send method must
// not change until its Promise settles (it is sent from the caller's memory, not copied).
//
// Waits: each registers a SocketWait on its Socket, so Socket.close() cancels the poll and
// rejects the Promise (EBADF) before the fd closes; loop.close() ends them through the
// proactor (the Promise rejects with the closed-loop error).
import type { FdWatchCallback, Proactor } from "./proactor.js";
import { WATCH_READ, WATCH_WRITE } from "./proactor.js";
import type { SockAddr, SockAddrInput } from "./events.js";
import { Socket, type SocketWait } from "./socket.js";
import { systemError, errno } from "./system-error.js";
import { describeType } from "./validate.js";
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

/** Validates `sock` and the loop; returns the fd. */
export function begin(loop: SockLoop, sock: unknown, syscall: string, type?: "stream" | "dgram"): number {
  if (!(sock instanceof Socket)) throw new TypeError(`The "sock" argument must be a ringloop Socket. Received ${describeType(sock)}`);
  if (type !== undefined && sock.type !== type) throw new TypeError(`The "sock" argument must be a ${type} socket. Received a ${sock.type} socket`);
  loop._checkClosed();
  loop._proactor.checkFdWatch();
  return sock._checkOpen(syscall);
}

/** Resolves when `sock` is ready for `events`; rejects when it is closed or the loop closes. */
function waitReady(loop: SockLoop, sock: Socket, events: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    loop._checkClosed(); // the loop may have closed since the previous attempt
    const wait: SocketWait = {
      abort(err) {
        sock._waits.delete(wait);
        watch.cancel();
        reject(err);
      },
    };
    const done: FdWatchCallback = (err) => {
      sock._waits.delete(wait);
      if (err === null) resolve();
      else reject(loop.isClosed() ? closedError(loop, err) : err);
    };
    const watch = loop._proactor.watchFd(sock._checkOpen("poll"), events, done);
    sock._waits.add(wait);
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
async function retry<T>(loop: SockLoop, sock: Socket, events: number, syscall: string, attempt: (fd: number) => T | number, a?: ResolvedAddr): Promise<T> {
  for (;;) {
    const r = attempt(sock._checkOpen(syscall));
    if (typeof r !== "number" || r >= 0) return r as T;
    if (r !== EAGAIN) throw systemError(r, syscall, a ? errorExtra(a) : undefined);
    await waitReady(loop, sock, events);
  }
}

function toBytes(data: unknown, name: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`The "${name}" argument must be a Buffer, TypedArray, DataView or ArrayBuffer. Received ${describeType(data)}`);
}

function checkSize(n: unknown, name: string, min: number): asserts n is number {
  if (typeof n !== "number") throw new TypeError(`The "${name}" argument must be of type number. Received ${describeType(n)}`);
  if (!Number.isInteger(n) || n < min || n > 0x7fffffff) throw new RangeError(`The "${name}" argument must be an integer >= ${min} and <= 2147483647. Received ${n}`);
}

export async function sockRecv(loop: SockLoop, sock: Socket, nbytes: number): Promise<Buffer> {
  checkSize(nbytes, "nbytes", 0);
  begin(loop, sock, "recv");
  const buf = Buffer.allocUnsafe(nbytes);
  const n = await retry(loop, sock, WATCH_READ, "recv", (fd) => nativeSockets().recv(fd, buf));
  return n === nbytes ? buf : buf.subarray(0, n);
}

export async function sockRecvInto(loop: SockLoop, sock: Socket, buf: Uint8Array): Promise<number> {
  const view = toBytes(buf, "buf");
  begin(loop, sock, "recv");
  return retry(loop, sock, WATCH_READ, "recv", (fd) => nativeSockets().recv(fd, view));
}

export async function sockRecvfrom(loop: SockLoop, sock: Socket, bufsize: number): Promise<[Buffer, SockAddr | null]> {
  checkSize(bufsize, "bufsize", 0);
  begin(loop, sock, "recvfrom");
  const buf = Buffer.allocUnsafe(bufsize);
  const [n, addr] = await retry(loop, sock, WATCH_READ, "recvfrom", (fd) => nativeSockets().recvFrom(fd, buf));
  return [n === bufsize ? buf : buf.subarray(0, n), addr];
}

export async function sockRecvfromInto(loop: SockLoop, sock: Socket, buf: Uint8Array, nbytes = 0): Promise<[number, SockAddr | null]> {
  let view = toBytes(buf, "buf");
  checkSize(nbytes, "nbytes", 0);
  if (nbytes > view.byteLength) throw new RangeError(`The "nbytes" argument (${nbytes}) is larger than the buffer (${view.byteLength} bytes)`);
  if (nbytes > 0) view = view.subarray(0, nbytes);
  begin(loop, sock, "recvfrom");
  const [n, addr] = await retry(loop, sock, WATCH_READ, "recvfrom", (fd) => nativeSockets().recvFrom(fd, view));
  return [n, addr];
}

export async function sockSendall(loop: SockLoop, sock: Socket, data: Uint8Array): Promise<void> {
  const bytes = toBytes(data, "data");
  begin(loop, sock, "send");
  let off = 0;
  while (off < bytes.byteLength) {
    const rest = off === 0 ? bytes : bytes.subarray(off);
    off += await retry(loop, sock, WATCH_WRITE, "send", (fd) => nativeSockets().send(fd, rest));
  }
}

export async function sockSendto(loop: SockLoop, sock: Socket, data: Uint8Array, addr: SockAddrInput): Promise<number> {
  const bytes = toBytes(data, "data");
  begin(loop, sock, "sendto");
  const a = sock._resolve(addr, "addr");
  return retry(loop, sock, WATCH_WRITE, "sendto", (fd) => nativeSockets().sendTo(fd, bytes, a.family, a.host, a.port), a);
}

/** IP addresses must be literals here (no name resolution; use getaddrinfo first). */
export async function sockConnect(loop: SockLoop, sock: Socket, addr: SockAddrInput): Promise<void> {
  begin(loop, sock, "connect");
  const a = sock._resolve(addr, "addr");
  const s = nativeSockets();
  for (;;) {
    const r = s.connect(sock._checkOpen("connect"), a.family, a.host, a.port);
    if (r === 0) return;
    if (r === EAGAIN) {
      // A Unix socket whose listener's backlog is full: wait, then connect again.
      await waitReady(loop, sock, WATCH_WRITE);
      continue;
    }
    if (r !== -errno.EINPROGRESS) throw systemError(r, "connect", errorExtra(a));
    await waitReady(loop, sock, WATCH_WRITE);
    const out = new Int32Array(2);
    const g = s.getOpt(sock._checkOpen("connect"), SOCKOPT_ERROR, out);
    if (g < 0) throw systemError(g, "getsockopt");
    if (out[0] !== 0) throw systemError(out[0], "connect", errorExtra(a));
    return;
  }
}

export async function sockAccept(loop: SockLoop, sock: Socket): Promise<[Socket, SockAddr | null]> {
  begin(loop, sock, "accept", "stream");
  const [fd, addr] = await retry(loop, sock, WATCH_READ, "accept", (lfd) => nativeSockets().accept(lfd));
  return [new Socket(fd, sock.family, "stream"), addr];
}
