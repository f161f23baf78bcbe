// FallbackDatagramEndpoint: a UDP socket over node:dgram (udp4 / udp6). node:dgram has no
// AF_UNIX: for Unix datagrams this backend's openDatagram/adoptDatagram return null and the
// core uses its readiness endpoint (src/transports/datagram-readiness.ts), which needs
// watchFd().
//
// Mapping onto the seam:
//   - open: createSocket, then bind (localAddr; without one, the wildcard address and an
//     ephemeral port, as the kernel would bind on the first send, so sockname is known and
//     replies arrive), setBroadcast, connect (remoteAddr). reuseAddr is never set; reusePort
//     needs Node >= 22.12 (else NotImplementedError, as the stream listener does).
//   - 'message' -> onDatagram; 'error' after setup (a failed recvmsg: ECONNREFUSED from an
//     ICMP error on a connected socket) -> onReceiveError.
//   - sendto copies the bytes (node:dgram sends from the caller's Buffer); each send's
//     callback -> onSent. libuv completes a socket's sends in order, so ONE bound callback
//     and a queue of lengths serve every send (no closure per datagram).
//   - close: node's close(); onClosed from its callback. fd: -1 (node:dgram exposes none).
//   - No loop iteration after each sink call (the datagram seam does not need one, see
//     proactor.ts: it would cost a _runOnce per datagram and per send); the proactor closes
//     the sockets still open when it closes (host.track).
import * as dgram from "node:dgram";
import type { DatagramEndpoint, DatagramOpenOptions, DatagramSink } from "../src/proactor.js";
import type { SockAddr } from "../src/events.js";
import { NotImplementedError } from "../src/exceptions.js";
import { Deque } from "../src/deque.js";
import { nodeHasReusePort } from "./listener.js";
import { argTypeError } from "../src/validate.js";

/** What a datagram endpoint needs from the FallbackProactor. */
export interface DatagramHost {
  /** A socket the proactor closes on close() (it forgets it on 'close'). */
  track(socket: dgram.Socket): void;
}

function nopSink(): DatagramSink {
  const nop = () => {};
  return { onDatagram: nop, onReceiveError: nop, onSent: nop, onClosed: nop };
}

function toSockAddr(a: dgram.RemoteInfo | { address: string; port: number; family: string }): SockAddr {
  return { host: a.address, port: a.port, family: a.family === "IPv6" ? 6 : 4 };
}

export class FallbackDatagramEndpoint implements DatagramEndpoint {
  readonly fd = -1;
  private sink: DatagramSink = nopSink();
  private closed = false;
  /** Lengths of the sends whose callback has not come, in order. */
  private readonly sends = new Deque<number>(64);
  private readonly sockName: SockAddr | null;
  private readonly peerName: SockAddr | null;

  private constructor(private readonly socket: dgram.Socket) {
    this.sockName = toSockAddr(socket.address());
    let peer: SockAddr | null = null;
    try {
      peer = toSockAddr(socket.remoteAddress());
    } catch {
      peer = null;
    }
    this.peerName = peer;
    socket.on("message", this.onMessage);
    socket.on("error", this.onError);
  }

  /** A socket made, bound and connected as `opts` says; rejects with the bind/connect error. */
  static open(opts: DatagramOpenOptions, host: DatagramHost): Promise<FallbackDatagramEndpoint> {
    if (opts.reusePort && !nodeHasReusePort()) {
      return Promise.reject(new NotImplementedError(`reusePort: the fallback backend (node:dgram of Node ${process.versions.node}) cannot set SO_REUSEPORT; use the uring backend or Node >= 22.12`));
    }
    const socket = dgram.createSocket({ type: opts.family === 6 ? "udp6" : "udp4", ...(opts.reusePort ? { reusePort: true } : {}) } as dgram.SocketOptions);
    const local = opts.localAddr as { host: string; port: number } | null;
    const remote = opts.remoteAddr as { host: string; port: number } | null;
    host.track(socket);
    return FallbackDatagramEndpoint.setUp(socket, (done) => socket.bind({ address: local?.host ?? (opts.family === 6 ? "::" : "0.0.0.0"), port: local?.port ?? 0, exclusive: true }, done), opts.allowBroadcast, remote);
  }

  /** Adopts a UDP socket fd (family 4 or 6). */
  static adopt(fd: number, family: 4 | 6, host: DatagramHost): Promise<FallbackDatagramEndpoint> {
    const socket = dgram.createSocket(family === 6 ? "udp6" : "udp4");
    host.track(socket);
    return FallbackDatagramEndpoint.setUp(socket, (done) => socket.bind({ fd, exclusive: true }, done), false, null);
  }

  private static setUp(socket: dgram.Socket, bind: (done: () => void) => void, broadcast: boolean, remote: { host: string; port: number } | null): Promise<FallbackDatagramEndpoint> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once("error", fail);
      bind(() => {
        try {
          if (broadcast) socket.setBroadcast(true);
        } catch (err) {
          fail(err as Error);
          return;
        }
        if (remote === null) {
          socket.removeListener("error", fail);
          resolve(new FallbackDatagramEndpoint(socket));
          return;
        }
        socket.connect(remote.port, remote.host, () => {
          socket.removeListener("error", fail);
          resolve(new FallbackDatagramEndpoint(socket));
        });
      });
    });
  }

  setSink(sink: DatagramSink): void {
    this.sink = sink;
  }

  /** node:dgram reads from the moment it is bound. */
  startReceiving(): void {}

  /** node:dgram cannot stop reading (its recvStop is internal): what arrives is delivered and the transport holds it. */
  stopReceiving(): void {}

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    if (this.closed) return;
    this.sink.onDatagram(msg, toSockAddr(rinfo));
  };

  private readonly onError = (err: Error): void => {
    if (this.closed) return;
    this.sink.onReceiveError(err);
  };

  sendto(data: Uint8Array, addr: SockAddr | null): void {
    if (this.closed) return;
    const copy = Buffer.allocUnsafe(data.byteLength);
    copy.set(data);
    this.sends.push(copy.length);
    if (addr === null) this.socket.send(copy, this.onSendDone);
    else if (typeof addr === "string") throw argTypeError(`The "addr" argument must be an IP address on a UDP endpoint. Received a path`, "ERR_INVALID_ARG_VALUE");
    else this.socket.send(copy, addr.port, addr.host, this.onSendDone);
  }

  private readonly onSendDone = (err: Error | null): void => {
    const len = this.sends.shift() ?? 0;
    if (this.closed) return;
    this.sink.onSent(len, err ?? null);
  };

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(() => this.sink.onClosed());
  }

  sockname(): SockAddr | null {
    return this.sockName;
  }

  peername(): SockAddr | null {
    return this.peerName;
  }
}
