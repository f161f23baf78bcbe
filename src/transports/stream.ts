// The stream transport (asyncio's _ProactorSocketTransport), written ONCE over the
// StreamEndpoint seam: it is the endpoint's StreamSink and turns completions into protocol
// calls. Both backends use it unchanged; any byte stream an endpoint can carry (a TCP or
// Unix socket, a pipe, a TLS session) gets the same flow control, pauseReading, writeEof and
// close rules from it.
//
// Kinds (StreamKind): a socket reads and writes; a pipe goes one way (asyncio's
// _UnixReadPipeTransport / _UnixWritePipeTransport), and the kind also names it in logs.
//   - Read-only (a read pipe): no write side (WriteEnd starts Shut, write() throws,
//     canWriteEof() is false), so the peer's EOF closes the transport after eofReceived().
//   - Write-only (a write pipe): no read side (pauseReading/resumeReading do nothing,
//     isReading() is false; data its endpoint reports is dropped). The endpoint's "reading"
//     is its watch for the reader going away, reported as onEof: the transport then
//     closes, quietly when nothing is buffered, with EPIPE (asyncio's BrokenPipeError) when
//     something is. writeEof() closes the transport once the queue has drained (the reader
//     then sees EOF), as asyncio's does.
//
// Writes (write-queue.ts): write() copies into shared staging memory. At most ONE
// endpoint.write() is in flight; everything queued meanwhile goes out as ONE
// endpoint.write(chunks) when it completes, or at the end of the loop iteration
// (loop._requestFlush) when nothing is in flight. So a burst of writes in one callback is one
// writev/sendmsg. A write made from dataReceived/bufferUpdated schedules nothing: the backend
// runs an iteration after each completion batch anyway, which saves one chained iteration
// (a microtask, pollNow, a timer check) per echoed message.
//
// Flow control (asyncio's rules): the write buffer size counts queued and in-flight bytes;
// pauseWriting() when it rises above `high`, resumeWriting() when it falls to `low` or
// below; no flow-control call once the endpoint is closing.
//
// Reading: the transport is the ONLY place data is held. An endpoint may still deliver data,
// EOF or an error after stopReading() (the seam allows it); data and EOF that arrive while
// the protocol has paused reading are held here, in order, and replayed by resumeReading(),
// so the protocol never sees data while paused. A read error is never held: a broken
// connection closes the transport at once. A BufferedProtocol reads straight into its own
// buffer where the endpoint has readInto(); elsewhere each chunk is copied into it.
//
// Lifecycle (Phase, one way):
//   Open --close()--> Draining (reading stopped; queued writes and a file in progress go
//   out first) --write side idle--> Closing (endpoint.close()/abort() issued; the sink hears
//   nothing more but onClosed) --onClosed--> Closed (connectionLost(exc) exactly once).
//   abort() and fatal errors go from Open or Draining straight to Closing (queue dropped).
// Write direction (WriteEnd): Open --writeEof()--> EofWanted --write side idle-->
//   EofSent (endpoint.shutdownWrite()) --onShutdownDone--> Shut.
// "Write side idle" (nothing queued, nothing in flight, no file) triggers ONE step,
// afterDrain(): Draining closes the endpoint, else EofWanted sends the EOF.
// Once the peer's EOF has been delivered AND our EOF is Shut, the transport closes itself
// (nothing more can happen; asyncio would leave it open until close()).
//
// Errors: ECONNRESET/EPIPE/ECONNABORTED/ESHUTDOWN (for pipes also EIO: a terminal whose other
// side closed) close quietly (debug log); other errors go to the exception handler first. An exception thrown by a protocol method reaches the
// exception handler with asyncio's context keys and closes the transport (abort), except
// from connectionLost, pauseWriting and resumeWriting, which are only reported.
//
// File mode (loop.sendfile): sendfile-mode.ts; while a file is being sent the write side
// belongs to it.
//
// Lifetime (held-weakly.ts): the endpoint reaches the transport only through a forwarding
// sink that holds it weakly, pinned while the transport has work in flight (reading wanted,
// a write, a file, a close). An idle transport nobody references (reading paused or ended,
// nothing to write) is garbage-collected: its endpoint is aborted, and in debug mode an
// "unclosed transport" warning names it, as asyncio's ResourceWarning does.
import type { StreamEndpoint, StreamSink } from "../proactor.js";
import type { Transport } from "../transports.js";
import type { BaseProtocol } from "../protocols.js";
import { captureStack, type ExceptionContext, type Handle } from "../events.js";
import * as util from "node:util";
import { logger, formatValue } from "../log.js";
import { TransportSocket } from "./socket.js";
import { WriteQueue, type QueuedWrite } from "./write-queue.js";
import { releaseStages } from "./write-stage.js";
import { FileMode, type FileModeTransport } from "./sendfile-mode.js";
import { HeldWeakly } from "./held-weakly.js";
import { trackUnclosed, untrack, type ResourceState } from "../resource-warnings.js";
import { DEFAULT_HIGH_WATER, WriteFlow } from "./write-limits.js";
import { Phase, TransportBase } from "./base.js";
import { systemError, errno } from "../system-error.js";
import { argRangeError, argTypeError } from "../validate.js";

/** What the transport needs from its loop (BaseEventLoop has all of it). */
export interface TransportLoop {
  callSoon(cb: (...args: any[]) => unknown, ...args: unknown[]): Handle;
  callExceptionHandler(context: ExceptionContext): void;
  getDebug(): boolean;
  /**
   * Call flusher._flush() at the end of the current (or next) loop iteration; with
   * inCompletion, the caller is inside a sink call the backend follows with _runOnce().
   */
  _requestFlush(flusher: { _flush(): void }, inCompletion?: boolean): void;
}

/** What a Server closes or aborts for closeClients()/abortClients(): a transport, or a TLS connection. */
export interface ServerClient {
  close(): void;
  abort(): void;
}

/** Told when a transport ends, so a Server can count its connections. */
export interface TransportOwner {
  _attach(client: ServerClient): void;
  _detach(client: ServerClient): void;
}

/** Quiet closes and EOFs are logged here only (NODE_DEBUG=ringloop). */
const debugLog = util.debuglog("ringloop");

export { DEFAULT_HIGH_WATER };
/** asyncio's default read size for BufferedProtocol.getBuffer(sizeHint). */
const BUFFERED_SIZE_HINT = 65536;

const QUIET_ERRORS: ReadonlySet<string> = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ESHUTDOWN"]);
const QUIET_PIPE_ERRORS: ReadonlySet<string> = new Set([...QUIET_ERRORS, "EIO"]);

/**
 * Errors that close a transport without reaching the exception handler (asyncio:
 * ConnectionResetError, BrokenPipeError, and ssl.SSLError, an OSError: a TLS alert or a
 * bad record from the peer, Node's ERR_SSL_* / ERR_TLS_* codes). `quiet`: the kind's set.
 */
export function isQuietError(err: unknown, quiet: ReadonlySet<string> = QUIET_ERRORS): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (quiet.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_"));
}

/** What the endpoint carries: its directions, how logs name it, which errors close quietly (see the header). */
export interface StreamKind {
  /** toString's class name. */
  readonly label: string;
  /** How log and exception-handler messages name it ("socket transport", "pipe transport"). */
  readonly noun: string;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly quiet: ReadonlySet<string>;
}

export const SOCKET_KIND: StreamKind = { label: "StreamTransport", noun: "socket transport", readable: true, writable: true, quiet: QUIET_ERRORS };
export const READ_PIPE_KIND: StreamKind = { label: "ReadPipeTransport", noun: "pipe transport", readable: true, writable: false, quiet: QUIET_PIPE_ERRORS };
export const WRITE_PIPE_KIND: StreamKind = { label: "WritePipeTransport", noun: "pipe transport", readable: false, writable: true, quiet: QUIET_PIPE_ERRORS };

const enum WriteEnd {
  Open,
  EofWanted,
  EofSent,
  Shut,
}

interface StreamProtocol extends BaseProtocol {
  dataReceived?(data: Buffer): void;
  eofReceived?(): boolean | void;
  getBuffer?(sizeHint: number): Uint8Array;
  bufferUpdated?(nbytes: number): void;
}

function isBuffered(p: StreamProtocol): boolean {
  return typeof p.getBuffer === "function" && typeof p.bufferUpdated === "function";
}

function validateData(data: unknown, name: string): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw argTypeError(`The "${name}" argument must be a Buffer or Uint8Array. Received ${data === null ? "null" : typeof data}`);
  }
}

export class StreamTransport extends TransportBase<StreamProtocol> implements Transport, StreamSink, FileModeTransport {
  private readonly loop: TransportLoop;
  private readonly endpoint: StreamEndpoint;
  private owner: TransportOwner | null;
  /** How the endpoint reaches this transport (see Lifetime in the header). */
  private readonly weakSelf: HeldWeakly<StreamTransport>;
  private pinned = false;
  private readonly resource: ResourceState;

  private writeEnd = WriteEnd.Open;
  /** connectionMade has run (a transport closed before it never calls connectionLost). */
  private started = false;
  private lostExc: Error | null = null;

  // ---- write side
  private readonly out = new WriteQueue();
  /** @internal A write op is in flight (a queued write, a file chunk or a native sendfile). */
  _writing = false;
  private flushRequested = false;
  /** Inside onData/onReadInto: the backend runs an iteration right after (seam rule). */
  private inCompletion = false;
  private readonly flow: WriteFlow;
  private writesAfterClose = 0;
  private file: FileMode | null = null;

  // ---- read side
  /** Reading wanted by the protocol (pauseReading/resumeReading). */
  private reading = true;
  /** The endpoint is delivering (startReading, or a readInto in flight). */
  private endpointReading = false;
  private readIntoBuf: Uint8Array | null = null;
  /** Data (or EOF: null) that arrived while paused, replayed on resumeReading. */
  private pending: Array<Buffer | null> = [];
  /** The peer's EOF has been delivered to the protocol. */
  private eofReceived = false;

  /**
   * `callConnectionMade` false: the protocol is already connected (loop.startTls hands the
   * protocol of the upgraded transport over; asyncio's call_connection_made=False).
   * `kind`: see Kinds in the header. `held`: bytes read from the stream before this
   * transport took it (a Node stream's buffer, pipes.ts), delivered before anything the
   * endpoint reads.
   */
  constructor(
    loop: TransportLoop,
    endpoint: StreamEndpoint,
    protocol: unknown,
    extra: Record<string, unknown>,
    owner: TransportOwner | null = null,
    private readonly callConnectionMade = true,
    private readonly kind: StreamKind = SOCKET_KIND,
    held: Buffer[] = [],
  ) {
    super(protocol, extra);
    this.loop = loop;
    this.endpoint = endpoint;
    this.owner = owner;
    if (!kind.writable) this.writeEnd = WriteEnd.Shut;
    if (kind.readable) this.pending = held.slice();
    this.flow = new WriteFlow((context) => loop.callExceptionHandler(context), this);
    this.weakSelf = new HeldWeakly<StreamTransport>(this);
    endpoint.setSink(new WeakStreamSink(this.weakSelf));
    const debug = loop.getDebug();
    this.resource = { what: `transport ${this}`, debug, cleanup: () => endpoint.abort() };
    if (debug) this.resource.createdAt = captureStack(3);
    trackUnclosed(this, this.resource);
    this.syncPin();
    owner?._attach(this);
    // asyncio: connection_made is called via call_soon, reading starts after it.
    loop.callSoon(this.start);
  }

  /** Builds the extra info asyncio gives a socket transport: peername, sockname, socket. */
  static extraFor(endpoint: StreamEndpoint): Record<string, unknown> {
    const sockname = endpoint.sockname();
    const peername = endpoint.peername();
    return { sockname, peername, socket: new TransportSocket(endpoint.fd, sockname, peername) };
  }

  private readonly start = (): void => {
    if (this.phase === Phase.Closed) return;
    this.started = true;
    try {
      if (this.callConnectionMade) this.protocol.connectionMade(this);
    } catch (exc) {
      this.fatal(exc, "Fatal error: protocol.connectionMade() call failed.");
      return;
    }
    if (this.pending.length > 0) this.replayHeld();
    else this.startEndpointReading();
  };

  // ------------------------------------------------------------------ BaseTransport (isClosing, getExtraInfo, setProtocol, getProtocol: base.ts)

  /** Flushes what is queued, then closes; connectionLost(null) once, after the fd is closed. */
  close(): void {
    if (this.phase !== Phase.Open) return;
    this.phase = Phase.Draining;
    this.stopEndpointReading();
    this.pending = [];
    if (this.writeSideIdle()) this.afterDrain();
  }

  // ------------------------------------------------------------------ ReadTransport

  isReading(): boolean {
    return this.kind.readable && this.reading && this.phase === Phase.Open;
  }

  pauseReading(): void {
    if (this.phase !== Phase.Open || !this.reading || !this.kind.readable) return;
    this.reading = false;
    this.stopEndpointReading();
    this.syncPin();
  }

  resumeReading(): void {
    if (this.phase !== Phase.Open || this.reading || !this.kind.readable) return;
    this.reading = true;
    this.syncPin();
    if (this.pending.length > 0) this.loop.callSoon(this.replayHeld);
    else if (this.started) this.startEndpointReading();
  }

  private readonly replayHeld = (): void => {
    while (this.pending.length > 0 && this.reading && this.phase === Phase.Open) {
      const item = this.pending.shift()!;
      if (item === null) this.deliverEof();
      else this.deliverData(item);
    }
    if (this.pending.length === 0) this.startEndpointReading();
  };

  private startEndpointReading(): void {
    if (this.endpointReading || this.eofReceived || this.phase !== Phase.Open || !this.reading) return;
    this.endpointReading = true;
    if (this.kind.readable && isBuffered(this.protocol) && this.endpoint.readInto !== undefined) this.readIntoNext();
    else this.endpoint.startReading();
  }

  private stopEndpointReading(): void {
    if (!this.endpointReading) return;
    // A readInto in flight cannot be recalled; its result is held (see onReadInto).
    if (this.readIntoBuf === null) {
      this.endpointReading = false;
      this.endpoint.stopReading();
    }
  }

  private readIntoNext(): void {
    let buf: Uint8Array;
    try {
      buf = this.protocol.getBuffer!(BUFFERED_SIZE_HINT);
      if (!(buf instanceof Uint8Array)) throw argTypeError(`getBuffer() must return a Uint8Array. Received ${typeof buf}`, "ERR_INVALID_RETURN_VALUE");
      if (buf.length === 0) throw argRangeError("getBuffer() returned an empty buffer", "ERR_INVALID_RETURN_VALUE");
    } catch (exc) {
      this.endpointReading = false;
      this.fatal(exc, "Fatal error: protocol.getBuffer() call failed.");
      return;
    }
    this.readIntoBuf = buf;
    this.endpoint.readInto!(buf);
  }

  /** Data may be delivered now: reading wanted, and nothing held still to replay first. */
  private deliverable(): boolean {
    return this.reading && this.pending.length === 0;
  }

  // ------------------------------------------------------------------ StreamSink (reads)

  onData(data: Buffer): void {
    if (this.phase !== Phase.Open || !this.kind.readable) return; // a write pipe's reader may write back (a socket pair): dropped
    if (!this.deliverable()) {
      this.pending.push(data);
      return;
    }
    this.inCompletion = true;
    this.deliverData(data);
    this.inCompletion = false;
  }

  onReadInto(nbytes: number): void {
    const buf = this.readIntoBuf!;
    this.readIntoBuf = null;
    this.endpointReading = false;
    if (this.phase !== Phase.Open) return;
    if (nbytes === 0) {
      this.onEof();
      return;
    }
    if (!this.deliverable() || !isBuffered(this.protocol)) {
      // Paused (or held data still to replay first), or the protocol was switched to a
      // plain Protocol during the read: the bytes leave the protocol's buffer as a copy.
      this.onData(Buffer.from(buf.subarray(0, nbytes)));
      this.startEndpointReading();
      return;
    }
    try {
      this.inCompletion = true;
      this.protocol.bufferUpdated!(nbytes);
    } catch (exc) {
      this.inCompletion = false;
      this.fatal(exc, "Fatal error: protocol.bufferUpdated() call failed.");
      return;
    }
    this.inCompletion = false;
    this.startEndpointReading();
  }

  onEof(): void {
    this.endpointReading = false;
    if (this.phase !== Phase.Open) return;
    if (!this.kind.readable) {
      this.readerGone();
      return;
    }
    if (!this.deliverable()) {
      this.pending.push(null);
      return;
    }
    this.deliverEof();
  }

  onReadError(err: Error): void {
    this.endpointReading = false;
    if (this.phase >= Phase.Closing) return;
    if (isQuietError(err, this.kind.quiet)) {
      debugLog(`${this}: ${formatValue(err)}`);
      this.forceClose(err);
    } else {
      this.fatal(err, `Fatal read error on ${this.kind.noun}`);
    }
  }

  /** Write-only: the reader went away (asyncio's _UnixWritePipeTransport._read_ready). */
  private readerGone(): void {
    this.eofReceived = true;
    debugLog(`${this} was closed by peer`);
    if (this.writeSideIdle()) this.close();
    else this.forceClose(systemError(errno.EPIPE, "write"));
  }

  private deliverData(data: Buffer): void {
    const p = this.protocol;
    try {
      if (isBuffered(p)) this.feedBuffered(p, data);
      else p.dataReceived?.(data);
    } catch (exc) {
      this.fatal(exc, "Fatal error: protocol.dataReceived() call failed.");
    }
  }

  /** Copies `data` into the BufferedProtocol's buffers (getBuffer / bufferUpdated until all is in). */
  private feedBuffered(p: StreamProtocol, data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      const buf = p.getBuffer!(data.length - off);
      if (!(buf instanceof Uint8Array) || buf.length === 0) throw argRangeError("getBuffer() returned an empty buffer", "ERR_INVALID_RETURN_VALUE");
      const n = Math.min(buf.length, data.length - off);
      buf.set(data.subarray(off, off + n));
      off += n;
      p.bufferUpdated!(n);
    }
  }

  private deliverEof(): void {
    this.eofReceived = true;
    this.endpointReading = false;
    this.syncPin();
    debugLog(`${this} received EOF`);
    let keepOpen: boolean | void;
    try {
      keepOpen = this.protocol.eofReceived?.();
    } catch (exc) {
      this.fatal(exc, "Fatal error: protocol.eofReceived() call failed.");
      return;
    }
    if (!keepOpen || this.writeEnd === WriteEnd.Shut) this.close();
  }

  // ------------------------------------------------------------------ WriteTransport

  write(data: Uint8Array): void {
    validateData(data, "data");
    if (this.writeEnd !== WriteEnd.Open) throw this.writeClosedError("write");
    if (data.length === 0) return;
    if (this.phase >= Phase.Closing) {
      // asyncio: the data is dropped, with a warning after a few attempts.
      if (++this.writesAfterClose === 5) logger.warning("socket.send() raised exception.");
      return;
    }
    this.out.append(data);
    if (!this._writing && !this.flushRequested) {
      this.flushRequested = true;
      this.loop._requestFlush(this, this.inCompletion);
    }
    this.maybePauseProtocol();
  }

  writelines(list: Iterable<Uint8Array>): void {
    if (list === null || typeof (list as Iterable<Uint8Array>)?.[Symbol.iterator] !== "function") {
      throw argTypeError(`The "list" argument must be an iterable of Buffers. Received ${list === null ? "null" : typeof list}`);
    }
    for (const data of list) this.write(data);
  }

  canWriteEof(): boolean {
    return this.kind.writable;
  }

  /** Half-close once the queue has drained; the peer reads everything first. Write-only: close. */
  writeEof(): void {
    if (this.phase !== Phase.Open || this.writeEnd !== WriteEnd.Open) return;
    this.writeEnd = WriteEnd.EofWanted;
    if (!this.kind.readable) this.close();
    else if (this.writeSideIdle()) this.afterDrain();
  }

  private writeClosedError(method: string): Error {
    return new Error(this.kind.writable ? `Cannot call ${method}() after writeEof()` : `Cannot call ${method}() on a read-only ${this.kind.noun}`);
  }

  abort(): void {
    this.forceClose(null);
  }

  getWriteBufferSize(): number {
    return this.out.queued + this.out.inFlight + (this.file?.beforeBytes ?? 0);
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return this.flow.limits();
  }

  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    this.flow.setLimits(high, low);
    this.maybePauseProtocol();
  }

  // ------------------------------------------------------------------ writes

  /** @internal The loop calls this at the end of the iteration a write was queued in. */
  _flush(): void {
    this.flushRequested = false;
    if (this._writing || this.out.queued === 0 || this.phase >= Phase.Closing || this.file !== null) return;
    this._issueQueued(this.out.take());
  }

  /** @internal Hands `w` to the endpoint as the write in flight. */
  _issueQueued(w: QueuedWrite): void {
    this.out.start(w);
    this.issuing();
    this.endpoint.write(w.chunks);
  }

  /** A write op goes to the endpoint now (it keeps this transport alive until it completes). */
  private issuing(): void {
    this._writing = true;
    if (!this.pinned) this.syncPin();
  }

  /**
   * Pinned (kept alive by the endpoint) while there is work in flight: reading wanted and
   * not ended, a write, a file, or a close (see Lifetime in the header).
   */
  private syncPin(): void {
    const active =
      this.phase === Phase.Closing || (this.phase !== Phase.Closed && ((this.reading && !this.eofReceived) || this._writing || this.file !== null));
    if (active === this.pinned) return;
    this.pinned = active;
    this.weakSelf.pin(active ? this : null);
  }

  private writeSideIdle(): boolean {
    return !this._writing && this.out.queued === 0 && this.file === null;
  }

  /** The write side went idle: the one step that waited for it (see the header). */
  private afterDrain(): void {
    if (this.phase === Phase.Draining) this.closeEndpoint(null, false);
    else if (this.writeEnd === WriteEnd.EofWanted) {
      this.writeEnd = WriteEnd.EofSent;
      this.endpoint.shutdownWrite();
    }
  }

  onWriteDone(err: Error | null): void {
    this._writing = false;
    this.out.done();
    if (this.phase >= Phase.Closing) return;
    if (this.pinned) this.syncPin();
    if (err !== null) {
      if (this.file !== null) this.file.error = err;
      if (isQuietError(err, this.kind.quiet)) {
        debugLog(`${this}: ${formatValue(err)}`);
        this.forceClose(err);
      } else {
        this.fatal(err, `Fatal write error on ${this.kind.noun}`);
      }
      return;
    }
    if (this.file !== null) this.file.stepDone(0);
    else if (this.out.queued > 0) this._flush();
    else this.afterDrain();
    this.maybeResumeProtocol();
  }

  onShutdownDone(err: Error | null): void {
    if (this.phase >= Phase.Closing) return;
    if (err === null) {
      this.writeEnd = WriteEnd.Shut;
      // Both directions are finished: nothing more can happen on this connection.
      if (this.eofReceived) this.close();
      return;
    }
    if (isQuietError(err, this.kind.quiet) || (err as { code?: string }).code === "ENOTCONN") this.forceClose(err);
    else this.fatal(err, `Fatal error on ${this.kind.noun}: shutdown() failed`);
  }

  private maybePauseProtocol(): void {
    this.flow.maybePause(this.getWriteBufferSize(), this.protocol);
  }

  private maybeResumeProtocol(): void {
    if (this.phase < Phase.Closing) this.flow.maybeResume(this.getWriteBufferSize(), this.protocol);
  }


  // ------------------------------------------------------------------ closing

  private fatal(exc: unknown, message: string): void {
    if (isQuietError(exc, this.kind.quiet)) {
      debugLog(`${this}: ${message}: ${formatValue(exc)}`);
    } else {
      this.loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this.protocol });
    }
    this.forceClose(exc instanceof Error ? exc : new Error(String(exc)));
  }

  /** Closes without the drain: what is queued is dropped, the endpoint aborted. */
  private forceClose(exc: Error | null): void {
    if (this.phase >= Phase.Closing) return;
    this.pending = [];
    this.out.drop();
    this.closeEndpoint(exc, true);
  }

  private closeEndpoint(exc: Error | null, abort: boolean): void {
    this.phase = Phase.Closing;
    this.lostExc = exc;
    this.endpointReading = false;
    this.syncPin();
    if (abort) this.endpoint.abort();
    else this.endpoint.close();
  }

  onClosed(): void {
    if (this.phase === Phase.Closed) return;
    this.phase = Phase.Closed;
    this._writing = false;
    untrack(this.resource);
    this.syncPin();
    // Every op has completed: the regions of a write that never reported are free now.
    this.out.done();
    this.out.drop();
    const before = this.file?.closed(this.lostExc ?? closedDuringSendfile(this)) ?? null;
    if (before !== null) releaseStages(before.stages);
    if (this.started) {
      try {
        this.protocol.connectionLost(this.lostExc);
      } catch (exc) {
        this.loop.callExceptionHandler({ message: "Exception in protocol.connectionLost()", exception: exc, transport: this, protocol: this.protocol });
      }
    }
    const owner = this.owner;
    this.owner = null;
    owner?._detach(this);
  }

  // ------------------------------------------------------------------ socket options (TransportDuplex)

  /** @internal TCP_NODELAY on the connection's socket (a no-op on Unix sockets and after close). */
  _setNoDelay(on: boolean): void {
    if (this.phase < Phase.Closing) this.endpoint.setNoDelay(on);
  }

  /** @internal SO_KEEPALIVE (and the idle time before the first probe, in whole seconds, when > 0). */
  _setKeepAlive(on: boolean, initialDelaySec: number): void {
    if (this.phase < Phase.Closing) this.endpoint.setKeepAlive?.(on, initialDelaySec);
  }

  // ------------------------------------------------------------------ file mode (sendfile-mode.ts)

  /** @internal True when the endpoint can send a file itself (loop.sendfile's native path). */
  _hasNativeSendfile(): boolean {
    return typeof this.endpoint.sendfile === "function";
  }

  /**
   * @internal Bytes of the file being sent that have reached the socket so far (0 outside
   * sendfile): a caller can tell a stalled send (the peer stopped reading) from a slow one.
   */
  _fileProgress(): number {
    return this.file?.progress(this.endpoint.sendfileProgress?.() ?? 0) ?? 0;
  }

  /** @internal Runs `body` with the write side given to a file (sendfile-mode.ts). */
  async _sendfile<T>(body: () => Promise<T>): Promise<T> {
    if (this.phase !== Phase.Open) throw new Error(`sendfile: ${this} is closing`);
    if (this.file !== null) throw new Error(`sendfile: ${this} is already sending a file`);
    if (this.writeEnd !== WriteEnd.Open) throw this.writeClosedError("sendfile");
    const file = new FileMode(this, this.reading);
    this.file = file;
    this.syncPin();
    this.pauseReading();
    try {
      await file.begin(this.out.queued > 0 ? this.out.take() : null);
      return await body();
    } finally {
      this.file = null;
      this.fileEnded(file);
      this.syncPin();
    }
  }

  /** @internal Sends `chunk` (owned by the endpoint until the promise settles). */
  _fileWrite(chunk: Uint8Array): Promise<number> {
    return this.fileInProgress().write(chunk);
  }

  /** @internal The endpoint sends `count` bytes of `fd` from `offset`; resolves to the bytes sent. */
  _fileNative(fd: number, offset: number, count: number): Promise<number> {
    return this.fileInProgress().sendNative(fd, offset, count);
  }

  /** @internal */
  _issueChunk(chunk: Uint8Array): void {
    this.issuing();
    this.endpoint.write([chunk]);
  }

  /** @internal */
  _issueNative(fd: number, offset: number, count: number): void {
    this.issuing();
    this.endpoint.sendfile!(fd, offset, count);
  }

  /** @internal */
  _sendBlocker(): Error | null {
    return this.phase >= Phase.Closing ? (this.lostExc ?? closedDuringSendfile(this)) : null;
  }

  onSendfileDone(sent: number, err: Error | null): void {
    this._writing = false;
    if (this.file !== null) this.file.native = false;
    if (this.phase >= Phase.Closing) return;
    this.syncPin();
    if (err !== null) {
      (err as Error & { bytesSent?: number }).bytesSent = sent;
      this.onWriteDone(err);
      return;
    }
    this.file?.stepDone(sent);
  }

  private fileInProgress(): FileMode {
    if (this.file === null) throw new Error("sendfile: the transport is not ready for the next part of the file");
    return this.file;
  }

  /** The file is out (or failed): writes made meanwhile or the step that waited, then reading. */
  private fileEnded(file: FileMode): void {
    if (this.phase >= Phase.Closing) return;
    if (this.out.queued > 0) this._flush();
    else this.afterDrain();
    this.maybeResumeProtocol();
    if (file.wasReading && this.phase === Phase.Open) this.resumeReading();
  }

  override toString(): string {
    return `<${this.kind.label} fd=${this.endpoint.fd} ${this.phaseName()}>`;
  }
}

/** The sink the endpoint holds: forwards to the transport, reached weakly (held-weakly.ts). */
class WeakStreamSink implements StreamSink {
  constructor(private readonly target: HeldWeakly<StreamTransport>) {}
  onData(data: Buffer): void {
    this.target.get()?.onData(data);
  }
  onReadInto(nbytes: number): void {
    this.target.get()?.onReadInto(nbytes);
  }
  onEof(): void {
    this.target.get()?.onEof();
  }
  onReadError(err: Error): void {
    this.target.get()?.onReadError(err);
  }
  onWriteDone(err: Error | null): void {
    this.target.get()?.onWriteDone(err);
  }
  onShutdownDone(err: Error | null): void {
    this.target.get()?.onShutdownDone(err);
  }
  onSendfileDone(sent: number, err: Error | null): void {
    this.target.get()?.onSendfileDone(sent, err);
  }
  onClosed(): void {
    this.target.get()?.onClosed();
  }
}

function closedDuringSendfile(transport: StreamTransport): Error {
  const err = new Error(`sendfile: ${transport} was closed before the file was sent`) as Error & { code: string };
  err.code = "ERR_TRANSPORT_CLOSED";
  return err;
}
