// Creating stream endpoints and listeners on the io_uring backend: socket, options, bind,
// listen (synchronous syscalls), CONNECT through the ring, and adopting user fds.
// Every error path closes the fd it created; errors are Node-style system errors carrying
// address and port, or TypeError / RangeError naming the argument.
import type { ConnectOptions, Listener, ListenOptions, StreamEndpoint } from "../proactor.js";
import { SOCK_STREAM, type SockAddr } from "../events.js";
import { systemError } from "../system-error.js";
import { abortReason } from "../exceptions.js";
import { OP_CONNECT, OP_ASYNC_CANCEL, NO_OP_INDEX } from "./native.js";
import { check, closeFd, nativeSockets, SOCKOPT_REUSEADDR, SOCKOPT_REUSEPORT, SOCKOPT_V6ONLY } from "../addon.js";
import { errorExtra, resolveAddr, type FamilyCode, type ResolvedAddr } from "../sockaddr.js";
import type { OpHandler } from "./ring.js";
import { UringStreamEndpoint, type StreamContext } from "./stream.js";
import { UringListener } from "./listener.js";
import { argRangeError, argTypeError } from "../validate.js";

function openSocket(a: ResolvedAddr, syscallAddr: ResolvedAddr): number {
  return check(nativeSockets().socket(a.family), "socket", syscallAddr);
}

/** Runs `fn(fd)`; on a throw closes `fd` and rethrows. */
function guarded<T>(fd: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    closeFd(fd);
    throw err;
  }
}

// One CONNECT op: resolves with the endpoint, or rejects (fd closed) with the system
// error, or with the signal's reason after an abort (the op is cancelled first and its
// final CQE awaited, so the sockaddr storage and the fd outlive the kernel's use).
class ConnectOp implements OpHandler {
  private slot = -1;
  private aborted = false;
  private readonly onAbort = () => {
    if (this.aborted) return;
    this.aborted = true;
    this.ctx.ring.stageTargeted(OP_ASYNC_CANCEL, NO_OP_INDEX, this.slot, 0);
  };

  constructor(
    private readonly ctx: StreamContext,
    private readonly fd: number,
    private readonly addr: ResolvedAddr,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (ep: StreamEndpoint) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    const ring = ctx.ring;
    this.slot = ring.alloc(this);
    ring.native.prepConnect(this.slot, addr.family, addr.host, addr.port);
    ring.stageRecord(OP_CONNECT, this.slot, fd);
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  _complete(res: number): void {
    this.signal?.removeEventListener("abort", this.onAbort);
    if (res === 0 && !this.aborted) {
      let ep: UringStreamEndpoint;
      try {
        ep = new UringStreamEndpoint(this.ctx, this.fd, this.addr.family);
      } catch (err) {
        closeFd(this.fd);
        this.reject(err);
        return;
      }
      this.resolve(ep);
      return;
    }
    closeFd(this.fd);
    this.reject(this.aborted && this.signal ? abortReason(this.signal) : systemError(res, "connect", errorExtra(this.addr)));
  }
}

export function connectStream(ctx: StreamContext, addr: SockAddr, opts: ConnectOptions): Promise<StreamEndpoint> {
  return new Promise<StreamEndpoint>((resolve, reject) => {
    const a = resolveAddr(addr, "addr");
    const signal = opts?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError('The "opts.signal" property must be an instance of AbortSignal');
    if (signal?.aborted) throw abortReason(signal);
    const local = opts?.localAddr !== undefined ? resolveAddr(opts.localAddr, "opts.localAddr") : null;
    if (local !== null && local.family !== a.family) {
      throw argTypeError(`The "opts.localAddr" family (${local.family || "unix"}) does not match the address family (${a.family || "unix"})`, "ERR_INVALID_ARG_VALUE");
    }
    const fd = openSocket(a, a);
    guarded(fd, () => {
      if (local !== null) check(nativeSockets().bind(fd, local.family, local.host, local.port), "bind", local);
      new ConnectOp(ctx, fd, a, signal, resolve, reject);
    });
  });
}

export function listenStream(ctx: StreamContext, addr: SockAddr, opts: ListenOptions): Listener {
  const a = resolveAddr(addr, "addr");
  const backlog = opts?.backlog ?? 511;
  if (!Number.isInteger(backlog) || backlog < 0) throw argRangeError(`The "opts.backlog" property must be an integer >= 0. Received ${String(backlog)}`);
  const s = nativeSockets();
  const fd = openSocket(a, a);
  return guarded(fd, () => {
    if (a.family !== 0) {
      if (opts.reuseAddress) check(s.setOpt(fd, SOCKOPT_REUSEADDR, 1), "setsockopt", a);
      if (opts.reusePort) check(s.setOpt(fd, SOCKOPT_REUSEPORT, 1), "setsockopt", a);
      if (a.family === 6) check(s.setOpt(fd, SOCKOPT_V6ONLY, opts.ipv6Only ? 1 : 0), "setsockopt", a);
    }
    check(s.bind(fd, a.family, a.host, a.port), "bind", a);
    check(s.listen(fd, backlog), "listen", a);
    return new UringListener(ctx, fd, a.family);
  });
}

function inspectFd(fd: number, listening: boolean): FamilyCode {
  if (!Number.isInteger(fd) || fd < 0) throw argRangeError(`The "fd" argument must be an integer >= 0. Received ${String(fd)}`);
  const r = nativeSockets().inspect(fd);
  if (typeof r === "number") throw systemError(r, "getsockopt");
  const [family, type, acc] = r;
  if (type !== SOCK_STREAM) throw argTypeError(`The "fd" argument must be a stream socket (SOCK_STREAM); fd ${fd} has type ${type}`, "ERR_INVALID_ARG_VALUE");
  if (family < 0) throw argTypeError(`The "fd" argument must be an AF_INET, AF_INET6 or AF_UNIX socket`, "ERR_INVALID_ARG_VALUE");
  if ((acc === 1) !== listening) {
    throw argTypeError(`The "fd" argument must be a ${listening ? "listening" : "connected (not listening)"} socket`);
  }
  return family as FamilyCode;
}

/** Takes ownership of a connected stream socket (set non-blocking). */
export function adoptStream(ctx: StreamContext, fd: number): StreamEndpoint {
  return new UringStreamEndpoint(ctx, fd, inspectFd(fd, false));
}

/** Takes ownership of a listening stream socket (set non-blocking). */
export function adoptListener(ctx: StreamContext, fd: number): Listener {
  return new UringListener(ctx, fd, inspectFd(fd, true));
}
