// One HTTP/1.x connection: the Protocol a served socket gets.
//
// Requests are parsed as they arrive (all complete ones, pipelining) into a queue and
// answered strictly in order; a response that waits for something (a body going out by
// loop.sendfile, a body being compressed, a directory being read) holds the queue until it
// settles. Reading pauses while maxPipelined requests wait, and
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
// (slowloris), then 408 and close; responses stuck behind a full write buffer (the client
// stopped reading) -> abort after idleTimeoutMs without progress; a body going out by
// loop.sendfile -> the same, judged by the file bytes sent (ctx.bodyProgress, summed over
// the parts of a multipart/byteranges body).
//
// Connection limit (ctx.maxConnections): a connection accepted at the limit closes the
// connection idle longest (waiting for a request with nothing of it buffered: a fresh one
// or a kept-alive one; ctx.idle is ordered oldest first) to make room, or, when none is
// idle, is closed at once itself (ctx.refused reports it, once per episode).
//
// What a request gets (answer()): OPTIONS with cors -> 204 (a preflight gets the CORS
// fields); other methods than GET/HEAD -> 405; a path with a dot segment -> per dotfiles
// (deny 403, ignore as if missing); a missing path without an extension with spa ->
// /index.html; a directory without index.html -> its listing with list, else 404; a file
// -> 304 / 416 / 206 (one range or multipart/byteranges) / 200, in the coding
// negotiated: a precompressed sibling or an on-the-fly compressed body (only for requests
// without Range: ranges are served from the file itself).
import * as util from "node:util";
import * as path from "node:path";
import { Protocol } from "../protocols.js";
import type { Transport } from "../transports.js";
import type { ExceptionContext } from "../events.js";
import { isQuietError } from "../transports/stream.js";
import { RequestParser, blankRequest, type ParserLimits, type Request } from "./http-parser.js";
import { targetPath, hiddenPath } from "./resolve.js";
import type { FileCache, FileEntry, Lookup } from "./file-cache.js";
import type { CompressCache } from "./compress-cache.js";
import type { AccessLog } from "./access-log.js";
import type { Clock } from "./http-date.js";
import type { DotfilesMode } from "./options.js";
import { ENCODINGS, pickEncoding, type Encoding } from "./encoding.js";
import { readListing, renderHtml, renderJson, wantsJson } from "./listing.js";
import { preflightFields, type ResponseFields } from "./response-fields.js";
import { head, errorResponse, notModified, parseRanges, multipartLayout, KEEP_ALIVE_10, KEEP_ALIVE_11, CLOSE, type ByteRange, type Validators } from "./response.js";
import { IdleList, type IdleLinks } from "./idle-list.js";

export interface ServeContext {
  time(): number;
  callExceptionHandler(context: ExceptionContext): void;
  sendBody(transport: Transport, fd: number, offset: number, count: number): Promise<number>;
  /** Bytes of the body in flight that reached the socket so far. */
  bodyProgress(transport: Transport): number;
  readonly root: string;
  readonly cache: FileCache;
  /** On-the-fly compression (compress), or null. */
  readonly compressor: CompressCache | null;
  readonly log: AccessLog | null;
  readonly clock: Clock;
  readonly limits: ParserLimits;
  readonly idleTimeoutMs: number;
  readonly headerTimeoutMs: number;
  readonly maxPipelined: number;
  readonly maxConnections: number;
  readonly dotfiles: DotfilesMode;
  readonly list: boolean;
  readonly spa: boolean;
  readonly fields: ResponseFields;
  /** A fresh multipart boundary. */
  boundary(): string;
  shuttingDown: boolean;
  readonly connections: Set<HttpConnection>;
  /** Connections waiting for a request with nothing of it buffered, idle longest first. */
  readonly idle: IdleList<HttpConnection>;
  /** A connection was refused at the limit / one was admitted (ends a refusal episode). */
  refused(): void;
  admitted(): void;
  /** A body send by loop.sendfile started / settled (stats.sending; close() waits for none in flight). */
  sendStarted(): void;
  sendSettled(): void;
  /** Other work that holds a connection's queue started / settled (close() waits for it too). */
  workStarted(): void;
  workSettled(): void;
  readonly stats: { connections: number; requests: number; sending: number; refused: number };
}

/** Why requests were refused, for NODE_DEBUG=ringloop (the access log has the status only). */
const debugLog = util.debuglog("ringloop");

/** What the deadline guards: a new request, the rest of a head, or a client that stopped reading. */
const WAIT_IDLE = 0;
const WAIT_HEADER = 1;
const WAIT_SEND = 2;
/** A body going out by loop.sendfile: aborted after idleTimeoutMs without progress. */
const WAIT_BODY = 3;
/** Waiting for the server's own work (compression, a directory read): no deadline. */
const WAIT_WORK = 4;

const NO_REQUEST: Request = blankRequest(0, "", "-", "-", "-", false);

/** One piece of a body sent from a file: `head` (part framing) written first, then `count` bytes from `start`. */
interface Segment {
  head: string;
  start: number;
  count: number;
}

/** True when the last segment of a URL path has no extension ("/app/route", "/dir/"). */
function noExtension(urlPath: string): boolean {
  return path.posix.extname(urlPath.slice(urlPath.lastIndexOf("/") + 1)) === "";
}

export class HttpConnection extends Protocol implements IdleLinks<HttpConnection> {
  /** @internal ctx.idle's links. */
  idlePrev: HttpConnection | null = null;
  /** @internal */
  idleNext: HttpConnection | null = null;
  /** @internal */
  idleListed = false;
  private readonly ctx: ServeContext;
  private readonly parser: RequestParser;
  private transport: Transport | null = null;
  private readonly queue: Request[] = [];
  /** A response is waiting for something (sendfile, compression, listing): the queue holds. */
  private sending = false;
  private writePaused = false;
  private readPaused = false;
  private closeAfter = false;
  private peerEof = false;
  private lost = false;
  /** Refused at the connection limit: closed at once, never counted. */
  private refusedAtLimit = false;
  /** close() called: the deadline that aborts a close stuck on a non-reading client stays. */
  private flushingClose = false;
  /** loop time at which the current wait times out; 0 = no timer. */
  deadline = 0;
  private waitKind = WAIT_IDLE;
  /** WAIT_BODY: the body's progress when the deadline was last armed. */
  private bodySent = 0;
  /** WAIT_BODY: file bytes of the body's finished parts (multipart). */
  private bodyBase = 0;
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
    const ctx = this.ctx;
    this.transport = transport;
    if (!ctx.shuttingDown && ctx.connections.size >= ctx.maxConnections && !this.evictIdle()) {
      this.refusedAtLimit = true;
      ctx.stats.refused++;
      ctx.refused();
      transport.close();
      return;
    }
    ctx.connections.add(this);
    ctx.stats.connections++;
    if (ctx.shuttingDown) {
      transport.close();
      return;
    }
    ctx.admitted();
    this.armWait();
  }

  /** Closes the connection idle longest to make room; false when none is idle. */
  private evictIdle(): boolean {
    const c = this.ctx.idle.oldest();
    if (c === null) return false;
    debugLog("serve: connection limit (%d): closing the connection idle longest", this.ctx.maxConnections);
    c.closeFlushing();
    return true;
  }

  override dataReceived(data: Buffer): void {
    if (this.closeAfter || this.lost || this.refusedAtLimit) return;
    this.heardFrom = true;
    const before = this.queue.length;
    this.parser.feed(data, this.queue);
    if (this.queue.length > before) {
      this.firstRequest = false;
      if (this.waitKind === WAIT_IDLE || this.waitKind === WAIT_HEADER) this.deadline = 0;
    }
    if (this.queue.length > 0 || this.parser.hasPartial()) this.ctx.idle.delete(this);
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
    this.ctx.idle.delete(this);
  }

  override pauseWriting(): void {
    this.writePaused = true;
    if (!this.sending) this.armSend();
  }

  private armSend(): void {
    this.ctx.idle.delete(this);
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
      const sent = this.bodyBase + this.ctx.bodyProgress(this.transport!);
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
    this.ctx.idle.delete(this);
    this.closeAfter = true;
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
    if (this.parser.hasPartial()) this.ctx.idle.delete(this);
    else this.ctx.idle.touch(this);
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
    const r = errorResponse(status, this.ctx.clock.http, mode, isHead, extra + this.ctx.fields.all, req.detail);
    this.transport!.write(Buffer.from(r.data, "latin1"));
    this.logLine(req, status, r.bodyBytes);
  }

  /** Runs `work`, holding the queue until it settles; `then` runs after it even when the connection is gone. */
  private waitFor<T>(work: Promise<T>, then: (value: T | null, err: unknown) => void): void {
    const ctx = this.ctx;
    this.sending = true;
    this.waitKind = WAIT_WORK;
    this.deadline = 0;
    ctx.workStarted();
    work.then(
      (v) => this.workDone(() => then(v, null)),
      (err: unknown) => this.workDone(() => then(null, err)),
    );
  }

  private workDone(then: () => void): void {
    this.sending = false;
    this.ctx.workSettled();
    try {
      then();
    } catch (err) {
      // Outside any transport callback: reported here, and the connection reset, so a bug
      // in an answer never becomes an unhandled rejection.
      this.ctx.callExceptionHandler({ message: "ringloop serve: answering a request failed", exception: err as Error, protocol: this, transport: this.transport! });
      if (!this.lost) this.transport!.abort();
      return;
    }
    if (!this.sending) this.pump();
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
    if (req.method === "OPTIONS" && ctx.fields.cors) {
      const preflight = req.acRequestMethod !== null ? preflightFields(ctx.fields.allow, req.acRequestHeaders) : "";
      this.transport!.write(Buffer.from(head(204, ctx.clock.http, `Allow: ${ctx.fields.allow}\r\n${ctx.fields.all}${preflight}`, mode), "latin1"));
      this.logLine(req, 204, 0);
      return;
    }
    if (req.method !== "GET" && !isHead) {
      this.answerSimple(req, 405, mode, false, `Allow: ${ctx.fields.allow}\r\n`);
      return;
    }
    const p = targetPath(req.target);
    if (!p.ok) {
      debugLog("serve: %d for %s: %s", p.status, req.target.slice(0, 200), p.reason);
      this.answerSimple(req, p.status, mode, isHead);
      return;
    }
    let urlPath = p.path;
    let r: Lookup;
    if (ctx.dotfiles !== "allow" && hiddenPath(urlPath)) {
      r = { kind: "error", status: ctx.dotfiles === "deny" ? 403 : 404, reason: `${urlPath}: dotfile (dotfiles ${ctx.dotfiles})` };
    } else {
      r = ctx.cache.lookup(urlPath, ctx.time());
    }
    if ((r.kind === "error" && r.status === 404) || (r.kind === "directory" && !ctx.list)) {
      if (ctx.spa && noExtension(urlPath)) {
        urlPath = "/index.html";
        r = ctx.cache.lookup(urlPath, ctx.time());
      } else if (r.kind === "directory") {
        r = { kind: "error", status: 404, reason: `${urlPath}: directory without index.html` };
      }
    }
    switch (r.kind) {
      case "error":
        debugLog("serve: %d for %s: %s", r.status, req.target.slice(0, 200), r.reason);
        this.answerSimple(req, r.status, mode, isHead, r.status === 503 ? "Retry-After: 1\r\n" : "");
        return;
      case "redirect": {
        const q = req.target.indexOf("?");
        this.answerSimple(req, 301, mode, isHead, `Location: ${r.location}${q >= 0 ? req.target.slice(q) : ""}\r\n`);
        return;
      }
      case "directory":
        if (ctx.list) this.respondListing(req, urlPath, r.fsPath, mode, isHead);
        else this.answerSimple(req, 404, mode, isHead);
        return;
    }
    let e = r.entry;
    ctx.cache.acquire(e);
    try {
      if (req.acceptEncoding !== null && req.range === null && (e.encodings.length > 0 || e.compressible)) {
        const enc = pickEncoding(req.acceptEncoding, e.compressible ? ENCODINGS : e.encodings);
        if (enc !== null && e.encodings.includes(enc)) {
          const sibling = ctx.cache.lookupEncoded(urlPath, e, enc, ctx.time());
          if (sibling !== null) {
            ctx.cache.acquire(sibling);
            ctx.cache.release(e);
            e = sibling;
          }
        } else if (enc !== null && ctx.compressor !== null) {
          this.respondCompressed(req, e, enc, mode, isHead);
          return;
        }
      }
      this.respondFile(req, e, mode, second, isHead);
    } catch (err) {
      ctx.cache.release(e);
      throw err;
    }
  }

  /** The listing of directory `fsPath` (HTML, or JSON when Accept prefers it). */
  private respondListing(req: Request, urlPath: string, fsPath: string, mode: number, isHead: boolean): void {
    const ctx = this.ctx;
    this.waitFor(readListing(ctx.root, fsPath, ctx.dotfiles), (entries, err) => {
      if (this.lost) return;
      ctx.clock.tick();
      if (entries === null) {
        debugLog("serve: 404 for %s: listing failed: %s", req.target.slice(0, 200), String(err));
        this.answerSimple(req, (err as { code?: string }).code === "EACCES" ? 403 : 404, mode, isHead);
        return;
      }
      const json = wantsJson(req.accept);
      const body = Buffer.from(json ? renderJson(entries) : renderHtml(urlPath, entries), "utf8");
      const type = json ? "application/json; charset=utf-8" : "text/html; charset=utf-8";
      const fields = `Content-Type: ${type}\r\nVary: Accept\r\nCache-Control: no-cache\r\n${ctx.fields.all}Content-Length: ${body.length}\r\n`;
      this.transport!.write(Buffer.from(head(200, ctx.clock.http, fields, mode), "latin1"));
      if (!isHead) this.transport!.write(body);
      this.logLine(req, 200, isHead ? 0 : body.length);
    });
  }

  /** `e`'s body compressed on the fly in `enc` (the file as it is when that does not make it smaller). */
  private respondCompressed(req: Request, e: FileEntry, enc: Encoding, mode: number, isHead: boolean): void {
    const ctx = this.ctx;
    const v: Validators = { etag: `${e.etag.slice(0, -1)}-${enc === "br" ? "br" : "gz"}"`, mtimeSec: e.mtimeSec, size: 0 };
    if (notModified(req.ifNoneMatch, req.ifModifiedSince, v)) {
      this.respondNotModified(req, e, v.etag, mode);
      ctx.cache.release(e);
      return;
    }
    const send = (body: Buffer | null): void => {
      const second = ctx.clock.tick();
      if (body === null) {
        this.respondFile(req, e, mode, second, isHead);
        return;
      }
      const fields = `Content-Type: ${e.contentType}\r\nLast-Modified: ${e.lastModified}\r\nETag: ${v.etag}\r\nVary: Accept-Encoding\r\nContent-Encoding: ${enc}\r\n${ctx.fields.file}${ctx.fields.all}Content-Length: ${body.length}\r\n`;
      this.transport!.write(Buffer.from(head(200, ctx.clock.http, fields, mode), "latin1"));
      if (!isHead) this.transport!.write(body);
      this.logLine(req, 200, isHead ? 0 : body.length);
      ctx.cache.release(e);
    };
    const got = ctx.compressor!.get(e, enc);
    if (!(got instanceof Promise)) {
      send(got);
      return;
    }
    this.waitFor(got, (body, err) => {
      if (this.lost) {
        ctx.cache.release(e);
        return;
      }
      if (err !== null) {
        debugLog("serve: compressing %s failed, sent as it is: %s", e.fsPath, String(err));
        body = null;
      }
      send(body);
    });
  }

  private respondNotModified(req: Request, e: FileEntry, etag: string, mode: number): void {
    const ctx = this.ctx;
    const vary = e.compressible || e.encodings.length > 0 || e.encoding !== null ? "Vary: Accept-Encoding\r\n" : "";
    this.transport!.write(Buffer.from(head(304, ctx.clock.http, `Last-Modified: ${e.lastModified}\r\nETag: ${etag}\r\n${vary}${ctx.fields.file}${ctx.fields.all}`, mode), "latin1"));
    this.logLine(req, 304, 0);
  }

  /** Answers with the file (200/206/304/416); releases `e` when its body is out. */
  private respondFile(req: Request, e: FileEntry, mode: number, second: number, isHead: boolean): void {
    const ctx = this.ctx;
    const t = this.transport!;
    const date = ctx.clock.http;
    if (notModified(req.ifNoneMatch, req.ifModifiedSince, e)) {
      this.respondNotModified(req, e, e.etag, mode);
      ctx.cache.release(e);
      return;
    }
    const ranges = parseRanges(req.range, req.ifRange, e);
    if (ranges === "unsatisfiable") {
      this.answerSimple(req, 416, mode, isHead, `Content-Range: bytes */${e.size}\r\n`);
      ctx.cache.release(e);
      return;
    }
    const extra = ctx.fields.file + ctx.fields.all;
    if (ranges === null && !isHead) {
      // The common case: the whole file. Its head (and body, when cached) is memoised per second.
      let memo = e.memo;
      if (memo === null || memo.second !== second || memo.mode !== mode) {
        const h = Buffer.from(head(200, date, `${e.fields}${extra}Content-Length: ${e.size}\r\n`, mode), "latin1");
        memo = { second, mode, buf: e.body !== null ? Buffer.concat([h, e.body]) : h };
        e.memo = memo;
      }
      t.write(memo.buf);
      if (e.body !== null || e.size === 0) {
        this.logLine(req, 200, e.size);
        ctx.cache.release(e);
        return;
      }
      this.sendFrom(req, e, 200, [{ head: "", start: 0, count: e.size }], "");
      return;
    }
    let status = 200;
    let fields = `${e.fields}${extra}Content-Length: ${e.size}\r\n`;
    let segments: Segment[] = [{ head: "", start: 0, count: e.size }];
    let tail = "";
    if (ranges !== null && ranges.length === 1) {
      const [r] = ranges;
      status = 206;
      fields = `${e.fields}${extra}Content-Range: bytes ${r.start}-${r.end}/${e.size}\r\nContent-Length: ${r.end - r.start + 1}\r\n`;
      segments = [{ head: "", start: r.start, count: r.end - r.start + 1 }];
    } else if (ranges !== null) {
      status = 206;
      const boundary = ctx.boundary();
      const layout = multipartLayout(ranges, e.contentType, e.size, boundary);
      fields = `Content-Type: multipart/byteranges; boundary=${boundary}\r\n${e.validators}${extra}Content-Length: ${layout.length}\r\n`;
      segments = ranges.map((r: ByteRange, i) => ({ head: layout.heads[i], start: r.start, count: r.end - r.start + 1 }));
      tail = layout.tail;
    }
    t.write(Buffer.from(head(status, date, fields, mode), "latin1"));
    const total = segments.reduce((n, s) => n + s.head.length + s.count, tail.length);
    if (isHead || total === 0) {
      this.logLine(req, status, 0);
      ctx.cache.release(e);
    } else if (e.body !== null) {
      for (const s of segments) {
        if (s.head !== "") t.write(Buffer.from(s.head, "latin1"));
        t.write(e.body.subarray(s.start, s.start + s.count));
      }
      if (tail !== "") t.write(Buffer.from(tail, "latin1"));
      this.logLine(req, status, total);
      ctx.cache.release(e);
    } else {
      this.sendFrom(req, e, status, segments, tail);
    }
  }

  /** Sends the segments' file bytes by loop.sendfile, each after its framing; resolves with the file bytes sent. */
  private async sendSegments(e: FileEntry, segments: Segment[], tail: string): Promise<number> {
    const t = this.transport!;
    let sent = 0;
    for (const s of segments) {
      if (s.head !== "") t.write(Buffer.from(s.head, "latin1"));
      this.bodyBase = sent;
      const n = await this.ctx.sendBody(t, e.fd, s.start, s.count);
      sent += n;
      if (n !== s.count) return sent;
    }
    if (tail !== "") t.write(Buffer.from(tail, "latin1"));
    return sent;
  }

  private sendFrom(req: Request, e: FileEntry, status: number, segments: Segment[], tail: string): void {
    const ctx = this.ctx;
    const count = segments.reduce((n, s) => n + s.count, 0);
    const framing = segments.reduce((n, s) => n + s.head.length, tail.length);
    this.sending = true;
    ctx.sendStarted();
    this.waitKind = WAIT_BODY;
    this.bodySent = 0;
    this.bodyBase = 0;
    this.deadline = ctx.time() + ctx.idleTimeoutMs;
    let p: Promise<number>;
    try {
      p = this.sendSegments(e, segments, tail);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (sent) => this.bodySettled(req, e, status, sent, count, framing, null),
      (err: unknown) => this.bodySettled(req, e, status, 0, count, framing, err),
    );
  }

  private bodySettled(req: Request, e: FileEntry, status: number, sent: number, count: number, framing: number, err: unknown): void {
    const ctx = this.ctx;
    this.sending = false;
    if (this.waitKind === WAIT_BODY) this.deadline = 0;
    ctx.cache.release(e);
    ctx.sendSettled();
    this.logLine(req, status, sent === count ? sent + framing : sent);
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
