// One HTTP/1.x connection: the Protocol a served socket gets.
//
// Requests are parsed as they arrive (all complete ones, pipelining) into a queue and
// answered strictly in order; a response whose body goes out by loop.sendfile holds the
// queue until the send settles. Reading pauses while maxPipelined requests wait, and
// responses stop while the transport's write buffer is above its high-water mark.
//
// Keep-alive: HTTP/1.1 unless "Connection: close", HTTP/1.0 only with "Connection:
// keep-alive". After a non-keep-alive response, an error the parser cannot recover from
// (400/411/413/414/431/505), a short body send, or during shutdown, the connection closes
// once its last response is written; requests queued behind are dropped (RFC 9112 9.6).
//
// Timers (checked by the server's sweep, see server.ts): a new connection's first request
// head must be complete within the header timeout counted from the accept (a silent one is
// then closed without an answer, a partial head gets 408); waiting for a later request
// with nothing buffered -> idle timeout, then close; part of a later request head buffered
// -> header timeout counted from its first byte and NOT extended by further bytes
// (slowloris), then 408 and close; responses stuck behind a full write buffer (the client stopped reading)
// -> abort after idleTimeoutMs without progress; a body going out by loop.sendfile -> the
// same, judged by the transport's count of file bytes sent (ctx.bodyProgress).
import * as util from "node:util";
import { Protocol } from "../protocols.js";
import type { Transport } from "../transports.js";
import type { ExceptionContext } from "../events.js";
import { isQuietError } from "../transports/stream.js";
import { RequestParser, blankRequest, type ParserLimits, type Request } from "./http-parser.js";
import { targetPath } from "./resolve.js";
import type { FileCache, FileEntry } from "./file-cache.js";
import type { AccessLog } from "./access-log.js";
import type { Clock } from "./http-date.js";
import { head, errorResponse, notModified, parseRange, KEEP_ALIVE_10, KEEP_ALIVE_11, CLOSE } from "./response.js";

export interface ServeContext {
  time(): number;
  callExceptionHandler(context: ExceptionContext): void;
  sendBody(transport: Transport, fd: number, offset: number, count: number): Promise<number>;
  /** Bytes of the body in flight that reached the socket so far. */
  bodyProgress(transport: Transport): number;
  readonly cache: FileCache;
  readonly log: AccessLog | null;
  readonly clock: Clock;
  readonly limits: ParserLimits;
  readonly idleTimeoutMs: number;
  readonly headerTimeoutMs: number;
  readonly maxPipelined: number;
  shuttingDown: boolean;
  readonly connections: Set<HttpConnection>;
  /** A body send started / settled (close() waits for none in flight). */
  sendStarted(): void;
  sendSettled(): void;
  readonly stats: { connections: number; requests: number; sending: number };
}

/** Why requests were refused, for NODE_DEBUG=ringloop (the access log has the status only). */
const debugLog = util.debuglog("ringloop");

/** What the deadline guards: a new request, the rest of a head, or a client that stopped reading. */
const WAIT_IDLE = 0;
const WAIT_HEADER = 1;
const WAIT_SEND = 2;
/** A body going out by loop.sendfile: aborted after idleTimeoutMs without progress. */
const WAIT_BODY = 3;

const NO_REQUEST: Request = blankRequest(0, "", "-", "-", "-", false);

export class HttpConnection extends Protocol {
  private readonly ctx: ServeContext;
  private readonly parser: RequestParser;
  private transport: Transport | null = null;
  private readonly queue: Request[] = [];
  private sending = false;
  private writePaused = false;
  private readPaused = false;
  private closeAfter = false;
  private peerEof = false;
  private lost = false;
  /** close() called: the deadline that aborts a close stuck on a non-reading client stays. */
  private flushingClose = false;
  /** loop time at which the current wait times out; 0 = no timer. */
  deadline = 0;
  private waitKind = WAIT_IDLE;
  /** WAIT_BODY: the body's progress when the deadline was last armed. */
  private bodySent = 0;
  /** No request has been parsed yet: the header timeout runs from the accept. */
  private firstRequest = true;
  /** Some byte has arrived (a silent connection is closed without a 408). */
  private heardFrom = false;

  constructor(ctx: ServeContext) {
    super();
    this.ctx = ctx;
    this.parser = new RequestParser(ctx.limits);
  }

  override connectionMade(transport: Transport): void {
    this.transport = transport;
    this.ctx.connections.add(this);
    this.ctx.stats.connections++;
    if (this.ctx.shuttingDown) {
      transport.close();
      return;
    }
    this.armWait();
  }

  override dataReceived(data: Buffer): void {
    if (this.closeAfter || this.lost) return;
    this.heardFrom = true;
    const before = this.queue.length;
    this.parser.feed(data, this.queue);
    if (this.queue.length > before) {
      this.firstRequest = false;
      if (this.waitKind !== WAIT_SEND && this.waitKind !== WAIT_BODY) this.deadline = 0;
    }
    this.pump();
    if (!this.readPaused && !this.lost && this.queue.length >= this.ctx.maxPipelined) {
      this.readPaused = true;
      this.transport!.pauseReading();
    }
  }

  override eofReceived(): boolean {
    this.peerEof = true;
    // Keep the write side open while answers are still due; pump() closes after them.
    return this.sending || this.queue.length > 0;
  }

  override connectionLost(_exc: Error | null): void {
    this.lost = true;
    this.deadline = 0;
    this.queue.length = 0;
    this.ctx.connections.delete(this);
  }

  override pauseWriting(): void {
    this.writePaused = true;
    if (!this.sending) this.armSend();
  }

  private armSend(): void {
    if (this.waitKind === WAIT_SEND && this.deadline !== 0) return;
    this.waitKind = WAIT_SEND;
    this.deadline = this.ctx.time() + this.ctx.idleTimeoutMs;
  }

  override resumeWriting(): void {
    this.writePaused = false;
    if (this.waitKind === WAIT_SEND && !this.flushingClose) this.deadline = 0;
    this.pump();
  }

  /** True when nothing is being answered or waiting to be (shutdown may close it now). */
  isIdle(): boolean {
    return !this.sending && this.queue.length === 0;
  }

  /** Called by the server's sweep when `now` has passed the deadline. */
  timedOut(): void {
    if (this.lost || this.deadline === 0) return;
    this.deadline = 0;
    if (this.waitKind === WAIT_BODY) {
      const sent = this.ctx.bodyProgress(this.transport!);
      if (sent > this.bodySent) {
        // Slow but moving: wait another idleTimeoutMs.
        this.bodySent = sent;
        this.deadline = this.ctx.time() + this.ctx.idleTimeoutMs;
      } else {
        this.transport!.abort(); // the client stopped reading: the send rejects, bodySettled closes
      }
      return;
    }
    if (this.waitKind === WAIT_SEND) {
      this.transport!.abort();
      return;
    }
    if (this.waitKind === WAIT_HEADER && this.heardFrom) {
      this.closeAfter = true;
      this.ctx.clock.tick();
      this.answerSimple(NO_REQUEST, 408, CLOSE, false);
    }
    this.closeFlushing();
  }

  /** close() flushes first: a client that does not read gets reset after idleTimeoutMs. */
  private closeFlushing(): void {
    this.flushingClose = true;
    this.transport!.close();
    this.waitKind = WAIT_SEND;
    this.deadline = this.ctx.time() + this.ctx.idleTimeoutMs;
  }

  /** Server shutdown: close now when idle, else after the response being written. */
  shutdown(): void {
    if (this.lost) return;
    if (this.isIdle()) this.transport!.close();
    else this.closeAfter = true;
  }

  private armWait(): void {
    if (this.parser.hasPartial() || this.firstRequest) {
      if (this.waitKind !== WAIT_HEADER || this.deadline === 0) {
        this.waitKind = WAIT_HEADER;
        this.deadline = this.ctx.time() + this.ctx.headerTimeoutMs;
      }
    } else {
      this.waitKind = WAIT_IDLE;
      this.deadline = this.ctx.time() + this.ctx.idleTimeoutMs;
    }
  }

  private pump(): void {
    while (!this.sending && !this.writePaused && !this.lost && this.queue.length > 0) {
      if (this.closeAfter) {
        this.queue.length = 0;
        break;
      }
      this.respond(this.queue.shift()!);
    }
    if (this.sending || this.lost) return;
    if (this.queue.length > 0) {
      if (this.writePaused) this.armSend();
      return;
    }
    const t = this.transport!;
    if (this.closeAfter || this.peerEof || this.parser.isDead()) {
      this.closeFlushing();
      return;
    }
    if (this.readPaused) {
      this.readPaused = false;
      t.resumeReading();
    }
    if (this.writePaused) this.armSend();
    else this.armWait();
  }

  private logLine(req: Request, status: number, bytes: number): void {
    const log = this.ctx.log;
    if (log === null) return;
    const peer = this.transport!.getExtraInfo("peername") as { host?: string } | string | null;
    const remote = peer === null || peer === undefined ? "-" : typeof peer === "string" ? peer || "unix" : (peer.host ?? "-");
    log.add(remote, this.ctx.clock.clf, req.method, req.target, req.version, status, bytes);
  }

  private answerSimple(req: Request, status: number, mode: number, isHead: boolean, extra = ""): void {
    const r = errorResponse(status, this.ctx.clock.http, mode, isHead, extra, req.detail);
    this.transport!.write(Buffer.from(r.data, "latin1"));
    this.logLine(req, status, r.bodyBytes);
  }

  private respond(req: Request): void {
    const ctx = this.ctx;
    ctx.stats.requests++;
    const second = ctx.clock.tick();
    const isHead = req.method === "HEAD";
    if (req.error !== 0) {
      debugLog("serve: %d for %s %s: %s", req.error, req.method, req.target.slice(0, 200), req.reason);
      this.closeAfter = true;
      this.answerSimple(req, req.error, CLOSE, isHead);
      return;
    }
    const keep = req.keepAlive && !ctx.shuttingDown && !this.closeAfter;
    const mode = !keep ? CLOSE : req.version === "HTTP/1.0" ? KEEP_ALIVE_10 : KEEP_ALIVE_11;
    if (!keep) this.closeAfter = true;
    if (req.method !== "GET" && !isHead) {
      this.answerSimple(req, 405, mode, false, "Allow: GET, HEAD\r\n");
      return;
    }
    const p = targetPath(req.target);
    if (!p.ok) {
      debugLog("serve: %d for %s: %s", p.status, req.target.slice(0, 200), p.reason);
      this.answerSimple(req, p.status, mode, isHead);
      return;
    }
    const r = ctx.cache.lookup(p.path, ctx.time());
    if (r.kind === "error") {
      debugLog("serve: %d for %s: %s", r.status, req.target.slice(0, 200), r.reason);
      this.answerSimple(req, r.status, mode, isHead);
      return;
    }
    if (r.kind === "redirect") {
      const q = req.target.indexOf("?");
      this.answerSimple(req, 301, mode, isHead, `Location: ${r.location}${q >= 0 ? req.target.slice(q) : ""}\r\n`);
      return;
    }
    const e = r.entry;
    ctx.cache.acquire(e);
    try {
      this.respondFile(req, e, mode, second, isHead);
    } catch (err) {
      ctx.cache.release(e);
      throw err;
    }
  }

  /** Answers with the file (200/206/304/416); releases `e` when its body is out. */
  private respondFile(req: Request, e: FileEntry, mode: number, second: number, isHead: boolean): void {
    const ctx = this.ctx;
    const t = this.transport!;
    const date = ctx.clock.http;
    if (notModified(req.ifNoneMatch, req.ifModifiedSince, e)) {
      t.write(Buffer.from(head(304, date, `Last-Modified: ${e.lastModified}\r\nETag: ${e.etag}\r\n`, mode), "latin1"));
      this.logLine(req, 304, 0);
      ctx.cache.release(e);
      return;
    }
    const range = parseRange(req.range, req.ifRange, e);
    if (range === "unsatisfiable") {
      this.answerSimple(req, 416, mode, isHead, `Content-Range: bytes */${e.size}\r\n`);
      ctx.cache.release(e);
      return;
    }
    if (range === null && !isHead) {
      // The common case: the whole file. Its head (and body, when cached) is memoised per second.
      let memo = e.memo;
      if (memo === null || memo.second !== second || memo.mode !== mode) {
        const h = Buffer.from(head(200, date, `${e.fields}Content-Length: ${e.size}\r\n`, mode), "latin1");
        memo = { second, mode, buf: e.body !== null ? Buffer.concat([h, e.body]) : h };
        e.memo = memo;
      }
      t.write(memo.buf);
      if (e.body !== null || e.size === 0) {
        this.logLine(req, 200, e.size);
        ctx.cache.release(e);
        return;
      }
      this.sendFrom(req, e, 200, 0, e.size);
      return;
    }
    const status = range === null ? 200 : 206;
    const start = range === null ? 0 : range.start;
    const count = range === null ? e.size : range.end - range.start + 1;
    const rangeField = range === null ? "" : `Content-Range: bytes ${range.start}-${range.end}/${e.size}\r\n`;
    t.write(Buffer.from(head(status, date, `${e.fields}${rangeField}Content-Length: ${count}\r\n`, mode), "latin1"));
    if (isHead || count === 0) {
      this.logLine(req, status, 0);
      ctx.cache.release(e);
    } else if (e.body !== null) {
      t.write(e.body.subarray(start, start + count));
      this.logLine(req, status, count);
      ctx.cache.release(e);
    } else {
      this.sendFrom(req, e, status, start, count);
    }
  }

  private sendFrom(req: Request, e: FileEntry, status: number, start: number, count: number): void {
    const ctx = this.ctx;
    this.sending = true;
    ctx.sendStarted();
    this.waitKind = WAIT_BODY;
    this.bodySent = 0;
    this.deadline = ctx.time() + ctx.idleTimeoutMs;
    let p: Promise<number>;
    try {
      p = ctx.sendBody(this.transport!, e.fd, start, count);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (sent) => this.bodySettled(req, e, status, sent, count, null),
      (err: unknown) => this.bodySettled(req, e, status, 0, count, err),
    );
  }

  private bodySettled(req: Request, e: FileEntry, status: number, sent: number, count: number, err: unknown): void {
    const ctx = this.ctx;
    this.sending = false;
    if (this.waitKind === WAIT_BODY) this.deadline = 0;
    ctx.cache.release(e);
    ctx.sendSettled();
    this.logLine(req, status, sent);
    if (err !== null || sent !== count) {
      // The client is gone or the file shrank: the response cannot be completed, so the
      // connection cannot be reused.
      const truncated = (err as { code?: unknown } | null)?.code === "ERR_FILE_TRUNCATED";
      if (err !== null && !truncated && !this.lost && !this.transport!.isClosing() && !isQuietError(err)) {
        ctx.callExceptionHandler({ message: `ringloop serve: sending ${req.target} failed`, exception: err as Error, protocol: this, transport: this.transport! });
      }
      this.queue.length = 0;
      // A short file: what was sent is flushed, then FIN (the client sees fewer bytes than
      // Content-Length). A failed send: the connection is reset.
      if (!this.lost) {
        if (err === null || truncated) this.transport!.close();
        else this.transport!.abort();
      }
      return;
    }
    this.pump();
  }
}
