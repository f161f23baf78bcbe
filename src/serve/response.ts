// Response heads, conditional requests and ranges (RFC 9110).
//
// Conditionals (13.2.2 order): If-None-Match, when present, decides alone (weak
// comparison, "*" matches any file) and If-Modified-Since is then ignored; otherwise
// If-Modified-Since answers 304 when the file is not newer (in whole seconds). Both
// apply to GET and HEAD only, which is all this server answers.
//
// Range (14): "bytes=" followed by ranges (a-b, a-, -n). Ranges that start at or past the
// end (or zero suffixes) are dropped; none left -> 416 with "Content-Range: bytes */size".
// One left -> 206 with Content-Range; several -> 206 multipart/byteranges (15.3.7.2), the
// parts in the order asked. More than MAX_RANGES ranges, ranges that overlap, another
// unit or a syntax error -> the whole file with 200 (a server may ignore Range; RFC 9110
// 14.2 names overlapping and many small ranges as a denial-of-service pattern). If-Range:
// the ranges apply only when it names the current strong ETag or exactly the Last-Modified
// date; otherwise 200 with the whole file.
import { parseHttpDate } from "./http-date.js";

/** Most ranges answered as multipart/byteranges; more get the whole file. */
export const MAX_RANGES = 32;

export const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  304: "Not Modified",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  416: "Range Not Satisfiable",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** Connection modes: how the head ends. */
export const KEEP_ALIVE_11 = 0;
export const KEEP_ALIVE_10 = 1;
export const CLOSE = 2;

const CONNECTION_FIELD = ["", "Connection: keep-alive\r\n", "Connection: close\r\n"];

/** A full head: status line, Server, Date, the given fields, Connection, empty line. */
export function head(status: number, date: string, fields: string, mode: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\nServer: ringloop\r\nDate: ${date}\r\n${fields}${CONNECTION_FIELD[mode]}\r\n`;
}

function etagMatches(list: string, etag: string): boolean {
  if (list.trim() === "*") return true;
  const ours = etag.startsWith("W/") ? etag.slice(2) : etag;
  for (let tag of list.split(",")) {
    tag = tag.trim();
    if (tag.startsWith("W/")) tag = tag.slice(2);
    if (tag === ours) return true;
  }
  return false;
}

/** What conditionals and ranges are checked against: one representation's validators and size. */
export interface Validators {
  etag: string;
  /** Last-Modified in whole seconds. */
  mtimeSec: number;
  size: number;
}

/** True when a GET/HEAD for `v` should be answered 304 Not Modified. */
export function notModified(ifNoneMatch: string | null, ifModifiedSince: string | null, v: Validators): boolean {
  if (ifNoneMatch !== null) return etagMatches(ifNoneMatch, v.etag);
  if (ifModifiedSince !== null) {
    const since = parseHttpDate(ifModifiedSince);
    return since !== null && v.mtimeSec <= since;
  }
  return false;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export type RangeResult = ByteRange[] | "unsatisfiable" | null;

/** The byte ranges to serve (inclusive ends, in the order asked), "unsatisfiable", or null for the whole file. */
export function parseRanges(header: string | null, ifRange: string | null, v: Validators): RangeResult {
  if (header === null) return null;
  if (ifRange !== null) {
    const r = ifRange.trim();
    if (r.startsWith('"') || r.startsWith("W/")) {
      if (r !== v.etag) return null;
    } else if (parseHttpDate(r) !== v.mtimeSec) {
      return null;
    }
  }
  const m = /^bytes[ \t]*=(.*)$/i.exec(header);
  if (m === null) return null;
  const specs = m[1].split(",");
  if (specs.length > MAX_RANGES) return null;
  const size = v.size;
  const out: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^[ \t]*(\d*)-(\d*)[ \t]*$/.exec(spec);
    if (r === null) return null;
    const [, a, b] = r;
    if (a === "") {
      if (b === "") return null;
      const n = Number(b);
      if (n > 0 && size > 0) out.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(a);
    if (b !== "" && Number(b) < start) return null;
    if (start < size) out.push({ start, end: b === "" ? size - 1 : Math.min(Number(b), size - 1) });
  }
  if (out.length === 0) return "unsatisfiable";
  if (out.length > 1) {
    const sorted = [...out].sort((x, y) => x.start - y.start);
    for (let i = 1; i < sorted.length; i++) if (sorted[i].start <= sorted[i - 1].end) return null;
  }
  return out;
}

/** multipart/byteranges framing: the part heads (each before its range's bytes), the closing delimiter, the body length. */
export function multipartLayout(ranges: ByteRange[], contentType: string, size: number, boundary: string): { heads: string[]; tail: string; length: number } {
  const heads = ranges.map((r, i) => `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`);
  const tail = `\r\n--${boundary}--\r\n`;
  let length = tail.length;
  for (let i = 0; i < ranges.length; i++) length += heads[i].length + ranges[i].end - ranges[i].start + 1;
  return { heads, tail, length };
}

/** Head + small text body of an error (or redirect) answer; HEAD gets the head only. */
export function errorResponse(status: number, date: string, mode: number, isHead: boolean, extraFields = "", detail = ""): { data: string; bodyBytes: number } {
  const body = `${status} ${STATUS_TEXT[status] ?? ""}\n${detail}`;
  const fields = `${extraFields}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n`;
  const h = head(status, date, fields, mode);
  return isHead ? { data: h, bodyBytes: 0 } : { data: h + body, bodyBytes: body.length };
}
