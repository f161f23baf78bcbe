// startServe() options: defaults and checks. A bad value throws a TypeError/RangeError
// naming the option; the error also carries `option` (the key) and `rule` (what the value
// must be), so the CLI can name its own flag instead.
import * as path from "node:path";
import { describeType, argTypeError } from "../validate.js";

/** How paths with a segment starting with "." are answered (serve-static's `dotfiles`). */
export type DotfilesMode = "allow" | "deny" | "ignore";

export interface ServeOptions {
  /** Directory served (default: the current directory). */
  root?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** No access log. */
  quiet?: boolean;
  /** Where access-log text goes (default process.stdout). */
  logWriter?: (text: string) => void;
  /** SO_REUSEPORT on the listening socket (--workers). */
  reusePort?: boolean;
  /** Close a keep-alive connection after this long without a request. */
  idleTimeoutMs?: number;
  /**
   * A new connection's first request head must be complete this long after the accept; a
   * later request head this long after its first byte. Else 408 (or, for a connection that
   * sent nothing, a close).
   */
  headerTimeoutMs?: number;
  maxRequestLine?: number;
  maxHeaderBytes?: number;
  maxHeaders?: number;
  maxBodyBytes?: number;
  /** Parsed requests a connection may queue before reading pauses. */
  maxPipelined?: number;
  /** Open-file cache: how long an entry is trusted before the file system is asked again. */
  cacheValidMs?: number;
  /** Open-file cache size (default 1024, less when the open-file limit is low: fd-budget.ts). */
  cacheMaxEntries?: number;
  /** Keep bodies of files up to SMALL_BODY_MAX in memory (head + body in one write). */
  bodyCache?: boolean;
  /** Graceful close: connections still busy after this are aborted. */
  shutdownGraceMs?: number;
  /** Paths with a dot segment (other than a leading "/.well-known/"): allow, deny (403), ignore (404, the default). */
  dotfiles?: DotfilesMode;
  /**
   * Most connections at once (default: from the open-file limit, fd-budget.ts). Past it the
   * oldest idle connection is closed to make room, or, when none is idle, the new one.
   */
  maxConnections?: number;
  /** Serve "file.br" / "file.gz" beside "file" to clients that accept them (default true). */
  precompressed?: boolean;
  /** Compress compressible files up to compressMaxBytes with brotli or gzip, cached in memory. */
  compress?: boolean;
  compressMaxBytes?: number;
  /** Cache-Control of file responses (200, 206, 304); exclusive with maxAge. */
  cacheControl?: string;
  /** Shorthand for cacheControl "public, max-age=S". */
  maxAge?: number;
  /** Access-Control-Allow-Origin: * on every response, and answers to preflight OPTIONS. */
  cors?: boolean;
  /** Extra response fields, on every response: {"X-A": "1"} or [["X-A", "1"], ...]. */
  headers?: Record<string, string> | Array<[string, string]>;
  /** HTML / JSON listing of a directory without index.html (default off: 404). */
  list?: boolean;
  /** Answer a 404 for a path without an extension with /index.html (single-page apps). */
  spa?: boolean;
  /**
   * HTTPS: PEM certificate (chain) and key files, both or neither. Bodies then go through
   * the TLS layer (read + write), not sendfile.
   */
  tlsCert?: string | null;
  tlsKey?: string | null;
}

export type ResolvedServeOptions = Required<Omit<ServeOptions, "logWriter" | "maxConnections" | "cacheMaxEntries" | "cacheControl" | "maxAge" | "headers">> & {
  logWriter: ((text: string) => void) | null;
  /** null: from the open-file limit. */
  maxConnections: number | null;
  cacheMaxEntries: number | null;
  cacheControl: string | null;
  headers: Array<[string, string]>;
};

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 8080,
  idleTimeoutMs: 60_000,
  headerTimeoutMs: 10_000,
  maxRequestLine: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 100,
  maxBodyBytes: 64 * 1024,
  maxPipelined: 32,
  cacheValidMs: 1000,
  cacheMaxEntries: 1024,
  bodyCache: true,
  shutdownGraceMs: 10_000,
  dotfiles: "ignore" as DotfilesMode,
  precompressed: true,
  compressMaxBytes: 4 * 1024 * 1024,
};

/**
 * Fields the server writes itself: a custom header may not duplicate them (the value
 * names the option that sets it, where one does).
 */
const MANAGED_FIELDS: Record<string, string> = {
  "content-length": "",
  "transfer-encoding": "",
  connection: "",
  "keep-alive": "",
  upgrade: "",
  trailer: "",
  date: "",
  server: "",
  "content-type": "",
  "content-range": "",
  "content-encoding": "",
  "accept-ranges": "",
  etag: "",
  "last-modified": "",
  location: "",
  allow: "",
  vary: "",
  "cache-control": "cacheControl / maxAge",
};

const COUNTS = ["maxRequestLine", "maxHeaderBytes", "maxHeaders", "maxPipelined"] as const;
const DURATIONS = ["idleTimeoutMs", "headerTimeoutMs", "shutdownGraceMs"] as const;
const FLAGS = ["quiet", "reusePort", "bodyCache", "precompressed", "compress", "cors", "list", "spa"] as const;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value: visible ASCII, SP and HTAB, and obs-text (no CR, LF, NUL or other controls). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A TypeError/RangeError naming the option, with `option` and `rule` for the CLI. */
export function optionError(kind: "type" | "range", option: string, rule: string, received: string): TypeError | RangeError {
  const Ctor = kind === "type" ? TypeError : RangeError;
  return Object.assign(new Ctor(`The "options.${option}" option ${rule}. Received ${received}`), { option, rule, received });
}

function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number") throw optionError("type", name, "must be a number", describeType(value));
  if (!Number.isInteger(value) || value < min || value > max) throw optionError("range", name, `must be an integer from ${min} to ${max}`, String(value));
  return value;
}

function checkBool(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw optionError("type", name, "must be a boolean", describeType(value));
  return value;
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== "string" || value === "") throw optionError("type", name, "must be a non-empty string", describeType(value));
  return value;
}

function checkDotfiles(value: unknown): DotfilesMode {
  if (value !== "allow" && value !== "deny" && value !== "ignore") throw optionError("range", "dotfiles", 'must be "allow", "deny" or "ignore"', JSON.stringify(value) ?? String(value));
  return value;
}

/** A field value as it will be sent: trimmed, no CR/LF/controls. */
function checkFieldValue(name: string, value: unknown, option: string): string {
  if (typeof value !== "string") throw optionError("type", option, `must give "${name}" a string value`, describeType(value));
  const v = value.trim();
  if (!FIELD_VALUE.test(v)) throw optionError("range", option, `must give "${name}" a value without CR, LF or control characters`, JSON.stringify(value));
  return v;
}

function checkHeaders(value: unknown, cors: boolean): Array<[string, string]> {
  if (value === undefined) return [];
  let pairs: unknown[];
  if (Array.isArray(value)) pairs = value;
  else if (value !== null && typeof value === "object") pairs = Object.entries(value);
  else throw optionError("type", "headers", "must be an object or an array of [name, value] pairs", describeType(value));
  return pairs.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw optionError("type", "headers", "must be an object or an array of [name, value] pairs", describeType(pair));
    const [name, v] = pair as [unknown, unknown];
    if (typeof name !== "string" || !TOKEN.test(name)) throw optionError("range", "headers", "must name fields with tokens (letters, digits, !#$%&'*+-.^_`|~)", JSON.stringify(name) ?? String(name));
    const lower = name.toLowerCase();
    const managed = MANAGED_FIELDS[lower];
    if (managed !== undefined) throw optionError("range", "headers", `must not set "${name}": the server writes it${managed ? ` (use ${managed})` : ""}`, JSON.stringify(name));
    if (cors && lower.startsWith("access-control-")) throw optionError("range", "headers", `must not set "${name}" together with cors`, JSON.stringify(name));
    return [name, checkFieldValue(name, v, "headers")];
  });
}

export function resolveOptions(opts: ServeOptions): ResolvedServeOptions {
  if (opts === null || typeof opts !== "object") throw argTypeError(`The "options" argument must be an object. Received ${describeType(opts)}`);
  const cors = checkBool("cors", opts.cors ?? false);
  let cacheControl: string | null = null;
  if (opts.cacheControl !== undefined && opts.maxAge !== undefined) throw optionError("range", "maxAge", "cannot be given together with cacheControl", String(opts.maxAge));
  if (opts.cacheControl !== undefined) cacheControl = checkFieldValue("Cache-Control", checkString("cacheControl", opts.cacheControl), "cacheControl");
  if (opts.maxAge !== undefined) cacheControl = `public, max-age=${checkInt("maxAge", opts.maxAge, 0, 2 ** 31 - 1)}`;
  const out: ResolvedServeOptions = {
    root: path.resolve(checkString("root", opts.root ?? process.cwd())),
    host: checkString("host", opts.host ?? DEFAULTS.host),
    port: checkInt("port", opts.port ?? DEFAULTS.port, 0, 65535),
    quiet: false,
    logWriter: opts.logWriter ?? null,
    reusePort: false,
    idleTimeoutMs: 0,
    headerTimeoutMs: 0,
    maxRequestLine: 0,
    maxHeaderBytes: 0,
    maxHeaders: 0,
    maxBodyBytes: checkInt("maxBodyBytes", opts.maxBodyBytes ?? DEFAULTS.maxBodyBytes, 0, Number.MAX_SAFE_INTEGER),
    maxPipelined: 0,
    cacheValidMs: checkInt("cacheValidMs", opts.cacheValidMs ?? DEFAULTS.cacheValidMs, 0, 86_400_000),
    cacheMaxEntries: opts.cacheMaxEntries === undefined ? null : checkInt("cacheMaxEntries", opts.cacheMaxEntries, 1, 1 << 30),
    bodyCache: false,
    shutdownGraceMs: 0,
    dotfiles: checkDotfiles(opts.dotfiles ?? DEFAULTS.dotfiles),
    maxConnections: opts.maxConnections === undefined ? null : checkInt("maxConnections", opts.maxConnections, 1, 1 << 30),
    precompressed: false,
    compress: false,
    compressMaxBytes: checkInt("compressMaxBytes", opts.compressMaxBytes ?? DEFAULTS.compressMaxBytes, 1, 1 << 30),
    cacheControl,
    cors,
    headers: checkHeaders(opts.headers, cors),
    list: false,
    spa: false,
    tlsCert: null,
    tlsKey: null,
  };
  for (const k of ["tlsCert", "tlsKey"] as const) {
    const v = opts[k] ?? null;
    if (v !== null && (typeof v !== "string" || v === "")) throw optionError("type", k, "must be a file path", describeType(v));
    out[k] = v;
  }
  if ((out.tlsCert === null) !== (out.tlsKey === null)) {
    const [given, missing] = out.tlsCert !== null ? (["tlsCert", "tlsKey"] as const) : (["tlsKey", "tlsCert"] as const);
    throw optionError("type", given, `needs ${missing} too (both or neither)`, JSON.stringify(out[given]));
  }
  if (out.logWriter !== null && typeof out.logWriter !== "function") throw optionError("type", "logWriter", "must be a function", describeType(out.logWriter));
  for (const k of FLAGS) out[k] = checkBool(k, opts[k] ?? (k in DEFAULTS ? DEFAULTS[k as keyof typeof DEFAULTS] : false));
  for (const k of COUNTS) out[k] = checkInt(k, opts[k] ?? DEFAULTS[k], 1, 1 << 30);
  for (const k of DURATIONS) out[k] = checkInt(k, opts[k] ?? DEFAULTS[k], 1, 86_400_000);
  return out;
}
