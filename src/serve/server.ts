// startServe(): the static file server on a loop. Used by `ringloop serve` (cli-serve.ts,
// one per worker thread with --workers) and by the tests.
//
// Timeouts: one sweep timer per server (loop.callLater, every SWEEP_DIVISOR-th of the
// shortest timeout, at least MIN_SWEEP_MS) checks each connection's deadline, instead of a
// timer armed and cancelled per request.
//
// close() is graceful: stop accepting; close idle connections now; busy ones close after
// their current response; whatever is still open after shutdownGraceMs is aborted. It
// resolves once every connection has ended, no body send or other response work
// (compression, a directory read) is in flight, the access log is flushed and the
// open-file cache has closed its fds.
//
// Reports (loop.callExceptionHandler, no exception): a connection refused at
// maxConnections, once per episode (an episode ends when a connection is admitted again).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type { AbstractEventLoop, AbstractFuture, AbstractServer, LoopMetrics, TimerHandle } from "../events.js";
import { HttpConnection, type ServeContext } from "./connection.js";
import { FileCache } from "./file-cache.js";
import { AccessLog } from "./access-log.js";
import { Clock } from "./http-date.js";
import { sendBody, bodyProgress } from "./send-body.js";
import { resolveOptions, type ServeOptions } from "./options.js";
import { fdBudget, openFileLimit, openFdCount } from "./fd-budget.js";
import { CompressCache } from "./compress-cache.js";
import { responseFields } from "./response-fields.js";
import { IdleList } from "./idle-list.js";

/** Memory for bodies compressed on the fly, per server. */
export const COMPRESS_CACHE_BYTES = 64 * 1024 * 1024;

export type { ServeOptions } from "./options.js";

const SWEEP_DIVISOR = 4;
const MIN_SWEEP_MS = 25;
const MAX_SWEEP_MS = 1000;

export interface ServeHandle {
  /** "http://host:port/" ("https://" with tlsCert/tlsKey) with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The directory served (its realpath). */
  readonly root: string;
  readonly backend: string;
  /**
   * Connections accepted and requests answered so far; bodies being sent by loop.sendfile
   * now; connections refused at maxConnections so far.
   */
  readonly stats: { connections: number; requests: number; sending: number; refused: number };
  /** The connection limit in effect (maxConnections, or the default from the open-file limit). */
  readonly maxConnections: number;
  /** Now: the stats, the connections open, and the loop's health (ops in flight, ring counters). */
  snapshot(): ServeSnapshot;
  /** Graceful shutdown (see above); calling it again returns the same promise. */
  close(): Promise<void>;
}

/** ServeHandle.snapshot(): what `ringloop serve --stats` prints. */
export interface ServeSnapshot {
  requests: number;
  connections: number;
  openConnections: number;
  refused: number;
  /** Bodies being sent by loop.sendfile now. */
  sending: number;
  /** The loop's operations in flight (loop.metrics().opsInFlight). */
  opsInFlight: number;
  metrics: LoopMetrics;
}

export async function startServe(loop: AbstractEventLoop, options: ServeOptions = {}): Promise<ServeHandle> {
  const opts = resolveOptions(options);
  const root = fs.realpathSync.native(opts.root);
  if (!fs.statSync(root).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, serve '${opts.root}'`), { code: "ENOTDIR", path: opts.root });
  const writer = opts.logWriter ?? ((text: string) => void process.stdout.write(text));
  const budget = opts.maxConnections === null || opts.cacheMaxEntries === null ? fdBudget(openFileLimit(), openFdCount(), 1, opts.cacheMaxEntries ?? undefined) : null;
  const maxConnections = opts.maxConnections ?? budget!.maxConnections;
  const compressor = opts.compress ? new CompressCache(COMPRESS_CACHE_BYTES) : null;
  const cache = new FileCache({
    root,
    validMs: opts.cacheValidMs,
    maxEntries: opts.cacheMaxEntries ?? budget!.cacheMaxEntries,
    bodyCache: opts.bodyCache,
    precompressed: opts.precompressed,
    compress: opts.compress,
    compressMaxBytes: opts.compressMaxBytes,
    onDrop: compressor === null ? undefined : (e) => compressor.forget(e),
  });
  let inFlight = 0;
  let allSettled: AbstractFuture<void> | null = null;
  const settled = (): void => {
    inFlight--;
    if (inFlight === 0 && allSettled !== null && !allSettled.done()) allSettled.setResult(undefined);
  };
  let refusing = false;
  const boundaryBase = crypto.randomBytes(8).toString("hex");
  let boundaries = 0;
  const ctx: ServeContext = {
    time: () => loop.time(),
    callExceptionHandler: (c) => loop.callExceptionHandler(c),
    sendBody: (t, fd, offset, count) => sendBody(loop, t, fd, offset, count),
    bodyProgress,
    root,
    cache,
    compressor,
    log: opts.quiet ? null : new AccessLog(loop, writer),
    clock: new Clock(),
    limits: { maxRequestLine: opts.maxRequestLine, maxHeaderBytes: opts.maxHeaderBytes, maxHeaders: opts.maxHeaders, maxBodyBytes: opts.maxBodyBytes },
    idleTimeoutMs: opts.idleTimeoutMs,
    headerTimeoutMs: opts.headerTimeoutMs,
    maxPipelined: opts.maxPipelined,
    maxConnections,
    dotfiles: opts.dotfiles,
    list: opts.list,
    spa: opts.spa,
    fields: responseFields(opts),
    boundary: () => `ringloop-${boundaryBase}-${(boundaries++).toString(36)}`,
    shuttingDown: false,
    connections: new Set(),
    idle: new IdleList<HttpConnection>(),
    refused: () => {
      if (refusing) return;
      refusing = true;
      loop.callExceptionHandler({ message: `ringloop serve: ${maxConnections} connections open (maxConnections) and none idle: refusing new connections` });
    },
    admitted: () => {
      refusing = false;
    },
    sendStarted: () => {
      inFlight++;
      ctx.stats.sending++;
    },
    sendSettled: () => {
      ctx.stats.sending--;
      settled();
    },
    workStarted: () => {
      inFlight++;
    },
    workSettled: settled,
    stats: { connections: 0, requests: 0, sending: 0, refused: 0 },
  };
  ctx.clock.tick();
  let server: AbstractServer;
  try {
    // HTTPS: ringloop's TLS layer; loop.sendfile then sends bodies by read + write through it.
    const ssl = opts.tlsCert !== null ? { cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey!) } : undefined;
    server = await loop.createServer(() => new HttpConnection(ctx), opts.host, opts.port, { reusePort: opts.reusePort, ssl });
  } catch (err) {
    cache.close();
    throw err;
  }
  const name = server.sockets[0].getsockname() as { host: string; port: number; family?: number };
  const hostPart = name.family === 6 ? `[${name.host}]` : name.host;
  const sweepMs = Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, Math.floor(Math.min(opts.idleTimeoutMs, opts.headerTimeoutMs) / SWEEP_DIVISOR)));
  let sweepTimer: TimerHandle | null = null;
  const sweep = (): void => {
    const now = loop.time();
    for (const c of ctx.connections) if (c.deadline !== 0 && now >= c.deadline) c.timedOut();
    sweepTimer = loop.callLater(sweepMs, sweep);
  };
  sweepTimer = loop.callLater(sweepMs, sweep);

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    ctx.shuttingDown = true;
    server.close();
    for (const c of [...ctx.connections]) c.shutdown();
    const grace = loop.callLater(opts.shutdownGraceMs, () => server.abortClients());
    try {
      await server.waitClosed();
      if (inFlight > 0) {
        allSettled = loop.createFuture<void>();
        await allSettled;
      }
    } finally {
      grace.cancel();
      sweepTimer?.cancel();
      sweepTimer = null;
      ctx.log?.flush();
      cache.close();
    }
  };
  return {
    url: `${opts.tlsCert !== null ? "https" : "http"}://${hostPart}:${name.port}/`,
    host: name.host,
    port: name.port,
    root,
    backend: loop.backend,
    stats: ctx.stats,
    maxConnections,
    snapshot: () => {
      const metrics = loop.metrics();
      const { requests, connections, refused, sending } = ctx.stats;
      return { requests, connections, openConnections: ctx.connections.size, refused, sending, opsInFlight: metrics.opsInFlight, metrics };
    },
    close: () => (closing ??= close()),
  };
}
