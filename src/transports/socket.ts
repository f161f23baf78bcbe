// What transports and servers expose as a "socket": the fd and the addresses, read once
// when the connection was set up, and getsockopt on the fd (the transport owns the fd, so
// this is a read-only view, not a Socket that could close it).
import type { SockAddr, SocketOption, SocketOptionValue, SocketView } from "../events.js";
import { getSocketOption } from "../socket.js";
import { systemError, errno } from "../system-error.js";

export class TransportSocket implements SocketView {
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

  /** Socket.getsockopt's option names; EBADF where the backend exposes no fd (-1). */
  getsockopt(name: SocketOption): SocketOptionValue {
    if (this.fd < 0) throw systemError(errno.EBADF, "getsockopt");
    return getSocketOption(this.fd, name);
  }

  toString(): string {
    return `<TransportSocket fd=${this.fd}>`;
  }
}
