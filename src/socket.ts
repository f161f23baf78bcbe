// ringloop's own non-blocking socket (API.md "Sockets"), over the synchronous syscalls of
// native/sockets.cc. It works on every backend where the addon loads; waiting for
// readiness (sock_* methods) is the loop's business (src/sock-methods.ts).
//
// Representation: family 4 | 6 | "unix", type "stream" | "dgram", addresses as SockAddr
// ({host, port, family} for IP, a path string for Unix, "\0name" abstract).
// Options are named by strings instead of asyncio's (level, optname) pairs:
//   flags (boolean):   SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST, TCP_NODELAY,
//                      IPV6_V6ONLY
//   sizes (number):    SO_RCVBUF, SO_SNDBUF (getsockopt returns what the kernel made of it)
//   SO_LINGER:         { onoff: boolean, linger: seconds }
//   read-only:         SO_ERROR (a positive errno, 0 = none), SO_TYPE ("stream" | "dgram")
//
// Ownership: the Socket owns its fd until close() or detach() (garbage-collected open: the
// fd is closed then, with a warning in debug mode). close() first ends every sock_* wait on
// it (the wait's poll is cancelled, its Promise rejects with EBADF), then closes the fd.
import {
  captureStack,
  SOCK_STREAM,
  SOCK_DGRAM,
  type AbstractSocket,
  type Linger,
  type SockAddr,
  type SockAddrInput,
  type SocketFamily,
  type SocketOption,
  type SocketOptionValue,
  type SocketType,
} from "./events.js";
import { NotImplementedError } from "./exceptions.js";
import { systemError, errno } from "./system-error.js";
import { describeType, argRangeError, argTypeError } from "./validate.js";
import { trackUnclosed, untrack, type ResourceState } from "./resource-warnings.js";
import { resolveAddr, type FamilyCode, type ResolvedAddr } from "./sockaddr.js";
import {
  nativeSockets,
  check,
  type NativeSockets,
  SOCKOPT_REUSEADDR,
  SOCKOPT_REUSEPORT,
  SOCKOPT_V6ONLY,
  SOCKOPT_NODELAY,
  SOCKOPT_KEEPALIVE,
  SOCKOPT_RCVBUF,
  SOCKOPT_SNDBUF,
  SOCKOPT_BROADCAST,
  SOCKOPT_LINGER,
  SOCKOPT_ERROR,
  SOCKOPT_TYPE,
} from "./addon.js";

type OptionKind = "flag" | "size" | "linger" | "error" | "type";
const OPTIONS = {
  SO_REUSEADDR: [SOCKOPT_REUSEADDR, "flag"],
  SO_REUSEPORT: [SOCKOPT_REUSEPORT, "flag"],
  SO_KEEPALIVE: [SOCKOPT_KEEPALIVE, "flag"],
  SO_BROADCAST: [SOCKOPT_BROADCAST, "flag"],
  TCP_NODELAY: [SOCKOPT_NODELAY, "flag"],
  IPV6_V6ONLY: [SOCKOPT_V6ONLY, "flag"],
  SO_RCVBUF: [SOCKOPT_RCVBUF, "size"],
  SO_SNDBUF: [SOCKOPT_SNDBUF, "size"],
  SO_LINGER: [SOCKOPT_LINGER, "linger"],
  SO_ERROR: [SOCKOPT_ERROR, "error"],
  SO_TYPE: [SOCKOPT_TYPE, "type"],
} as const satisfies Record<SocketOption, readonly [number, OptionKind]>;

/** A pending sock_* wait on a socket; close() ends it with `err`. */
export interface SocketWait {
  abort(err: Error): void;
}

/** The native socket functions, or NotImplementedError where the addon did not load. */
function natives(): NativeSockets {
  try {
    return nativeSockets();
  } catch (err) {
    throw new NotImplementedError(`ringloop Socket objects need the native addon, which is unavailable here (${(err as Error).message}); use transports (createConnection / createServer) instead`);
  }
}

function optionOf(name: unknown): readonly [number, OptionKind] {
  if (typeof name !== "string" || !Object.prototype.hasOwnProperty.call(OPTIONS, name)) {
    throw argTypeError(`The "name" argument must be one of ${Object.keys(OPTIONS).join(", ")}. Received ${describeType(name)}`, "ERR_INVALID_ARG_VALUE");
  }
  return OPTIONS[name as SocketOption];
}

/** getsockopt on any socket fd (also TransportSocket's). */
export function getSocketOption(fd: number, name: SocketOption): SocketOptionValue {
  const [code, kind] = optionOf(name);
  const out = new Int32Array(2);
  check(natives().getOpt(fd, code, out), "getsockopt");
  switch (kind) {
    case "flag":
      return out[0] !== 0;
    case "linger":
      return { onoff: out[0] !== 0, linger: out[1] };
    case "type":
      return out[0] === SOCK_DGRAM ? "dgram" : "stream";
    default:
      return out[0];
  }
}

function optionValue(name: string, kind: OptionKind, value: unknown): number {
  if (kind === "flag") {
    if (typeof value === "boolean") return value ? 1 : 0;
    if (typeof value === "number" && Number.isInteger(value)) return value !== 0 ? 1 : 0;
    throw argTypeError(`The "value" argument for ${name} must be a boolean. Received ${describeType(value)}`);
  }
  if (kind === "size") {
    if (typeof value !== "number") throw argTypeError(`The "value" argument for ${name} must be a number. Received ${describeType(value)}`);
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw argRangeError(`The "value" argument for ${name} must be an integer >= 0 and <= 2147483647. Received ${value}`);
    return value;
  }
  if (kind === "linger") {
    const l = value as Linger;
    if (l === null || typeof l !== "object" || typeof l.onoff !== "boolean" || typeof l.linger !== "number") {
      throw argTypeError(`The "value" argument for SO_LINGER must be { onoff: boolean, linger: number }. Received ${describeType(value)}`);
    }
    if (!Number.isInteger(l.linger) || l.linger < 0 || l.linger > 0x7fffffff) throw argRangeError(`The "value.linger" property must be an integer >= 0. Received ${l.linger}`);
    return l.onoff ? l.linger : -1;
  }
  throw argTypeError(`${name} is read-only`);
}

const FAMILY_CODE = { 4: 4, 6: 6, unix: 0 } as const;

function familyOf(code: number): SocketFamily | null {
  return code === 4 ? 4 : code === 6 ? 6 : code === 0 ? "unix" : null;
}

export class Socket implements AbstractSocket {
  /** @internal -1 once closed. */
  _fd: number;
  readonly family: SocketFamily;
  readonly type: SocketType;
  /** @internal sock_* waits in progress (src/sock-methods.ts). */
  readonly _waits = new Set<SocketWait>();
  /** Closes the fd if the Socket is garbage-collected open (as a Python socket does). */
  private readonly resource: ResourceState;

  /** @internal Use socket() or Socket.fromFd(). */
  constructor(fd: number, family: SocketFamily, type: SocketType) {
    this._fd = fd;
    this.family = family;
    this.type = type;
    const env = process.env.RINGLOOP_DEBUG;
    const debug = env !== undefined && env !== "" && env !== "0";
    this.resource = { what: `socket <fd=${fd} family=${family} type=${type}>`, debug, cleanup: () => natives().close(fd) };
    if (debug) this.resource.createdAt = captureStack(2);
    trackUnclosed(this, this.resource);
  }

  /**
   * Adopts an open socket fd (the Socket owns it from now on; it is made non-blocking).
   * Not a socket: ENOTSOCK; a family other than IPv4/IPv6/Unix: EAFNOSUPPORT.
   */
  static fromFd(fd: number): Socket {
    checkFdArg(fd, "fd");
    const r = natives().inspect(fd);
    if (typeof r === "number") throw systemError(r, "getsockopt");
    const family = familyOf(r[0]);
    if (family === null) throw systemError(errno.EAFNOSUPPORT, "socket");
    if (r[1] !== SOCK_STREAM && r[1] !== SOCK_DGRAM) throw systemError(errno.EPROTOTYPE, "socket");
    return new Socket(fd, family, r[1] === SOCK_DGRAM ? "dgram" : "stream");
  }

  /** The fd, -1 after close() (as Python's socket.fileno()). */
  fileno(): number {
    return this._fd;
  }

  get closed(): boolean {
    return this._fd < 0;
  }

  /** @internal The fd, or EBADF naming `syscall` when closed. */
  _checkOpen(syscall: string): number {
    if (this._fd < 0) throw systemError(errno.EBADF, syscall);
    return this._fd;
  }

  /** @internal Checks `addr` (argument `name`) against this socket's family. */
  _resolve(addr: SockAddrInput, name: string): ResolvedAddr {
    const a = resolveAddr(addr as SockAddr, name);
    if (a.family !== FAMILY_CODE[this.family]) {
      throw argTypeError(`The "${name}" argument is not an address of this socket's family (${this.family}). Received ${typeof addr === "string" ? `'${addr}'` : JSON.stringify(addr)}`, "ERR_INVALID_ARG_VALUE");
    }
    return a;
  }

  bind(addr: SockAddrInput): void {
    const fd = this._checkOpen("bind");
    const a = this._resolve(addr, "addr");
    check(natives().bind(fd, a.family, a.host, a.port), "bind", a);
  }

  listen(backlog = 128): void {
    if (typeof backlog !== "number" || !Number.isInteger(backlog)) throw argTypeError(`The "backlog" argument must be an integer. Received ${describeType(backlog)}`);
    if (this.type !== "stream") throw systemError(errno.EOPNOTSUPP, "listen");
    check(natives().listen(this._checkOpen("listen"), Math.max(0, backlog)), "listen");
  }

  setsockopt(name: SocketOption, value: SocketOptionValue): void {
    const [code, kind] = optionOf(name);
    const v = optionValue(name, kind, value);
    check(natives().setOpt(this._checkOpen("setsockopt"), code, v), "setsockopt");
  }

  getsockopt(name: SocketOption): SocketOptionValue {
    optionOf(name);
    return getSocketOption(this._checkOpen("getsockopt"), name);
  }

  getsockname(): SockAddr {
    return addrResult(natives().sockName(this._checkOpen("getsockname")), "getsockname");
  }

  /** ENOTCONN when not connected. */
  getpeername(): SockAddr {
    return addrResult(natives().peerName(this._checkOpen("getpeername")), "getpeername");
  }

  /** Ends pending sock_* waits (EBADF), then closes the fd. Idempotent. */
  close(): void {
    const fd = this._fd;
    if (fd < 0) return;
    this._fd = -1;
    untrack(this.resource);
    this.endWaits("close");
    natives().close(fd);
  }

  /**
   * Gives up the fd without closing it (Python's socket.detach()): pending sock_* waits end
   * as on close(); returns the fd, or -1 when already closed.
   */
  detach(): number {
    const fd = this._fd;
    if (fd < 0) return -1;
    this._fd = -1;
    untrack(this.resource);
    this.endWaits("detach");
    return fd;
  }

  private endWaits(syscall: string): void {
    const ended = systemError(errno.EBADF, syscall);
    ended.message = `the socket was ${syscall === "close" ? "closed" : "detached"} while an operation was waiting on it`;
    for (const wait of [...this._waits]) wait.abort(ended);
    this._waits.clear();
  }

  toString(): string {
    return `<Socket fd=${this._fd} family=${this.family} type=${this.type}>`;
  }
}

function addrResult(r: SockAddr | number | null, syscall: string): SockAddr {
  if (typeof r === "number") throw systemError(r, syscall);
  if (r === null) throw systemError(errno.EAFNOSUPPORT, syscall);
  return r;
}

export function checkFdArg(fd: unknown, name: string): asserts fd is number {
  if (typeof fd !== "number") throw argTypeError(`The "${name}" argument must be of type number (a file descriptor). Received ${describeType(fd)}`);
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw argRangeError(`The "${name}" argument must be an integer >= 0. Received ${fd}`);
}

/**
 * socket(family = 4, type = "stream", proto = 0): a new non-blocking, close-on-exec socket.
 * `proto` may be 0 or the family's own protocol (6 = TCP for stream, 17 = UDP for dgram).
 */
export function socket(family: SocketFamily = 4, type: SocketType = "stream", proto = 0): Socket {
  if (family !== 4 && family !== 6 && family !== "unix") throw argTypeError(`The "family" argument must be 4, 6 or "unix". Received ${describeType(family)}`, "ERR_INVALID_ARG_VALUE");
  if (type !== "stream" && type !== "dgram") throw argTypeError(`The "type" argument must be "stream" or "dgram". Received ${describeType(type)}`, "ERR_INVALID_ARG_VALUE");
  if (typeof proto !== "number" || !Number.isInteger(proto)) throw argTypeError(`The "proto" argument must be an integer. Received ${describeType(proto)}`);
  const own = family === "unix" ? 0 : type === "stream" ? 6 : 17;
  if (proto !== 0 && proto !== own) throw argRangeError(`The "proto" argument must be 0 or ${own} for a ${family === "unix" ? "Unix" : `IPv${family}`} ${type} socket. Received ${proto}`, "ERR_INVALID_ARG_VALUE");
  const fd = natives().socket(FAMILY_CODE[family] as FamilyCode, type === "dgram" ? SOCK_DGRAM : SOCK_STREAM, proto);
  if (fd < 0) throw systemError(fd, "socket");
  return new Socket(fd, family, type);
}
