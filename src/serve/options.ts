// startServe() options: defaults and checks (a TypeError/RangeError naming the option).
import * as path from "node:path";
import { describeType } from "../validate.js";

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
  /** Answer 408 and close when a request head is not complete this long after its first byte. */
  headerTimeoutMs?: number;
  maxRequestLine?: number;
  maxHeaderBytes?: number;
  maxHeaders?: number;
  maxBodyBytes?: number;
  /** Parsed requests a connection may queue before reading pauses. */
  maxPipelined?: number;
  /** Open-file cache: how long an entry is trusted before the file system is asked again. */
  cacheValidMs?: number;
  cacheMaxEntries?: number;
  /** Keep bodies of files up to SMALL_BODY_MAX in memory (head + body in one write). */
  bodyCache?: boolean;
  /** Graceful close: connections still busy after this are aborted. */
  shutdownGraceMs?: number;
  /**
   * HTTPS: PEM certificate (chain) and key files, both or neither. Bodies then go through
   * the TLS layer (read + write), not sendfile.
   */
  tlsCert?: string | null;
  tlsKey?: string | null;
}

export type ResolvedServeOptions = Required<Omit<ServeOptions, "logWriter">> & { logWriter: ((text: string) => void) | null };

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
};

const COUNTS = ["maxRequestLine", "maxHeaderBytes", "maxHeaders", "maxPipelined", "cacheMaxEntries"] as const;
const DURATIONS = ["idleTimeoutMs", "headerTimeoutMs", "shutdownGraceMs"] as const;

function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number") throw new TypeError(`The "options.${name}" option must be a number. Received ${describeType(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`The "options.${name}" option must be an integer from ${min} to ${max}. Received ${value}`);
  return value;
}

function checkBool(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new TypeError(`The "options.${name}" option must be a boolean. Received ${describeType(value)}`);
  return value;
}

export function resolveOptions(opts: ServeOptions): ResolvedServeOptions {
  if (opts === null || typeof opts !== "object") throw new TypeError(`The "options" argument must be an object. Received ${describeType(opts)}`);
  const root = opts.root ?? process.cwd();
  if (typeof root !== "string" || root === "") throw new TypeError(`The "options.root" option must be a non-empty string. Received ${describeType(root)}`);
  const host = opts.host ?? DEFAULTS.host;
  if (typeof host !== "string" || host === "") throw new TypeError(`The "options.host" option must be a non-empty string. Received ${describeType(host)}`);
  const out: ResolvedServeOptions = {
    root: path.resolve(root),
    host,
    port: checkInt("port", opts.port ?? DEFAULTS.port, 0, 65535),
    quiet: checkBool("quiet", opts.quiet ?? false),
    logWriter: opts.logWriter ?? null,
    reusePort: checkBool("reusePort", opts.reusePort ?? false),
    idleTimeoutMs: 0,
    headerTimeoutMs: 0,
    maxRequestLine: 0,
    maxHeaderBytes: 0,
    maxHeaders: 0,
    maxBodyBytes: checkInt("maxBodyBytes", opts.maxBodyBytes ?? DEFAULTS.maxBodyBytes, 0, Number.MAX_SAFE_INTEGER),
    maxPipelined: 0,
    cacheValidMs: checkInt("cacheValidMs", opts.cacheValidMs ?? DEFAULTS.cacheValidMs, 0, 86_400_000),
    cacheMaxEntries: 0,
    bodyCache: checkBool("bodyCache", opts.bodyCache ?? DEFAULTS.bodyCache),
    shutdownGraceMs: 0,
    tlsCert: null,
    tlsKey: null,
  };
  for (const k of ["tlsCert", "tlsKey"] as const) {
    const v = opts[k] ?? null;
    if (v !== null && (typeof v !== "string" || v === "")) throw new TypeError(`The "options.${k}" option must be a file path. Received ${describeType(v)}`);
    out[k] = v;
  }
  if ((out.tlsCert === null) !== (out.tlsKey === null)) throw new TypeError(`The "options.tlsCert" and "options.tlsKey" options go together: give both or neither`);
  if (out.logWriter !== null && typeof out.logWriter !== "function") throw new TypeError(`The "options.logWriter" option must be a function. Received ${describeType(out.logWriter)}`);
  for (const k of COUNTS) out[k] = checkInt(k, opts[k] ?? DEFAULTS[k], 1, 1 << 30);
  for (const k of DURATIONS) out[k] = checkInt(k, opts[k] ?? DEFAULTS[k], 1, 86_400_000);
  return out;
}
