// FallbackStreamEndpoint: the StreamEndpoint seam over a node:net Socket (allowHalfOpen, so
// EOF and half-close work as on a raw socket). Every sink call is followed by notify()
// (the proactor's host._runOnce()), as the seam requires after a batch of completions.
//
// Reading: startReading = resume + 'data'; stopReading = pause (Node emits no 'data' while
// paused; libuv stops reading once the stream's buffer is full). readInto: node:net has no
// read-into-caller-memory, so each chunk is COPIED into the protocol's buffer (the extra
// copy the uring backend avoids); what does not fit waits for the next read.
// Every socket is tracked by the proactor, whose close() destroys what is still open.
// Writing: one chunk is one socket.write; several are corked so Node's _writev sends them
// as one writev.
// Closing: close = destroy (the transport only closes once its writes are done);
// abort = resetAndDestroy (RST) on TCP, destroy on Unix sockets. onClosed comes from the
// socket's 'close' event, i.e. once libuv has closed the fd.
import * as net from "node:net";
import type { StreamEndpoint, StreamSink } from "../src/proactor.js";
import type { SockAddr } from "../src/events.js";
import { systemError, errno } from "../src/system-error.js";

type Mode = "none" | "stream" | "into";

/** What endpoints and listeners need from the FallbackProactor. */
export interface FallbackHost {
  /** After each sink call: one loop iteration (the seam's rule). */
  notify(): void;
  /** A Node handle the proactor releases on close() (it forgets it on 'close'). */
  track(handle: net.Socket | net.Server): void;
}

function ipAddr(host: string | undefined, port: number | undefined, family: string | number | undefined): SockAddr | null {
  if (host === undefined || port === undefined) return null;
  return { host, port, family: family === "IPv6" || family === 6 ? 6 : 4 };
}

/** The fd under a Node handle (Linux: handle.fd), -1 if there is none. */
export function handleFd(handle: unknown): number {
  const fd = (handle as { fd?: unknown } | null | undefined)?.fd;
  return typeof fd === "number" ? fd : -1;
}

export class FallbackStreamEndpoint implements StreamEndpoint {
  readonly fd: number;
  private readonly notify: () => void;
  private sink: StreamSink | null = null;
  private mode: Mode = "none";
  private target: Uint8Array | null = null;
  /** Bytes read but not yet delivered (readInto leftovers, data that came after a pause). */
  private pending: Buffer[] = [];
  private pendingEof = false;
  private writing = false;
  private closeRequested = false;
  private socketClosed = false;
  private closedReported = false;
  private readonly unixNames: { sockname: SockAddr | null; peername: SockAddr | null } | null;

  constructor(
    private readonly socket: net.Socket,
    host: FallbackHost,
    unixNames: { sockname: SockAddr | null; peername: SockAddr | null } | null = null,
  ) {
    this.notify = host.notify;
    host.track(socket);
    this.fd = handleFd((socket as unknown as { _handle?: unknown })._handle);
    this.unixNames = unixNames;
    socket.pause();
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("error", this.onError);
    socket.on("close", this.onClose);
  }

  setSink(sink: StreamSink): void {
    this.sink = sink;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closeRequested) return;
    if (this.mode === "stream") {
      this.sink!.onData(chunk);
      this.notify();
    } else if (this.mode === "into") {
      this.socket.pause();
      this.pending.push(chunk);
      this.deliverInto();
      this.notify();
    } else {
      this.pending.push(chunk);
    }
  };

  private readonly onEnd = (): void => {
    this.pendingEof = true;
    if (this.closeRequested) return;
    if (this.mode === "stream") {
      this.mode = "none";
      this.sink!.onEof();
      this.notify();
    } else if (this.mode === "into") {
      this.deliverInto();
      this.notify();
    }
  };

  private readonly onError = (err: Error): void => {
    if (this.closeRequested) return;
    if (this.writing) {
      this.writing = false;
      this.sink!.onWriteDone(err);
    } else {
      this.mode = "none";
      this.sink!.onReadError(err);
    }
    this.notify();
  };

  private readonly onClose = (): void => {
    this.socketClosed = true;
    if (this.closeRequested) this.reportClosed();
  };

  private reportClosed(): void {
    if (this.closedReported) return;
    this.closedReported = true;
    this.sink?.onClosed();
    this.notify();
  }

  /** One readInto result from `pending` (or EOF) into `target`. */
  private deliverInto(): void {
    const target = this.target!;
    if (this.pending.length === 0) {
      if (!this.pendingEof) return;
      this.mode = "none";
      this.target = null;
      this.sink!.onReadInto(0);
      return;
    }
    let n = 0;
    while (this.pending.length > 0 && n < target.length) {
      const chunk = this.pending[0];
      const take = Math.min(chunk.length, target.length - n);
      target.set(take === chunk.length ? chunk : chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(take);
    }
    this.mode = "none";
    this.target = null;
    this.sink!.onReadInto(n);
  }

  startReading(): void {
    if (this.closeRequested || this.mode === "stream") return;
    this.mode = "stream";
    if (this.pending.length > 0 || this.pendingEof) {
      process.nextTick(this.drainPending);
      return;
    }
    this.socket.resume();
  }

  /** Delivers what arrived while no one was reading, then resumes the socket. */
  private readonly drainPending = (): void => {
    if (this.closeRequested || this.mode !== "stream") return;
    while (this.pending.length > 0 && this.mode === "stream") this.sink!.onData(this.pending.shift()!);
    if (this.mode === "stream" && this.pending.length === 0) {
      if (this.pendingEof) {
        this.mode = "none";
        this.sink!.onEof();
      } else {
        this.socket.resume();
      }
    }
    this.notify();
  };

  stopReading(): void {
    if (this.mode !== "stream") return;
    this.mode = "none";
    this.socket.pause();
  }

  readInto(buf: Uint8Array): void {
    if (this.closeRequested) return;
    this.mode = "into";
    this.target = buf;
    if (this.pending.length > 0 || this.pendingEof) {
      process.nextTick(() => {
        if (this.closeRequested || this.mode !== "into") return;
        this.deliverInto();
        this.notify();
      });
      return;
    }
    this.socket.resume();
  }

  write(chunks: Uint8Array[]): void {
    this.writing = true;
    const s = this.socket;
    const last = chunks.length - 1;
    if (last === 0) {
      s.write(chunks[0], this.onWritten);
      return;
    }
    s.cork();
    for (let i = 0; i < last; i++) s.write(chunks[i]);
    s.write(chunks[last], this.onWritten);
    s.uncork();
  }

  private readonly onWritten = (err?: Error | null): void => {
    if (!this.writing || this.closeRequested) return;
    this.writing = false;
    // A write to a socket Node already destroyed (the peer reset it, or both directions
    // ended) fails with ERR_STREAM_DESTROYED: for the transport that is a broken pipe.
    if (err && (err as { code?: string }).code === "ERR_STREAM_DESTROYED") err = systemError(errno.EPIPE, "write");
    this.sink!.onWriteDone(err ?? null);
    this.notify();
  };

  shutdownWrite(): void {
    this.socket.end(() => {
      if (this.closeRequested) return;
      this.sink!.onShutdownDone(null);
      this.notify();
    });
  }

  close(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    if (this.socketClosed) process.nextTick(() => this.reportClosed());
    else this.socket.destroy();
  }

  abort(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    if (this.socketClosed) {
      process.nextTick(() => this.reportClosed());
      return;
    }
    if (this.unixNames === null && typeof this.socket.resetAndDestroy === "function") {
      try {
        this.socket.resetAndDestroy();
        return;
      } catch {
        // Not a TCP handle: plain destroy.
      }
    }
    this.socket.destroy();
  }

  sockname(): SockAddr | null {
    if (this.unixNames !== null) return this.unixNames.sockname;
    const s = this.socket;
    return ipAddr(s.localAddress, s.localPort, (s as { localFamily?: string }).localFamily ?? (s.localAddress?.includes(":") ? "IPv6" : "IPv4"));
  }

  peername(): SockAddr | null {
    if (this.unixNames !== null) return this.unixNames.peername;
    const s = this.socket;
    return ipAddr(s.remoteAddress, s.remotePort, s.remoteFamily);
  }

  setNoDelay(on: boolean): void {
    if (this.unixNames === null) this.socket.setNoDelay(on);
  }
}
