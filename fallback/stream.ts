// FallbackStreamEndpoint: the StreamEndpoint seam over a node:net Socket (allowHalfOpen, so
// EOF and half-close work as on a raw socket). Every sink call is followed by notify()
// (the proactor's host._runOnce()), as the seam requires after a batch of completions.
//
// Reading: startReading = resume (Node emits 'data' and, once the buffer is drained, 'end');
// stopReading = pause (Node emits neither while paused; libuv stops reading once the
// stream's buffer is full). Nothing is held here: what Node still emits goes to the sink.
// No readInto: node:net has no read into the caller's memory, so the transport copies each
// chunk into a BufferedProtocol's buffer (the one copy the uring backend avoids).
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
    this.sink!.onData(chunk);
    this.notify();
  };

  private readonly onEnd = (): void => {
    if (this.closeRequested) return;
    this.sink!.onEof();
    this.notify();
  };

  private readonly onError = (err: Error): void => {
    if (this.closeRequested) return;
    if (this.writing) {
      this.writing = false;
      this.sink!.onWriteDone(err);
    } else {
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

  startReading(): void {
    if (!this.closeRequested) this.socket.resume();
  }

  stopReading(): void {
    this.socket.pause();
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

  setKeepAlive(on: boolean, initialDelaySec: number): void {
    if (this.unixNames === null) this.socket.setKeepAlive(on, initialDelaySec * 1000);
  }
}
