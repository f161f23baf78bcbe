// ReadinessDatagramEndpoint: a DatagramEndpoint written above the seam, over
// Proactor.watchFd() and the addon's plain socket syscalls (recvFrom / sendTo). The core
// uses it for a datagram socket the backend has no native endpoint for (Unix datagrams on
// the fallback backend, whose node:dgram has no AF_UNIX); it works on any backend whose
// watchFd() does (checkFdWatch() throws NotImplementedError where it does not).
//
// Receiving: one WATCH_READ wait at a time; when the fd is readable, up to
// RECV_BATCH datagrams are read into one scratch buffer and copied out, then the wait is
// re-armed (the fd stays level-triggered, so nothing is missed). A datagram that fills
// the whole scratch buffer may have been cut: it is reported as EMSGSIZE (the
// truncation rule of proactor.ts) with `size` = the bytes read, a lower bound.
// Sending: sendto() copies the bytes into a queue; ONE WATCH_WRITE wait at a time; when
// it fires, queued datagrams are sent until EAGAIN (the rest wait for the next one), each
// reported through onSent. Errors of one datagram (EACCES, ECONNREFUSED...) are its
// onSent(err); the next ones still go.
// Closing: the waits are cancelled (after cancel() the fd may be closed at once: the
// watchFd contract), the fd closed, and onClosed() runs from the loop's ready queue.
// A wait that ends with an error (the fd cannot be polled, or the loop closed under it)
// ends the endpoint: the error goes to onReceiveError, then it closes as above (the fd is
// never left open; onClosed is skipped when the loop is closed already).
import type { DatagramEndpoint, DatagramSink, Proactor, FdWatch } from "../proactor.js";
import { WATCH_READ, WATCH_WRITE } from "../proactor.js";
import type { SockAddr } from "../events.js";
import { nativeSockets, closeFd } from "../addon.js";
import { resolveAddr } from "../sockaddr.js";
import { systemError, errno } from "../system-error.js";
import { socketName, truncatedDatagram } from "../datagram-socket.js";

/** Largest datagram read whole (the Unix datagram default limit, net.core.wmem_default, is below it). */
const SCRATCH_BYTES = 256 * 1024 + 1;
/** Datagrams read per readable wake-up before other work gets a turn. */
const RECV_BATCH = 64;

function nopSink(): DatagramSink {
  const nop = () => {};
  return { onDatagram: nop, onReceiveError: nop, onSent: nop, onClosed: nop };
}

export class ReadinessDatagramEndpoint implements DatagramEndpoint {
  private sink: DatagramSink = nopSink();
  private readWatch: FdWatch | null = null;
  private writeWatch: FdWatch | null = null;
  private receiving = false;
  private closed = false;
  /** Queued datagrams: data, destination (null: the connected peer), flattened. */
  private queue: Array<Uint8Array | SockAddr | null> = [];
  private scratch: Buffer | null = null;

  /** `fd` (a non-blocking SOCK_DGRAM socket) is owned from now on. */
  constructor(
    private readonly proactor: Proactor,
    readonly fd: number,
    private readonly callSoon: (cb: () => void) => void,
  ) {
    proactor.checkFdWatch();
  }

  setSink(sink: DatagramSink): void {
    this.sink = sink;
  }

  startReceiving(): void {
    if (this.closed) return;
    this.receiving = true;
    if (this.readWatch === null) this.readWatch = this.proactor.watchFd(this.fd, WATCH_READ, this.onReadable);
  }

  stopReceiving(): void {
    this.receiving = false;
    this.readWatch?.cancel();
    this.readWatch = null;
  }

  private readonly onReadable = (err: Error | null): void => {
    this.readWatch = null;
    if (this.closed || !this.receiving) return;
    if (err !== null) {
      this.fail(err);
      return;
    }
    const s = nativeSockets();
    const buf = (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
    for (let i = 0; i < RECV_BATCH && this.receiving && !this.closed; i++) {
      const r = s.recvFrom(this.fd, buf);
      if (typeof r === "number") {
        if (r === -errno.EAGAIN) break;
        this.sink.onReceiveError(systemError(r, "recvfrom"));
        continue;
      }
      const [n, addr] = r;
      if (n === buf.length) {
        const e = truncatedDatagram(n, addr, n, " or more");
        this.sink.onReceiveError(e);
        continue;
      }
      this.sink.onDatagram(Buffer.from(buf.subarray(0, n)), addr);
    }
    if (this.receiving && !this.closed && this.readWatch === null) this.readWatch = this.proactor.watchFd(this.fd, WATCH_READ, this.onReadable);
  };

  sendto(data: Uint8Array, addr: SockAddr | null): void {
    if (this.closed) return;
    this.queue.push(Buffer.from(data), addr);
    if (this.writeWatch === null) this.writeWatch = this.proactor.watchFd(this.fd, WATCH_WRITE, this.onWritable);
  }

  private readonly onWritable = (err: Error | null): void => {
    this.writeWatch = null;
    if (this.closed) return;
    if (err !== null) {
      this.fail(err);
      return;
    }
    const s = nativeSockets();
    while (this.queue.length > 0 && !this.closed) {
      const data = this.queue[0] as Uint8Array;
      const to = this.queue[1] as SockAddr | null;
      let r: number;
      if (to === null) r = s.send(this.fd, data);
      else {
        const a = resolveAddr(to, "addr");
        r = s.sendTo(this.fd, data, a.family, a.host, a.port);
      }
      if (r === -errno.EAGAIN) break;
      this.queue.splice(0, 2);
      this.sink.onSent(data.byteLength, r < 0 ? systemError(r, to === null ? "send" : "sendto") : null);
    }
    if (this.queue.length > 0 && !this.closed && this.writeWatch === null) this.writeWatch = this.proactor.watchFd(this.fd, WATCH_WRITE, this.onWritable);
  };

  /** A wait failed: report it, then close (see the header). */
  private fail(err: Error): void {
    this.sink.onReceiveError(err);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiving = false;
    this.readWatch?.cancel();
    this.writeWatch?.cancel();
    this.readWatch = this.writeWatch = null;
    this.queue = [];
    closeFd(this.fd);
    try {
      this.callSoon(() => this.sink.onClosed());
    } catch {
      // the loop is closed: nobody is left to tell
    }
  }

  sockname(): SockAddr | null {
    return socketName(this.fd, false);
  }

  peername(): SockAddr | null {
    return socketName(this.fd, true);
  }
}
