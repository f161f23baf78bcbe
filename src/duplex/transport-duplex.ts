// TransportDuplex: a node:stream Duplex over a ringloop stream transport, shaped like a
// net.Socket (addresses, bytesRead/bytesWritten, setNoDelay, setKeepAlive, setTimeout,
// destroySoon, 'connect'/'timeout' events), so unchanged Node code (node:http, node:https,
// ws, undici) runs on ringloop connections. The duplex is the transport's protocol's face:
// its DuplexProtocol (below) takes the transport's protocol slot.
//
// Backpressure, both ways:
//   - writes: a write's callback is held while the transport has paused our writing
//     (pauseWriting), so write() returns false once writableHighWaterMark is queued behind
//     it, and 'drain' follows resumeWriting;
//   - reads: when push() returns false (the consumer is not keeping up) the transport's
//     reading is paused; _read() resumes it. The transport holds what arrives meanwhile.
// Ending:
//   - end() -> transport.writeEof() once what was written is queued (a TLS transport sends
//     close_notify); the peer's EOF ends the readable side; with allowHalfOpen false (the
//     default, as net.Socket) the duplex then ends its write side too, and the transport
//     closes itself once both directions are done.
//   - destroy(): abort (RST, what is queued is dropped), except after a clean end(): then
//     transport.close(), so what was written still leaves first (net.Socket's 'finish' waits
//     for the kernel to take the data; ours only for the transport to queue it).
//   - destroy(err) always aborts. The transport closing on its own (peer reset: an error
//     with Node's `code`) destroys the duplex with that error; a clean close ends the
//     readable side and destroys the duplex once its consumer has read everything.
// Exceptions thrown by 'data' listeners run inside the transport's protocol call, so they
// reach the loop's exception handler and abort the connection.
import { Duplex } from "node:stream";
import type { Transport } from "../transports.js";
import type { SockAddr } from "../events.js";
import { StreamTransport } from "../transports/stream.js";
import { describeType, argRangeError, argTypeError } from "../validate.js";

export interface TransportDuplexOptions {
  /** As net.Socket's (default false): the peer's EOF ends our write side too. */
  allowHalfOpen?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

type Callback = (error?: Error | null) => void;

function ipFamily(addr: SockAddr | null | undefined): "IPv4" | "IPv6" | undefined {
  if (addr === null || addr === undefined || typeof addr === "string") return undefined;
  return addr.family === 6 ? "IPv6" : "IPv4";
}

function pipeError(): Error {
  return Object.assign(new Error("This socket has been ended by the other party"), { code: "EPIPE" });
}

export class TransportDuplex extends Duplex {
  /** Bytes the transport delivered to this duplex. */
  bytesRead = 0;
  /** Bytes written through this duplex. */
  bytesWritten = 0;
  /** True while the connection is being made (connectDuplex), as net.Socket's. */
  connecting = true;
  /** True over a TLS transport (what node:http / Express read for req.secure). */
  encrypted = false;
  /** The ALPN protocol a TLS transport negotiated; false otherwise. */
  alpnProtocol: string | false = false;

  private transport: Transport | null = null;
  /** Work waiting for the transport (writes and end() made before the connection exists). */
  private waitingForTransport: Array<() => void> = [];
  /** The transport paused our writing: callbacks wait here until resumeWriting. */
  private writePaused = false;
  private heldCallbacks: Callback[] = [];
  /** We paused the transport's reading because push() returned false. */
  private readPaused = false;
  private transportLost = false;
  /** destroy() waits for the transport to close ('close' means the fd is closed, as net.Socket's). */
  private destroyDone: (() => void) | null = null;
  private timeoutMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: TransportDuplexOptions = {}) {
    super({
      allowHalfOpen: opts.allowHalfOpen ?? false,
      readableHighWaterMark: opts.readableHighWaterMark,
      writableHighWaterMark: opts.writableHighWaterMark,
      emitClose: true,
      autoDestroy: true,
    });
  }

  // ------------------------------------------------------------------ net.Socket-like surface

  get remoteAddress(): string | undefined {
    return this.addr("peername")?.host;
  }
  get remotePort(): number | undefined {
    return this.addr("peername")?.port;
  }
  get remoteFamily(): "IPv4" | "IPv6" | undefined {
    return ipFamily(this.transport?.getExtraInfo("peername") as SockAddr | undefined);
  }
  get localAddress(): string | undefined {
    return this.addr("sockname")?.host;
  }
  get localPort(): number | undefined {
    return this.addr("sockname")?.port;
  }
  get localFamily(): "IPv4" | "IPv6" | undefined {
    return ipFamily(this.transport?.getExtraInfo("sockname") as SockAddr | undefined);
  }
  /** net.Socket's readyState. */
  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }
  get pending(): boolean {
    return this.transport === null;
  }

  /** { address, family, port } of our end; {} for Unix sockets or before the connection. */
  address(): { address: string; family: string; port: number } | Record<string, never> {
    const name = this.addr("sockname");
    if (name === undefined) return {};
    return { address: name.host, family: name.family === 6 ? "IPv6" : "IPv4", port: name.port };
  }

  /** The ringloop transport under this duplex (null before the connection). */
  getTransport(): Transport | null {
    return this.transport;
  }

  setNoDelay(noDelay = true): this {
    this.whenTransport(() => {
      if (this.transport instanceof StreamTransport) this.transport._setNoDelay(noDelay !== false);
    });
    return this;
  }

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    if (typeof initialDelayMs !== "number" || !(initialDelayMs >= 0)) throw argTypeError(`The "initialDelay" argument must be a number >= 0 (ms). Received ${describeType(initialDelayMs)}`);
    this.whenTransport(() => {
      if (this.transport instanceof StreamTransport) this.transport._setKeepAlive(Boolean(enable), Math.floor(initialDelayMs / 1000));
    });
    return this;
  }

  /** As net.Socket: 'timeout' after `ms` without activity (0 turns it off); the caller ends the connection. */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) throw argRangeError(`The "msecs" argument must be a finite number >= 0. Received ${String(ms)}`);
    if (callback !== undefined) {
      if (typeof callback !== "function") throw argTypeError(`The "callback" argument must be a function. Received ${describeType(callback)}`);
      if (ms === 0) this.removeListener("timeout", callback);
      else this.once("timeout", callback);
    }
    this.timeoutMs = ms;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (ms > 0 && !this.destroyed) {
      this.timer = setTimeout(() => this.emit("timeout"), ms);
      this.timer.unref();
    }
    return this;
  }

  /** The idle timeout set by setTimeout (ms; 0 = none), as net.Socket's `timeout`. */
  get timeout(): number {
    return this.timeoutMs;
  }

  /** The ringloop loop keeps the process alive while it runs: nothing to (un)ref here. */
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  /** net.Socket.destroySoon: end, then destroy once finished (nothing written is lost). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  /** net.Socket.resetAndDestroy: abort with an RST. */
  resetAndDestroy(): this {
    this.transport?.abort();
    return this.destroy();
  }

  // ------------------------------------------------------------------ from the protocol

  /** @internal The transport is connected (DuplexProtocol.connectionMade). */
  _connected(transport: Transport): void {
    this.transport = transport;
    this.connecting = false;
    const ssl = transport.getExtraInfo("ssl_object") as { alpnProtocol?: string | false } | undefined;
    if (transport.getExtraInfo("sslcontext") !== undefined) {
      this.encrypted = true;
      this.alpnProtocol = ssl?.alpnProtocol ?? false;
    }
    if (this.destroyed) {
      transport.abort();
      return;
    }
    const waiting = this.waitingForTransport;
    this.waitingForTransport = [];
    for (const w of waiting) w();
    this.emit("connect");
    this.emit("ready");
  }

  /** @internal */
  _data(data: Buffer): void {
    this.bytesRead += data.length;
    this.touch();
    if (!this.push(data) && !this.readPaused && this.transport !== null) {
      this.readPaused = true;
      this.transport.pauseReading();
    }
  }

  /** @internal The peer's EOF; true keeps the transport's write side open for end(). */
  _eof(): boolean {
    this.push(null);
    return true;
  }

  /** @internal */
  _pauseWriting(): void {
    this.writePaused = true;
  }

  /** @internal */
  _resumeWriting(): void {
    this.writePaused = false;
    const held = this.heldCallbacks;
    this.heldCallbacks = [];
    for (const cb of held) cb();
  }

  /** @internal The transport is closed (exc: why, with Node's code). */
  _lost(exc: Error | null): void {
    this.transportLost = true;
    this.clearTimer();
    const destroyDone = this.destroyDone;
    if (destroyDone !== null) {
      this.destroyDone = null;
      destroyDone();
      return;
    }
    const held = this.heldCallbacks;
    this.heldCallbacks = [];
    if (exc !== null) {
      for (const cb of held) cb(exc);
      this.destroy(exc);
      return;
    }
    for (const cb of held) cb();
    if (this.destroyed) return;
    // A clean close: the consumer still reads what arrived, then the duplex goes.
    if (!this.readableEnded) {
      this.push(null);
      this.once("end", () => this.destroy());
    } else {
      this.destroy();
    }
  }

  // ------------------------------------------------------------------ Duplex implementation

  override _read(): void {
    if (this.readPaused && this.transport !== null) {
      this.readPaused = false;
      this.transport.resumeReading();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.whenTransport(() => this.send([chunk], callback));
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: Callback): void {
    this.whenTransport(() =>
      this.send(
        chunks.map((c) => c.chunk),
        callback,
      ),
    );
  }

  override _final(callback: Callback): void {
    this.whenTransport(() => {
      const t = this.transport!;
      if (!this.transportLost && !t.isClosing()) t.writeEof();
      callback();
    });
  }

  override _destroy(err: Error | null, callback: Callback): void {
    this.clearTimer();
    const held = this.heldCallbacks;
    this.heldCallbacks = [];
    for (const cb of held) cb(err ?? pipeError());
    const t = this.transport;
    if (t === null || this.transportLost) {
      callback(err);
      return;
    }
    // 'close' once the transport has closed (its connectionLost).
    this.destroyDone = () => callback(err);
    if (err === null && this.writableFinished) t.close();
    else t.abort();
  }

  private send(chunks: Buffer[], callback: Callback): void {
    const t = this.transport!;
    if (this.transportLost || t.isClosing()) {
      callback(pipeError());
      return;
    }
    let n = 0;
    for (const c of chunks) n += c.length;
    if (chunks.length === 1) t.write(chunks[0]);
    else t.writelines(chunks);
    this.bytesWritten += n;
    this.touch();
    if (this.writePaused) this.heldCallbacks.push(callback);
    else callback();
  }

  private whenTransport(work: () => void): void {
    if (this.transport !== null) work();
    else this.waitingForTransport.push(work);
  }

  private addr(which: "peername" | "sockname"): { host: string; port: number; family: 4 | 6 } | undefined {
    const a = this.transport?.getExtraInfo(which) as SockAddr | undefined;
    return a !== undefined && a !== null && typeof a === "object" ? (a as { host: string; port: number; family: 4 | 6 }) : undefined;
  }

  private touch(): void {
    this.timer?.refresh();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timeoutMs = 0;
  }
}
