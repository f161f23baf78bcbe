// The stream transport (asyncio's _ProactorSocketTransport), written ONCE over the
// StreamEndpoint seam; it is the endpoint's StreamSink and turns completions into protocol
// calls. Both backends use it unchanged.
//
// Writes: write() COPIES the data into staging memory shared by all transports and reused
// (write-stage.ts: measured there, far cheaper than a fresh Buffer per write), so the
// caller may change its Buffer right after; keeping the caller's Buffer instead cannot be
// made safe in JS. Consecutive writes of one transport with no other transport's write
// between them are contiguous, so a burst of small writes becomes ONE chunk. At
// most ONE endpoint.write() is in flight; everything queued meanwhile goes out as ONE
// endpoint.write(chunks) when it completes, or at the end of the loop iteration
// (loop._requestFlush) when nothing is in flight. So a burst of writes in one callback
// is one writev/sendmsg. A write made from dataReceived/bufferUpdated schedules nothing:
// the backend runs an iteration after each completion batch anyway, so this saves one
// chained iteration (a microtask, pollNow, a timer check) per echoed message.
//
// Flow control (asyncio's rules): the write buffer size counts queued and in-flight bytes;
// pauseWriting() when it rises above `high`, resumeWriting() when it falls to `low` or
// below. pauseReading() stops the endpoint and holds anything still arriving until
// resumeReading(), so the protocol sees no data while paused.
//
// States: open -> closing (close(): flush, then endpoint.close()) -> closed (onClosed:
// connectionLost(exc) exactly once). abort() and fatal errors skip the flush. Once the
// peer's EOF has arrived AND our writeEof() shutdown has completed, the transport closes
// itself (nothing more can happen; asyncio would leave it open until close()).
// ECONNRESET/EPIPE/ECONNABORTED close quietly (debug log); other errors go to the exception
// handler first. An exception thrown by a protocol method reaches the exception handler
// with asyncio's context keys and closes the transport (abort), except from
// connectionLost, pauseWriting and resumeWriting, which are only reported.
//
// File mode (loop.sendfile, asyncio's _sendfile_native/_make_empty_waiter; src/sendfile.ts):
// _sendfile(body) refuses a closing transport or a second file, pauses reading (resumed
// after if it was reading), sets aside what is queued and sends it first, then runs `body`,
// which sends the file through _fileWrite (generic) or _fileNative (the endpoint's own
// sendfile). While in file mode the write side belongs to the file: write() queues behind
// it and the flush waits until the file is out (byte order); close() and writeEof() take
// effect after it. A write error closes the transport as any write error does; the body's
// pending call rejects at onClosed (every op has completed by then, so the caller may
// release the file), with that error, or with a "closed during sendfile" error after
// abort().
import type { StreamEndpoint, StreamSink } from "../proactor.js";
import type { SockAddr } from "../events.js";
import type { Transport } from "../transports.js";
import type { BaseProtocol } from "../protocols.js";
import type { ExceptionContext, Handle } from "../events.js";
import * as util from "node:util";
import { logger, formatValue } from "../log.js";
import { TransportSocket } from "./socket.js";
import { takeRegion, releaseStages, STAGE_SIZE, type Stage } from "./write-stage.js";

/** The write side while a file is being sent (see the header). */
interface FileMode {
  wasReading: boolean;
  /** Queued before the sendfile began: goes out ahead of the file. */
  before: { chunks: Uint8Array[]; stages: Stage[]; bytes: number } | null;
  /** The step being waited for: the drain, one chunk, or the native send. */
  waiter: { resolve(n: number): void; reject(e: Error): void } | null;
  /** A write error seen in file mode (the waiter rejects with it at onClosed). */
  error: Error | null;
  /** File bytes sent by completed steps, and the size of the chunk write in flight. */
  sent: number;
  chunk: number;
  /** The endpoint's own sendfile is in flight (its progress: endpoint.sendfileProgress). */
  native: boolean;
}

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

/** Told when a transport ends, so a Server can count its connections. */
export interface TransportOwner {
  _attach(transport: StreamTransport): void;
  _detach(transport: StreamTransport): void;
}

/** Quiet closes and EOFs are logged here only (NODE_DEBUG=ringloop). */
const debugLog = util.debuglog("ringloop");

export const DEFAULT_HIGH_WATER = 64 * 1024;
/** asyncio's default read size for BufferedProtocol.getBuffer(sizeHint). */
const BUFFERED_SIZE_HINT = 65536;

const QUIET_ERRORS = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ESHUTDOWN"]);

/** Errors that close a transport without reaching the exception handler (asyncio: ConnectionResetError, BrokenPipeError). */
export function isQuietError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && QUIET_ERRORS.has(code);
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
    throw new TypeError(`The "${name}" argument must be a Buffer or Uint8Array. Received ${data === null ? "null" : typeof data}`);
  }
}

function validateProtocol(protocol: unknown): asserts protocol is StreamProtocol {
  if (protocol === null || typeof protocol !== "object") {
    throw new TypeError(`The "protocol" argument must be a protocol object. Received ${protocol === null ? "null" : typeof protocol}`);
  }
}

export class StreamTransport implements Transport, StreamSink {
  private readonly loop: TransportLoop;
  private readonly endpoint: StreamEndpoint;
  private protocol: StreamProtocol;
  private owner: TransportOwner | null;
  private readonly extra: Record<string, unknown>;

  /** Chunks queued (views of stages), not yet handed to the endpoint. */
  private queue: Uint8Array[] = [];
  private queued = 0;
  /**
   * The stage this transport appends to: bytes [stageStart, stageEnd) are queued but not
   * yet in `queue`; appending goes on in place while stage.used === stageEnd (no other
   * transport wrote since).
   */
  private stage: Stage | null = null;
  private stageStart = 0;
  private stageEnd = 0;
  /** One entry per region taken for the queued bytes (the current stage's included). */
  private queuedStages: Stage[] = [];
  /** The regions the endpoint owns until the write in flight completes. */
  private inFlightStages: Stage[] = [];
  private inFlight = 0;
  private writing = false;
  private flushRequested = false;
  /** Inside onData/onReadInto: the backend runs an iteration right after (seam rule). */
  private inCompletion = false;
  private high = DEFAULT_HIGH_WATER;
  private low = DEFAULT_HIGH_WATER / 4;
  private protocolPaused = false;

  /** Reading wanted by the protocol (pauseReading/resumeReading). */
  private reading = true;
  /** The endpoint is delivering (startReading or a readInto in flight). */
  private endpointReading = false;
  private started = false;
  private readIntoBuf: Uint8Array | null = null;
  /** Data (or EOF: null) that arrived while paused, replayed on resumeReading. */
  private held: Array<Buffer | null> = [];
  private eofReceived = false;

  private closing = false;
  private eofRequested = false;
  private eofSent = false;
  private shutdownDone = false;
  private endpointClosing = false;
  private lost = false;
  private lostExc: Error | null = null;
  private writesAfterClose = 0;
  private file: FileMode | null = null;

  constructor(loop: TransportLoop, endpoint: StreamEndpoint, protocol: unknown, extra: Record<string, unknown>, owner: TransportOwner | null = null) {
    validateProtocol(protocol);
    this.loop = loop;
    this.endpoint = endpoint;
    this.protocol = protocol;
    this.owner = owner;
    this.extra = extra;
    endpoint.setSink(this);
    owner?._attach(this);
    // asyncio: connection_made is called via call_soon, reading starts after it.
    loop.callSoon(this.start);
  }

  /** Builds the extra info asyncio gives: peername, sockname, socket. */
  static extraFor(endpoint: StreamEndpoint): Record<string, unknown> {
    const sockname = endpoint.sockname();
    const peername = endpoint.peername();
    return { sockname, peername, socket: new TransportSocket(endpoint.fd, sockname, peername) };
  }

  private readonly start = (): void => {
    if (this.lost) return;
    this.started = true;
    try {
      this.protocol.connectionMade(this);
    } catch (exc) {
      this.fatal(exc, "Fatal error: protocol.connectionMade() call failed.");
      return;
    }
    this.startEndpointReading();
  };

  // ------------------------------------------------------------------ BaseTransport

  isClosing(): boolean {
    return this.closing;
  }

  getExtraInfo(name: string, defaultValue: unknown = undefined): unknown {
    return Object.prototype.hasOwnProperty.call(this.extra, name) && this.extra[name] !== null ? this.extra[name] : defaultValue;
  }

  setProtocol(protocol: BaseProtocol): void {
    validateProtocol(protocol);
    this.protocol = protocol;
  }

  getProtocol(): BaseProtocol {
    return this.protocol;
  }

  /** Flushes what is queued, then closes; connectionLost(null) once, after the fd is closed. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.stopEndpointReading();
    this.held = [];
    if (!this.writing && this.queued === 0 && this.file === null) this.closeEndpoint(null);
  }

  // ------------------------------------------------------------------ ReadTransport

  isReading(): boolean {
    return this.reading && !this.closing;
  }

  pauseReading(): void {
    if (this.closing || !this.reading) return;
    this.reading = false;
    this.stopEndpointReading();
  }

  resumeReading(): void {
    if (this.closing || this.reading) return;
    this.reading = true;
    if (this.held.length > 0) this.loop.callSoon(this.replayHeld);
    else if (this.started) this.startEndpointReading();
  }

  private readonly replayHeld = (): void => {
    while (this.held.length > 0 && this.reading && !this.closing) {
      const item = this.held.shift()!;
      if (item === null) this.deliverEof();
      else this.deliverData(item);
    }
    if (this.held.length === 0 && this.reading && !this.closing && !this.eofReceived) this.startEndpointReading();
  };

  private startEndpointReading(): void {
    if (this.endpointReading || this.eofReceived || this.closing || !this.reading) return;
    this.endpointReading = true;
    if (isBuffered(this.protocol)) this.readIntoNext();
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
      if (!(buf instanceof Uint8Array)) throw new TypeError(`getBuffer() must return a Uint8Array. Received ${typeof buf}`);
      if (buf.length === 0) throw new RangeError("getBuffer() returned an empty buffer");
    } catch (exc) {
      this.endpointReading = false;
      this.fatal(exc, "Fatal error: protocol.getBuffer() call failed.");
      return;
    }
    this.readIntoBuf = buf;
    this.endpoint.readInto(buf);
  }

  // ------------------------------------------------------------------ StreamSink (reads)

  onData(data: Buffer): void {
    if (this.lost || this.closing) return;
    // Held data not yet replayed comes first: order is never changed.
    if (!this.reading || this.held.length > 0) {
      this.held.push(data);
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
    if (this.lost || this.closing) return;
    if (nbytes === 0) {
      this.onEof();
      return;
    }
    if (!this.reading || this.held.length > 0 || !isBuffered(this.protocol)) {
      // Paused (or held data still to replay first), or the protocol was switched to a
      // plain Protocol during the read.
      const copy = Buffer.from(buf.buffer, buf.byteOffset, nbytes);
      if (!this.reading || this.held.length > 0) this.held.push(Buffer.from(copy));
      else this.deliverData(Buffer.from(copy));
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
    if (this.lost || this.closing) return;
    if (!this.reading || this.held.length > 0) {
      this.held.push(null);
      return;
    }
    this.deliverEof();
  }

  /** Not held while paused: a broken connection closes the transport at once. */
  onReadError(err: Error): void {
    this.endpointReading = false;
    if (this.lost || this.endpointClosing) return;
    this.readFailed(err);
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

  /** Data that arrived for a plain Protocol but is now owned by a BufferedProtocol. */
  private feedBuffered(p: StreamProtocol, data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      const buf = p.getBuffer!(data.length - off);
      if (!(buf instanceof Uint8Array) || buf.length === 0) throw new RangeError("getBuffer() returned an empty buffer");
      const n = Math.min(buf.length, data.length - off);
      buf.set(data.subarray(off, off + n));
      off += n;
      p.bufferUpdated!(n);
    }
  }

  private deliverEof(): void {
    this.eofReceived = true;
    this.endpointReading = false;
    debugLog(`${this} received EOF`);
    let keepOpen: boolean | void;
    try {
      keepOpen = this.protocol.eofReceived?.();
    } catch (exc) {
      this.fatal(exc, "Fatal error: protocol.eofReceived() call failed.");
      return;
    }
    if (!keepOpen || this.shutdownDone) this.close();
  }

  private readFailed(err: Error): void {
    if (isQuietError(err)) {
      debugLog(`${this}: ${formatValue(err)}`);
      this.forceClose(err);
    } else {
      this.fatal(err, "Fatal read error on socket transport");
    }
  }

  // ------------------------------------------------------------------ WriteTransport

  write(data: Uint8Array): void {
    validateData(data, "data");
    if (this.eofRequested) throw new Error("Cannot call write() after writeEof()");
    if (data.length === 0) return;
    if (this.lost || this.endpointClosing) {
      // asyncio: the data is dropped, with a warning after a few attempts.
      if (++this.writesAfterClose === 5) logger.warning("socket.send() raised exception.");
      return;
    }
    this.copyIn(data);
    this.queued += data.length;
    if (!this.writing && !this.flushRequested) {
      this.flushRequested = true;
      this.loop._requestFlush(this, this.inCompletion);
    }
    this.maybePauseProtocol();
  }

  writelines(list: Iterable<Uint8Array>): void {
    if (list === null || typeof (list as Iterable<Uint8Array>)?.[Symbol.iterator] !== "function") {
      throw new TypeError(`The "list" argument must be an iterable of Buffers. Received ${list === null ? "null" : typeof list}`);
    }
    for (const data of list) this.write(data);
  }

  canWriteEof(): boolean {
    return true;
  }

  /** Half-close once the queue has drained; the peer reads everything first. */
  writeEof(): void {
    if (this.closing || this.eofRequested) return;
    this.eofRequested = true;
    if (!this.writing && this.queued === 0 && this.file === null) this.sendEof();
  }

  abort(): void {
    this.forceClose(null);
  }

  getWriteBufferSize(): number {
    return this.queued + this.inFlight + (this.file?.before?.bytes ?? 0);
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this.low, this.high];
  }

  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    if (high !== undefined && high !== null) checkLimit(high, "high");
    if (low !== undefined && low !== null) checkLimit(low, "low");
    if (high === undefined || high === null) high = low === undefined || low === null ? DEFAULT_HIGH_WATER : 4 * low;
    if (low === undefined || low === null) low = Math.floor(high / 4);
    if (!(high >= low && low >= 0)) throw new RangeError(`high (${high}) must be >= low (${low}) must be >= 0`);
    this.high = high;
    this.low = low;
    this.maybePauseProtocol();
  }

  // ------------------------------------------------------------------ writes

  /** Appends `data` at the shared fill mark (a new region when ours is no longer at it). */
  private copyIn(data: Uint8Array): void {
    let off = 0;
    const n = data.length;
    while (off < n) {
      let s = this.stage;
      if (s === null || s.used !== this.stageEnd || s.used === STAGE_SIZE) s = this.nextRegion(n - off);
      const take = Math.min(n - off, STAGE_SIZE - s.used);
      s.buf.set(off === 0 && take === n ? data : data.subarray(off, off + take), s.used);
      s.used += take;
      this.stageEnd = s.used;
      off += take;
    }
  }

  private nextRegion(want: number): Stage {
    if (this.stage !== null) this.sealStage();
    const s = takeRegion(want);
    this.queuedStages.push(s);
    this.stage = s;
    this.stageStart = this.stageEnd = s.used;
    return s;
  }

  /** Moves the region's pending bytes into `queue`. */
  private sealStage(): void {
    if (this.stageEnd > this.stageStart) {
      this.queue.push(this.stage!.buf.subarray(this.stageStart, this.stageEnd));
      this.stageStart = this.stageEnd;
    }
  }

  /** Queued regions are not the endpoint's yet: released now. */
  private dropQueued(): void {
    this.queue = [];
    this.queued = 0;
    releaseStages(this.queuedStages);
    this.queuedStages = [];
    this.stage = null;
  }

  /** @internal The loop calls this at the end of the iteration a write was queued in. */
  _flush(): void {
    this.flushRequested = false;
    if (this.writing || this.queued === 0 || this.lost || this.endpointClosing || this.file !== null) return;
    const { chunks, stages, bytes } = this.takeQueued();
    this.issueWrite(chunks, stages, bytes);
  }

  /** Everything queued, as one write's chunks and the stages they live in. */
  private takeQueued(): { chunks: Uint8Array[]; stages: Stage[]; bytes: number } {
    this.sealStage();
    const chunks = this.queue;
    const bytes = this.queued;
    this.queue = [];
    this.queued = 0;
    // The current region travels with this write; later writes take a new one.
    const stages = this.queuedStages;
    this.stage = null;
    this.queuedStages = [];
    return { chunks, stages, bytes };
  }

  private issueWrite(chunks: Uint8Array[], stages: Stage[], bytes: number): void {
    this.inFlightStages = stages;
    this.inFlight = bytes;
    this.writing = true;
    this.endpoint.write(chunks);
  }

  onWriteDone(err: Error | null): void {
    this.writing = false;
    this.inFlight = 0;
    releaseStages(this.inFlightStages);
    this.inFlightStages = [];
    if (this.lost || this.endpointClosing) return;
    if (err !== null) {
      if (this.file !== null) this.file.error = err;
      if (isQuietError(err)) {
        debugLog(`${this}: ${formatValue(err)}`);
        this.forceClose(err);
      } else {
        this.fatal(err, "Fatal write error on socket transport");
      }
      return;
    }
    if (this.file !== null) {
      this.fileStepDone(0);
      this.maybeResumeProtocol();
      return;
    }
    if (this.queued > 0) {
      this._flush();
    } else if (this.closing) {
      this.closeEndpoint(null);
      return;
    } else if (this.eofRequested) {
      this.sendEof();
    }
    this.maybeResumeProtocol();
  }

  private sendEof(): void {
    if (this.eofSent) return;
    this.eofSent = true;
    this.endpoint.shutdownWrite();
  }

  onShutdownDone(err: Error | null): void {
    if (this.lost || this.endpointClosing) return;
    if (err === null) {
      this.shutdownDone = true;
      // Both directions are finished: nothing more can happen on this connection.
      if (this.eofReceived) this.close();
      return;
    }
    if (isQuietError(err) || (err as { code?: string }).code === "ENOTCONN") this.forceClose(err);
    else this.fatal(err, "Fatal error on socket transport: shutdown() failed");
  }

  private maybePauseProtocol(): void {
    if (this.protocolPaused || this.getWriteBufferSize() <= this.high) return;
    this.protocolPaused = true;
    try {
      this.protocol.pauseWriting();
    } catch (exc) {
      this.loop.callExceptionHandler({ message: "protocol.pauseWriting() failed", exception: exc, transport: this, protocol: this.protocol });
    }
  }

  private maybeResumeProtocol(): void {
    if (!this.protocolPaused || this.getWriteBufferSize() > this.low) return;
    this.protocolPaused = false;
    try {
      this.protocol.resumeWriting();
    } catch (exc) {
      this.loop.callExceptionHandler({ message: "protocol.resumeWriting() failed", exception: exc, transport: this, protocol: this.protocol });
    }
  }

  // ------------------------------------------------------------------ closing

  private fatal(exc: unknown, message: string): void {
    if (isQuietError(exc)) {
      debugLog(`${this}: ${message}: ${formatValue(exc)}`);
    } else {
      this.loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this.protocol });
    }
    this.forceClose(exc instanceof Error ? exc : new Error(String(exc)));
  }

  private forceClose(exc: Error | null): void {
    if (this.endpointClosing) return;
    this.closing = true;
    this.held = [];
    this.dropQueued();
    this.closeEndpoint(exc, true);
  }

  private closeEndpoint(exc: Error | null, abort = false): void {
    if (this.endpointClosing) return;
    this.endpointClosing = true;
    this.lostExc = exc;
    this.endpointReading = false;
    if (abort) this.endpoint.abort();
    else this.endpoint.close();
  }

  onClosed(): void {
    if (this.lost) return;
    this.lost = true;
    this.fileClosed();
    this.writing = false;
    this.inFlight = 0;
    // Every op has completed: the stages of a write that never reported are free now.
    releaseStages(this.inFlightStages);
    this.inFlightStages = [];
    this.dropQueued();
    // A transport closed before connectionMade ran never calls connectionLost (asyncio).
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

  // ------------------------------------------------------------------ file mode (sendfile)

  /** @internal True when the endpoint can send a file itself (loop.sendfile's native path). */
  _hasNativeSendfile(): boolean {
    return typeof this.endpoint.sendfile === "function";
  }

  /**
   * @internal Bytes of the file being sent that have reached the socket so far (0 outside
   * sendfile): a caller can tell a stalled send (the peer stopped reading) from a slow one.
   */
  _fileProgress(): number {
    const file = this.file;
    if (file === null) return 0;
    return file.sent + (file.native ? (this.endpoint.sendfileProgress?.() ?? 0) : 0);
  }

  /** @internal Runs `body` with the write side given to a file (see the header). */
  async _sendfile<T>(body: () => Promise<T>): Promise<T> {
    if (this.closing || this.lost) throw new Error(`sendfile: ${this} is closing`);
    if (this.file !== null) throw new Error(`sendfile: ${this} is already sending a file`);
    if (this.eofRequested) throw new Error("Cannot call sendfile() after writeEof()");
    const file: FileMode = { wasReading: this.reading, before: null, waiter: null, error: null, sent: 0, chunk: 0, native: false };
    this.file = file;
    this.pauseReading();
    try {
      if (this.queued > 0) {
        const q = this.takeQueued();
        if (this.writing) file.before = q;
        else this.issueWrite(q.chunks, q.stages, q.bytes);
      }
      if (this.writing) await this.fileWait();
      return await body();
    } finally {
      this.file = null;
      this.fileEnded(file);
    }
  }

  /** @internal Sends `chunk` (owned by the endpoint until the promise settles). */
  _fileWrite(chunk: Uint8Array): Promise<number> {
    this.fileCheck();
    this.file!.chunk = chunk.length;
    this.writing = true;
    this.endpoint.write([chunk]);
    return this.fileWait();
  }

  /** @internal The endpoint sends `count` bytes of `fd` from `offset`; resolves to the bytes sent. */
  _fileNative(fd: number, offset: number, count: number): Promise<number> {
    this.fileCheck();
    this.file!.native = true;
    this.writing = true;
    this.endpoint.sendfile!(fd, offset, count);
    return this.fileWait();
  }

  onSendfileDone(sent: number, err: Error | null): void {
    this.writing = false;
    if (this.file !== null) this.file.native = false;
    if (this.lost || this.endpointClosing) return;
    if (err !== null) {
      (err as Error & { bytesSent?: number }).bytesSent = sent;
      this.onWriteDone(err);
      return;
    }
    this.fileStepDone(sent);
  }

  private fileCheck(): void {
    const file = this.file;
    if (file === null || file.waiter !== null || this.writing) throw new Error("sendfile: the transport is not ready for the next part of the file");
    if (this.endpointClosing || this.lost) throw file.error ?? this.lostExc ?? closedDuringSendfile(this);
  }

  private fileWait(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.file!.waiter = { resolve, reject };
    });
  }

  /** A write in file mode finished: the bytes queued before the file go next, else the step is done. */
  private fileStepDone(n: number): void {
    const file = this.file!;
    file.sent += file.chunk + (n > 0 ? n : 0);
    file.chunk = 0;
    if (file.before !== null) {
      const q = file.before;
      file.before = null;
      this.issueWrite(q.chunks, q.stages, q.bytes);
      return;
    }
    const w = file.waiter;
    file.waiter = null;
    w?.resolve(n);
  }

  /** Every op has completed: a step still waited for fails now. */
  private fileClosed(): void {
    const file = this.file;
    if (file === null) return;
    if (file.before !== null) releaseStages(file.before.stages);
    file.before = null;
    const w = file.waiter;
    file.waiter = null;
    w?.reject(file.error ?? this.lostExc ?? closedDuringSendfile(this));
  }

  /** The file is out (or failed): writes made meanwhile, then a deferred close/EOF, then reading. */
  private fileEnded(file: FileMode): void {
    if (this.lost || this.endpointClosing) return;
    if (this.queued > 0) this._flush();
    else if (this.closing) this.closeEndpoint(null);
    else if (this.eofRequested) this.sendEof();
    this.maybeResumeProtocol();
    if (file.wasReading && !this.closing) this.resumeReading();
  }

  toString(): string {
    const state = this.lost ? "closed" : this.closing ? "closing" : "open";
    return `<StreamTransport fd=${this.endpoint.fd} ${state}>`;
  }
}

function closedDuringSendfile(transport: StreamTransport): Error {
  const err = new Error(`sendfile: ${transport} was closed before the file was sent`) as Error & { code: string };
  err.code = "ERR_TRANSPORT_CLOSED";
  return err;
}

function checkLimit(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`The "${name}" argument must be a number. Received ${value === null ? "null" : typeof value}`);
  }
  if (value < 0) throw new RangeError(`The "${name}" argument must be >= 0. Received ${value}`);
}

export type { SockAddr };
