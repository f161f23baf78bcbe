// Response heads, conditional requests and ranges (RFC 9110).
//
// Conditionals (13.2.2 order): If-None-Match, when present, decides alone (weak
// comparison, "*" matches any file) and If-Modified-Since is then ignored; otherwise
// If-Modified-Since answers 304 when the file is not newer (in whole seconds). Both
// apply to GET and HEAD only, which is all this server answers.
//
// Range (14): one "bytes=" range (a-b, a-, -n) -> 206 with Content-Range; a range that
// starts at or past the end (or a zero suffix) -> 416 with "Content-Range: bytes */size";
// several ranges, another unit or a syntax error -> the whole file with 200 (allowed:
// a server may ignore Range). If-Range: the range applies only when it names the current
// strong ETag or exactly the Last-Modified date; otherwise 200 with the whole file.
import type { FileEntry } from "./file-cache.js";
import { parseHttpDate } from "./http-date.js";

export const STATUS_TEXT: Record<number, string> = {
  200: "OK",
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

/** True when a GET/HEAD for `entry` should be answered 304 Not Modified. */
export function notModified(ifNoneMatch: string | null, ifModifiedSince: string | null, entry: FileEntry): boolean {
  if (ifNoneMatch !== null) return etagMatches(ifNoneMatch, entry.etag);
  if (ifModifiedSince !== null) {
    const since = parseHttpDate(ifModifiedSince);
    return since !== null && entry.mtimeSec <= since;
  }
  return false;
}

export type RangeResult = { start: number; end: number } | "unsatisfiable" | null;

/** The single byte range to serve (inclusive end), "unsatisfiable", or null for the whole file. */
export function parseRange(header: string | null, ifRange: string | null, entry: FileEntry): RangeResult {
  if (header === null) return null;
  if (ifRange !== null) {
    const v = ifRange.trim();
    if (v.startsWith('"') || v.startsWith("W/")) {
      if (v !== entry.etag) return null;
    } else if (parseHttpDate(v) !== entry.mtimeSec) {
      return null;
    }
  }
  const m = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i.exec(header);
  if (m === null) return null;
  const size = entry.size;
  const [, a, b] = m;
  if (a === "") {
    if (b === "") return null;
    const n = Number(b);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (b !== "" && Number(b) < start) return null;
  if (start >= size) return "unsatisfiable";
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  return { start, end };
}

/** Head + small text body of an error (or redirect) answer; HEAD gets the head only. */
export function errorResponse(status: number, date: string, mode: number, isHead: boolean, extraFields = "", detail = ""): { data: string; bodyBytes: number } {
  const body = `${status} ${STATUS_TEXT[status] ?? ""}\n${detail}`;
  const fields = `${extraFields}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n`;
  const h = head(status, date, fields, mode);
  return isHead ? { data: h, bodyBytes: 0 } : { data: h + body, bodyBytes: body.length };
}
