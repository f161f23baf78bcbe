// startServe(): the static file server on a loop. Used by `ringloop serve` (cli-serve.ts,
// one per worker thread with --workers) and by the tests.
//
// Timeouts: one sweep timer per server (loop.callLater, every SWEEP_DIVISOR-th of the
// shortest timeout, at least MIN_SWEEP_MS) checks each connection's deadline, instead of a
// timer armed and cancelled per request.
//
// close() is graceful: stop accepting; close idle connections now; busy ones close after
// their current response; whatever is still open after shutdownGraceMs is aborted. It
// resolves once every connection has ended, no body send is in flight, the access log is
// flushed and the open-file cache has closed its fds.
import * as fs from "node:fs";
import type { AbstractEventLoop, AbstractFuture, AbstractServer, TimerHandle } from "../events.js";
import { HttpConnection, type ServeContext } from "./connection.js";
import { FileCache } from "./file-cache.js";
import { AccessLog } from "./access-log.js";
import { Clock } from "./http-date.js";
import { sendBody, bodyProgress } from "./send-body.js";
import { resolveOptions, type ServeOptions } from "./options.js";

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
  /** Connections accepted and requests answered so far; bodies being sent by loop.sendfile now. */
  readonly stats: { connections: number; requests: number; sending: number };
  /** Graceful shutdown (see above); calling it again returns the same promise. */
  close(): Promise<void>;
}

export async function startServe(loop: AbstractEventLoop, options: ServeOptions = {}): Promise<ServeHandle> {
  const opts = resolveOptions(options);
  const root = fs.realpathSync.native(opts.root);
  if (!fs.statSync(root).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, serve '${opts.root}'`), { code: "ENOTDIR", path: opts.root });
  const writer = opts.logWriter ?? ((text: string) => void process.stdout.write(text));
  const cache = new FileCache({ root, validMs: opts.cacheValidMs, maxEntries: opts.cacheMaxEntries, bodyCache: opts.bodyCache });
  let sendsInFlight = 0;
  let sendsDone: AbstractFuture<void> | null = null;
  const ctx: ServeContext = {
    time: () => loop.time(),
    callExceptionHandler: (c) => loop.callExceptionHandler(c),
    sendBody: (t, fd, offset, count) => sendBody(loop, t, fd, offset, count),
    bodyProgress,
    cache,
    log: opts.quiet ? null : new AccessLog(loop, writer),
    clock: new Clock(),
    limits: { maxRequestLine: opts.maxRequestLine, maxHeaderBytes: opts.maxHeaderBytes, maxHeaders: opts.maxHeaders, maxBodyBytes: opts.maxBodyBytes },
    idleTimeoutMs: opts.idleTimeoutMs,
    headerTimeoutMs: opts.headerTimeoutMs,
    maxPipelined: opts.maxPipelined,
    shuttingDown: false,
    connections: new Set(),
    sendStarted: () => {
      sendsInFlight++;
      ctx.stats.sending++;
    },
    sendSettled: () => {
      sendsInFlight--;
      ctx.stats.sending--;
      if (sendsInFlight === 0 && sendsDone !== null && !sendsDone.done()) sendsDone.setResult(undefined);
    },
    stats: { connections: 0, requests: 0, sending: 0 },
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
      if (sendsInFlight > 0) {
        sendsDone = loop.createFuture<void>();
        await sendsDone;
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
    close: () => (closing ??= close()),
  };
}
