// Incremental HTTP/1.x request parser over the Buffers a transport delivers.
//
// feed() parses EVERY complete request in what has arrived (pipelining) and appends them,
// in order, to the caller's queue. A malformed or over-limit request becomes a request
// with `error` set (the status to answer with) and the parser goes dead: nothing after it
// is parsed, because the request boundary is lost; the connection answers it, in order
// after the requests before it, and closes.
//
// Rules:
// - Head = request line + header lines, ended by an empty line (CRLF; a bare LF is
//   accepted too, RFC 9112 2.2). Empty lines before a request line are skipped.
// - Request line longer than maxRequestLine -> 414; the whole head longer than
//   maxRequestLine + maxHeaderBytes, or more than maxHeaders fields -> 431.
// - The answer never depends on how the bytes were segmented: a head that arrives whole
//   gets the same early refusals (not HTTP, 414, 431), in the same order, as one that
//   arrives a byte at a time (test/reliability/http-parser-*.test.ts).
// - Bytes that cannot begin a request line are refused as soon as they arrive, not when
//   the head times out: a TLS handshake record (0x16 0x03) -> 400 saying this is plain
//   HTTP; anything else whose first line can no longer become "METHOD target HTTP/d.d"
//   -> 400.
// - Bad syntax (method not a token, target not visible ASCII, no "HTTP/x.y", field name
//   not a token, whitespace before the colon, obs-fold, control bytes in a value,
//   duplicate Host or conflicting Content-Length, HTTP/1.1 without Host) -> 400;
//   a major version other than 1 -> 505.
// - Bodies: GET/HEAD need none; a Content-Length body is read and discarded (more than
//   maxBodyBytes -> 413); Transfer-Encoding (chunked) is refused with 411, or 400 when it
//   comes with Content-Length (request smuggling).

export interface ParserLimits {
  /** Longest request line in bytes (414 beyond). */
  maxRequestLine: number;
  /** Longest header section in bytes, request line excluded (431 beyond). */
  maxHeaderBytes: number;
  /** Most header fields (431 beyond). */
  maxHeaders: number;
  /** Largest request body read and discarded (413 beyond). */
  maxBodyBytes: number;
}

export interface Request {
  /** 0 for a parsed request, else the status the connection answers with before closing. */
  error: number;
  /** Why the request was refused ("" when error is 0); NODE_DEBUG=ringloop prints it. */
  reason: string;
  /** Text for the client in the error body ("" for the plain status line). */
  detail: string;
  method: string;
  target: string;
  /** "HTTP/1.1" or "HTTP/1.0" as sent (for the access log). */
  version: string;
  /** HTTP/1.1 default keep-alive unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive". */
  keepAlive: boolean;
  ifNoneMatch: string | null;
  ifModifiedSince: string | null;
  range: string | null;
  ifRange: string | null;
  acceptEncoding: string | null;
  accept: string | null;
  /** Origin and Access-Control-Request-* (CORS preflight). */
  origin: string | null;
  acRequestMethod: string | null;
  acRequestHeaders: string | null;
}

/** Header fields kept as comma-joined lists, by lower-case name. */
const LIST_FIELDS = new Map<string, "ifNoneMatch" | "acceptEncoding" | "accept" | "acRequestHeaders">([
  ["if-none-match", "ifNoneMatch"],
  ["accept-encoding", "acceptEncoding"],
  ["accept", "accept"],
  ["access-control-request-headers", "acRequestHeaders"],
]);

/** A request with every optional field empty. */
export function blankRequest(error: number, reason: string, method: string, target: string, version: string, keepAlive: boolean): Request {
  return {
    error, reason, detail: "", method, target, version, keepAlive,
    ifNoneMatch: null, ifModifiedSince: null, range: null, ifRange: null,
    acceptEncoding: null, accept: null, origin: null, acRequestMethod: null, acRequestHeaders: null,
  };
}

/** Answer to a TLS ClientHello sent to this plain-HTTP port. */
export const TLS_DETAIL = "This is a plain HTTP server: use http://, not https://.\n";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/;
const VALID_REQUEST_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e]+ HTTP\/\d\.\d$/;
/** Bytes no head may hold (CR and LF are checked per line). */
const BAD_HEAD_BYTE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

function failed(status: number, reason: string, method = "-", target = "-", version = "-"): Request {
  return blankRequest(status, reason, method, target, version, false);
}

/** Token characters (RFC 9110 5.6.2), by byte. */
const IS_TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") IS_TOKEN[c.charCodeAt(0)] = 1;
const VERSION_PREFIX = "HTTP/";

/**
 * False when the line from `from` to `end` cannot be (`complete`: is not) the start of a
 * request line: method token, SP, visible-ASCII target, SP, "HTTP/", digit, ".", digit,
 * optional CR.
 */
function mayBeRequestLine(buf: Buffer, from: number, end: number, complete: boolean): boolean {
  let i = from;
  while (i < end && IS_TOKEN[buf[i]] === 1) i++;
  if (i === end) return !complete;
  if (i === from || buf[i] !== 32) return false;
  const targetStart = ++i;
  while (i < end && buf[i] > 32 && buf[i] < 127) i++;
  if (i === end) return !complete;
  if (i === targetStart || buf[i] !== 32) return false;
  i++;
  let k = 0;
  for (; k < 8 && i < end; k++, i++) {
    const c = buf[i];
    const ok = k < 5 ? c === VERSION_PREFIX.charCodeAt(k) : k === 6 ? c === 46 : c >= 48 && c <= 57;
    if (!ok) return false;
  }
  if (i < end && !(buf[i] === 13 && i + 1 === end)) return false;
  return k === 8 || !complete;
}

/** The refusal for bytes at `from` that cannot start a request (first line up to `lineEnd`), or null. */
function notHttp(buf: Buffer, from: number, lineEnd: number, complete: boolean): Request | null {
  if (buf[from] === 0x16 && (from + 1 >= buf.length || buf[from + 1] === 0x03)) {
    const r = failed(400, "TLS handshake on a plain HTTP port");
    r.detail = TLS_DETAIL;
    return r;
  }
  return mayBeRequestLine(buf, from, lineEnd, complete) ? null : failed(400, "not an HTTP request line");
}

const CRLF2 = Buffer.from("\r\n\r\n", "latin1");
const LF2 = Buffer.from("\n\n", "latin1");

/** The head starting at `from` (without its ending empty line) and the index after it, or null. */
function headAt(buf: Buffer, from: number): { head: string; next: number } | null {
  const crlf = buf.indexOf(CRLF2, from);
  if (crlf >= 0) {
    // A bare-LF end before the CRLF one: searched only inside that head (no rescans of
    // the pipelined rest of the buffer).
    const head = buf.toString("latin1", from, crlf);
    const lf = head.indexOf("\n\n");
    return lf < 0 ? { head, next: crlf + 4 } : { head: head.slice(0, lf), next: from + lf + 2 };
  }
  const lf = buf.indexOf(LF2, from);
  return lf < 0 ? null : { head: buf.toString("latin1", from, lf), next: lf + 2 };
}

/** `s` without leading and trailing SP/HTAB (OWS). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

export class RequestParser {
  private readonly limits: ParserLimits;
  private pending: Buffer | null = null;
  private discard = 0;
  private dead = false;

  constructor(limits: ParserLimits) {
    this.limits = limits;
  }

  /** True while part of a request head has arrived (the header timeout runs). */
  hasPartial(): boolean {
    return this.pending !== null || this.discard > 0;
  }

  /** Bytes held for an unfinished request. */
  buffered(): number {
    return this.pending === null ? 0 : this.pending.length;
  }

  isDead(): boolean {
    return this.dead;
  }

  /** Parses what `data` completes; appends the requests (and at most one error) to `out`. */
  feed(data: Buffer, out: Request[]): void {
    if (this.dead) return;
    const buf = this.pending === null ? data : Buffer.concat([this.pending, data]);
    this.pending = null;
    let pos = 0;
    while (pos < buf.length) {
      if (this.discard > 0) {
        const n = Math.min(this.discard, buf.length - pos);
        this.discard -= n;
        pos += n;
        continue;
      }
      while (pos < buf.length && (buf[pos] === 13 || buf[pos] === 10)) pos++;
      if (pos >= buf.length) break;
      const end = headAt(buf, pos);
      const { maxRequestLine, maxHeaderBytes } = this.limits;
      if (end === null) {
        const nl = buf.indexOf(10, pos);
        const lineLen = nl < 0 ? buf.length - pos : nl - pos;
        const junk = notHttp(buf, pos, pos + Math.min(lineLen, maxRequestLine + 1), nl >= 0 && lineLen <= maxRequestLine + 1);
        if (junk !== null) return this.die(out, junk);
        if (lineLen > maxRequestLine + 1) return this.die(out, failed(414, "request line too long"));
        // The longest head allowed (maxRequestLine + maxHeaderBytes + 2) plus 3 bytes of its
        // CRLF CRLF end may still complete; one byte more cannot.
        if (buf.length - pos > maxRequestLine + maxHeaderBytes + 5) return this.die(out, failed(431, "header section too large"));
        break;
      }
      // The refusals made while a head is still arriving, made the same way when it arrived
      // whole (the answer must not depend on how the bytes were segmented).
      const lineLen = end.head.indexOf("\n") < 0 ? end.head.length : end.head.indexOf("\n");
      const junk = notHttp(buf, pos, pos + Math.min(lineLen, maxRequestLine + 1), lineLen <= maxRequestLine + 1);
      if (junk !== null) return this.die(out, junk);
      if (lineLen > maxRequestLine + 1) return this.die(out, failed(414, "request line too long"));
      if (end.head.length > maxRequestLine + maxHeaderBytes + 2) return this.die(out, failed(431, "header section too large"));
      const req = this.parseHead(end.head);
      pos = end.next;
      if (req.error !== 0) return this.die(out, req);
      out.push(req);
    }
    if (pos < buf.length) this.pending = buf.subarray(pos);
  }

  private die(out: Request[], req: Request): void {
    this.dead = true;
    this.pending = null;
    out.push(req);
  }

  private parseHead(head: string): Request {
    const lines = head.split("\n");
    let line = lines[0];
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    if (line.length > this.limits.maxRequestLine) return failed(414, "request line too long");
    const m = REQUEST_LINE.exec(line);
    if (m === null) return failed(400, "malformed request line");
    const [, method, target] = m;
    const version = line.slice(line.length - 8);
    if (!VALID_REQUEST_LINE.test(line)) {
      if (!TOKEN.test(method)) return failed(400, "method is not a token", "-", "-", version);
      return failed(400, "request target is not visible ASCII", method, "-", version);
    }
    const minor = line.charCodeAt(line.length - 1) - 48;
    if (m[3] !== "1") return failed(505, "HTTP major version is not 1", method, target, version);
    if (lines.length - 1 > this.limits.maxHeaders) return failed(431, "too many header fields", method, target, version);
    if (head.length - line.length > this.limits.maxHeaderBytes + 2) return failed(431, "header section too large", method, target, version);
    const http11 = minor >= 1;
    const req = blankRequest(0, "", method, target, version, http11);
    let host: string | null = null;
    let contentLength: string | null = null;
    let transferEncoding = false;
    let connection = "";
    const bad = (reason: string): Request => failed(400, reason, method, target, version);
    if (BAD_HEAD_BYTE.test(head)) return bad("control character in the head");
    for (let i = 1; i < lines.length; i++) {
      let h = lines[i];
      if (h.charCodeAt(h.length - 1) === 13) h = h.slice(0, -1);
      if (h.length === 0) return bad("empty header line");
      const c0 = h.charCodeAt(0);
      if (c0 === 32 || c0 === 9) return bad("obsolete line folding");
      const colon = h.indexOf(":");
      if (colon <= 0) return bad("header line without a field name");
      const name = h.slice(0, colon);
      if (!TOKEN.test(name)) return bad(`invalid field name "${name}"`);
      const value = trimOws(h.slice(colon + 1));
      if (value.includes("\r")) return bad(`bare CR in field "${name}"`);
      const lower = name.toLowerCase();
      switch (lower) {
        case "host":
          if (host !== null) return bad("duplicate Host");
          host = value;
          break;
        case "connection":
          connection += (connection ? "," : "") + value.toLowerCase();
          break;
        case "content-length":
          if (!/^\d+$/.test(value) || (contentLength !== null && contentLength !== value)) return bad("invalid Content-Length");
          contentLength = value;
          break;
        case "transfer-encoding":
          transferEncoding = true;
          break;
        case "if-modified-since":
          req.ifModifiedSince = value;
          break;
        case "range":
          if (req.range !== null) return bad("duplicate Range");
          req.range = value;
          break;
        case "if-range":
          req.ifRange = value;
          break;
        case "origin":
          req.origin = value;
          break;
        case "access-control-request-method":
          req.acRequestMethod = value;
          break;
        default: {
          // List-valued fields: repeated lines are one comma-joined list (RFC 9110 5.3).
          const key = LIST_FIELDS.get(lower);
          if (key !== undefined) req[key] = req[key] === null ? value : `${req[key]}, ${value}`;
        }
      }
    }
    if (http11 && host === null) return failed(400, "HTTP/1.1 request without Host", method, target, version);
    if (transferEncoding) {
      return contentLength !== null
        ? failed(400, "both Transfer-Encoding and Content-Length", method, target, version)
        : failed(411, "request bodies with Transfer-Encoding are not accepted", method, target, version);
    }
    if (connection !== "") {
      const tokens = connection.split(",").map((t) => t.trim());
      if (tokens.includes("close")) req.keepAlive = false;
      else if (!http11 && tokens.includes("keep-alive")) req.keepAlive = true;
    }
    if (contentLength !== null) {
      const n = Number(contentLength);
      if (n > this.limits.maxBodyBytes) return failed(413, "request body too large", method, target, version);
      this.discard = n;
    }
    return req;
  }
}
