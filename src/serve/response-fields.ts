// Response fields set by options, built once per server:
// - every response: the custom headers (--header) and, with cors, CORS's
//   "Access-Control-Allow-Origin: *" plus the fields a script may read
//   (Access-Control-Expose-Headers);
// - file responses (200, 206, 304): Cache-Control (--cache-control / --max-age);
// - a CORS preflight (OPTIONS with Access-Control-Request-Method): 204 with the methods
//   allowed, the request headers asked for (echoed when they are a token list) and how long
//   the answer may be cached.
import type { ResolvedServeOptions } from "./options.js";

export const PREFLIGHT_MAX_AGE_S = 86_400;
const EXPOSED = "Accept-Ranges, Content-Encoding, Content-Length, Content-Range, ETag";
const TOKEN_LIST = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+([ \t]*,[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*$/;

export interface ResponseFields {
  /** On every response. */
  readonly all: string;
  /** On file responses, after `all`. */
  readonly file: string;
  /** The Allow field value (405, OPTIONS). */
  readonly allow: string;
  readonly cors: boolean;
}

export function responseFields(opts: Pick<ResolvedServeOptions, "headers" | "cors" | "cacheControl">): ResponseFields {
  let all = "";
  for (const [name, value] of opts.headers) all += `${name}: ${value}\r\n`;
  if (opts.cors) all += `Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: ${EXPOSED}\r\n`;
  return {
    all,
    file: opts.cacheControl === null ? "" : `Cache-Control: ${opts.cacheControl}\r\n`,
    allow: opts.cors ? "GET, HEAD, OPTIONS" : "GET, HEAD",
    cors: opts.cors,
  };
}

/** The fields of a preflight answer, after `all`. */
export function preflightFields(allow: string, requestHeaders: string | null): string {
  const headers = requestHeaders !== null && TOKEN_LIST.test(requestHeaders.trim()) ? requestHeaders.trim() : "Range, If-None-Match, If-Modified-Since, If-Range";
  return `Access-Control-Allow-Methods: ${allow}\r\nAccess-Control-Allow-Headers: ${headers}\r\nAccess-Control-Max-Age: ${PREFLIGHT_MAX_AGE_S}\r\n`;
}
