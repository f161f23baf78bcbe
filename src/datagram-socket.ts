// Opening a datagram socket with the addon's plain syscalls (src/addon.ts), as asyncio's
// create_datagram_endpoint does it: socket(SOCK_DGRAM), SO_REUSEPORT, SO_BROADCAST, bind,
// connect. Backend-neutral: the io_uring backend and the readiness endpoint
// (transports/datagram-readiness.ts) both start from it. A datagram connect() completes
// at once (no handshake), so all of it is synchronous.
import type { DatagramOpenOptions } from "./proactor.js";
import type { SockAddr } from "./events.js";
import { nativeSockets, check, closeFd, SOCKOPT_REUSEPORT, SOCKOPT_BROADCAST } from "./addon.js";
import { resolveAddr } from "./sockaddr.js";
import { SOCK_DGRAM } from "./events.js";
import { systemError, errno, type SystemError } from "./system-error.js";

/** A bound (and with remoteAddr, connected) non-blocking SOCK_DGRAM socket; the caller owns the fd. */
export function openDatagramSocket(opts: DatagramOpenOptions): number {
  const s = nativeSockets();
  const fd = check(s.socket(opts.family, SOCK_DGRAM), "socket");
  try {
    if (opts.reusePort) check(s.setOpt(fd, SOCKOPT_REUSEPORT, 1), "setsockopt");
    if (opts.allowBroadcast) check(s.setOpt(fd, SOCKOPT_BROADCAST, 1), "setsockopt");
    if (opts.localAddr !== null) {
      const a = resolveAddr(opts.localAddr, "localAddr");
      check(s.bind(fd, a.family, a.host, a.port), "bind", a);
    }
    if (opts.remoteAddr !== null) {
      const a = resolveAddr(opts.remoteAddr, "remoteAddr");
      check(s.connect(fd, a.family, a.host, a.port), "connect", a);
    }
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  return fd;
}

/** sockname / peername of a datagram socket, null when it has none. */
export function socketName(fd: number, peer: boolean): SockAddr | null {
  const s = nativeSockets();
  const v = peer ? s.peerName(fd) : s.sockName(fd);
  return typeof v === "number" ? null : v;
}

/** The datagram was larger than the receive buffer (`room` bytes): it is dropped and reported with this (the truncation rule of proactor.ts). */
export function truncatedDatagram(size: number, addr: SockAddr | null, room: number, hint: string): Error {
  const err = systemError(-errno.EMSGSIZE, "recvmsg") as SystemError & { size: number; addr: SockAddr | null };
  err.message = `recvmsg EMSGSIZE: a datagram of ${size} bytes did not fit the receive buffer (${room} bytes${hint}) and was dropped`;
  err.size = size;
  err.addr = addr;
  return err;
}
