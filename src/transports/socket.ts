// What transports and servers expose as a "socket" until the full Socket class arrives
// (a later issue): the fd and the addresses, read once when the connection was set up.
import type { SockAddr } from "../proactor.js";

/** True for an IP address (a TCP socket), false for a Unix path or an unknown name. */
export function isIpAddr(addr: SockAddr | null): addr is Exclude<SockAddr, string> {
  return addr !== null && typeof addr === "object";
}

export class TransportSocket {
  constructor(
    private readonly fd: number,
    private readonly sockname: SockAddr | null,
    private readonly peername: SockAddr | null = null,
  ) {}

  /** The fd (-1 where the backend has none, as on some fallback sockets). */
  fileno(): number {
    return this.fd;
  }

  getsockname(): SockAddr | null {
    return this.sockname;
  }

  getpeername(): SockAddr | null {
    return this.peername;
  }

  toString(): string {
    return `<TransportSocket fd=${this.fd}>`;
  }
}
