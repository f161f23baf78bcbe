// The loop's stream methods (asyncio base_events create_connection, create_server,
// create_unix_*, connect_accepted_socket), written once over the Proactor seam.
//
// createConnection: getaddrinfo, then every address in turn; with happyEyeballsDelay,
// RFC 8305: addresses interleaved by family (first family first) and attempts staggered
// by the delay, the next one starting early when one fails; the first success wins and the
// others are aborted (a late success is closed). Errors are aggregated as asyncio does:
// one error -> it; all with the same message -> the first; else an Error "Multiple
// exceptions: ..." with `errors`.
import * as fs from "node:fs";
import type { Proactor, StreamEndpoint, Listener } from "./proactor.js";
import {
  SOCK_STREAM,
  type AddrInfo,
  type CreateConnectionOptions,
  type CreateServerOptions,
  type CreateUnixConnectionOptions,
  type CreateUnixServerOptions,
  type ConnectAcceptedSocketOptions,
  type SockAddr,
  type TimerHandle,
} from "./events.js";
import { AI_PASSIVE } from "./dns.js";
import { abortReason } from "./exceptions.js";
import { describeType, validateCallback, validateSignal, argRangeError, argTypeError } from "./validate.js";
import { systemError, errno } from "./system-error.js";
import { StreamTransport } from "./transports/stream.js";
import { Server, discardEndpoint, type ServerLoop, type ProtocolFactory, type UnixPathOwner } from "./server.js";
import { isIpAddr } from "./sockaddr.js";
import { wantsTls, tlsSettings, checkTimeouts, checkServerHostname, type TlsSettings } from "./tls/options.js";
import { tlsOverEndpoint, afterConnectionMade } from "./tls/start.js";

export interface StreamLoop extends ServerLoop {
  readonly _proactor: Proactor;
  getaddrinfo(host: string | null, port: number | string | null, opts?: { family?: 0 | 4 | 6; type?: number; flags?: number }): Promise<AddrInfo[]>;
  callLater(delayMs: number, cb: (...args: any[]) => unknown, ...args: unknown[]): TimerHandle;
}

// ---------------------------------------------------------------- validation

function checkFactory(f: unknown): asserts f is ProtocolFactory {
  validateCallback(f, "protocolFactory");
}

function checkOpts<T>(opts: unknown): T {
  if (opts === undefined) return {} as T;
  if (opts === null || typeof opts !== "object") throw argTypeError(`The "opts" argument must be an object. Received ${describeType(opts)}`);
  return opts as T;
}

/**
 * The TLS settings of a method's `ssl`, `serverHostname` and timeout options (tls/options.ts),
 * or null without ssl. `defaultHostname`: a client's name when serverHostname is not given
 * (asyncio: the host); a client without either is a TypeError.
 */
function checkSsl(opts: CreateConnectionOptions & CreateServerOptions, serverSide: boolean, defaultHostname: string | null = null): TlsSettings | null {
  const tls = wantsTls(opts.ssl);
  const timeouts = checkTimeouts(opts, tls);
  let hostname = checkServerHostname(opts.serverHostname, tls);
  if (!tls) return null;
  if (serverSide && hostname !== null) throw argTypeError(`The "opts.serverHostname" option is for clients (a server's name is in its certificate)`, "ERR_INVALID_ARG_VALUE");
  if (!serverSide) {
    hostname ??= defaultHostname;
    if (hostname === null) throw argTypeError(`The "opts.serverHostname" option is required with ssl when there is no host (the name checked against the certificate; "" checks none)`, "ERR_MISSING_ARGS");
  }
  return tlsSettings(opts.ssl, serverSide, hostname, timeouts);
}

function checkFd(fd: unknown, name: string): asserts fd is number {
  if (typeof fd !== "number" || !Number.isInteger(fd)) {
    throw argTypeError(`The "${name}" argument must be a file descriptor (an integer). Received ${describeType(fd)}`);
  }
  if (fd < 0) throw argRangeError(`The "${name}" argument must be a file descriptor >= 0. Received ${fd}`);
}

function checkFamily(family: unknown): 0 | 4 | 6 {
  if (family === undefined) return 0;
  if (family !== 0 && family !== 4 && family !== 6) throw argTypeError(`The "opts.family" option must be 0, 4 or 6. Received ${describeType(family)}`, "ERR_INVALID_ARG_VALUE");
  return family;
}

function checkBool(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw argTypeError(`The "opts.${name}" option must be a boolean. Received ${describeType(v)}`);
  return v;
}

function checkBacklog(v: unknown): number {
  if (v === undefined) return 100;
  if (typeof v !== "number" || !Number.isInteger(v)) throw argTypeError(`The "opts.backlog" option must be an integer. Received ${describeType(v)}`);
  if (v < 0) throw argRangeError(`The "opts.backlog" option must be >= 0. Received ${v}`);
  return v;
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== "string") throw argTypeError(`The "path" argument must be a string. Received ${describeType(path)}`);
  if (path.length === 0) throw argRangeError(`The "path" argument must not be empty`, "ERR_INVALID_ARG_VALUE");
}

// ---------------------------------------------------------------- connections

/** Wraps a connected endpoint in a transport (over TLS with `tls`); resolves once connectionMade has run. */
async function makeTransport(loop: StreamLoop, endpoint: StreamEndpoint, protocolFactory: ProtocolFactory, tcp: boolean, tls: TlsSettings | null): Promise<[StreamTransport, unknown]> {
  let protocol: unknown;
  try {
    protocol = protocolFactory();
    if (protocol === null || typeof protocol !== "object") throw argTypeError(`protocolFactory() must return a protocol object. Received ${describeType(protocol)}`, "ERR_INVALID_RETURN_VALUE");
  } catch (err) {
    await discardEndpoint(endpoint);
    throw err;
  }
  if (tcp) endpoint.setNoDelay(true);
  let transport: StreamTransport;
  if (tls !== null) {
    transport = await tlsOverEndpoint(loop, endpoint, protocol, tls).handshake;
  } else {
    transport = new StreamTransport(loop, endpoint, protocol, StreamTransport.extraFor(endpoint));
  }
  // The transport scheduled connectionMade with callSoon; this callback runs after it.
  await afterConnectionMade(loop);
  return [transport, protocol];
}

/** asyncio's aggregation of connect errors. */
export function aggregateErrors(errors: Error[]): Error {
  if (errors.length === 1) return errors[0];
  const model = String(errors[0]);
  if (errors.every((e) => String(e) === model)) return errors[0];
  const err = new Error(`Multiple exceptions: ${errors.map((e) => String(e)).join(", ")}`) as Error & { errors: Error[] };
  err.errors = errors;
  return err;
}

/** RFC 8305 section 4: alternate families, `first` addresses of the first family up front. */
export function interleaveAddrinfos(infos: AddrInfo[], first = 1): AddrInfo[] {
  const byFamily = new Map<number, AddrInfo[]>();
  for (const i of infos) {
    const list = byFamily.get(i.family);
    if (list) list.push(i);
    else byFamily.set(i.family, [i]);
  }
  const lists = [...byFamily.values()];
  const out: AddrInfo[] = [];
  if (lists.length > 0 && first > 1) out.push(...lists[0].splice(0, first - 1));
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

type Attempt = (signal: AbortSignal) => Promise<StreamEndpoint>;

/**
 * asyncio.staggered.staggered_race: attempt i+1 starts `delayMs` after attempt i started,
 * or at once when attempt i fails. The first success wins; the rest are aborted, and one
 * that still succeeds is closed. All failed -> their errors in attempt order.
 */
export function staggeredRace(loop: StreamLoop, attempts: Attempt[], delayMs: number | null, signal?: AbortSignal): Promise<StreamEndpoint> {
  return new Promise((resolve, reject) => {
    const errors: Array<Error | undefined> = new Array(attempts.length);
    const controllers: AbortController[] = [];
    let started = 0;
    let failed = 0;
    let settled = false;
    let timer: TimerHandle | null = null;

    const finish = (): void => {
      settled = true;
      timer?.cancel();
      timer = null;
      signal?.removeEventListener("abort", onAbort);
      for (const c of controllers) c.abort();
    };
    const onAbort = (): void => {
      if (settled) return;
      finish();
      reject(abortReason(signal!));
    };
    const startNext = (): void => {
      timer?.cancel();
      timer = null;
      if (settled || started >= attempts.length) return;
      const index = started++;
      const controller = new AbortController();
      controllers.push(controller);
      attempts[index](controller.signal).then(
        (endpoint) => {
          if (settled) {
            void discardEndpoint(endpoint);
            return;
          }
          finish();
          resolve(endpoint);
        },
        (err: unknown) => {
          errors[index] = err instanceof Error ? err : new Error(String(err));
          failed++;
          if (settled) return;
          if (failed === attempts.length) {
            finish();
            reject(aggregateErrors(errors as Error[]));
          } else if (index === started - 1) {
            startNext();
          }
        },
      );
      if (delayMs !== null && started < attempts.length) timer = loop.callLater(delayMs, startNext);
    };
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    if (attempts.length === 0) {
      finish();
      reject(new Error("getaddrinfo() returned empty list"));
      return;
    }
    startNext();
  });
}

export async function createConnection(
  loop: StreamLoop,
  protocolFactory: unknown,
  host?: string | null,
  port?: number | string | null,
  optsIn?: CreateConnectionOptions,
): Promise<[StreamTransport, unknown]> {
  checkFactory(protocolFactory);
  const opts = checkOpts<CreateConnectionOptions>(optsIn);
  const tls = checkSsl(opts, false, typeof host === "string" ? host : null);
  const family = checkFamily(opts.family);
  const signal = validateSignal(opts.signal);
  const delay = opts.happyEyeballsDelay ?? null;
  if (delay !== null && (typeof delay !== "number" || !(delay >= 0))) throw argTypeError(`The "opts.happyEyeballsDelay" option must be a number >= 0 (ms). Received ${describeType(delay)}`);
  const interleave = opts.interleave ?? (delay !== null ? 1 : 0);
  if (typeof interleave !== "number" || !Number.isInteger(interleave) || interleave < 0) throw argTypeError(`The "opts.interleave" option must be an integer >= 0. Received ${describeType(interleave)}`);
  const p = loop._proactor;
  const hostGiven = host !== undefined && host !== null;
  const portGiven = port !== undefined && port !== null;
  if (opts.sock !== undefined) {
    if (hostGiven || portGiven) throw argTypeError("host/port and sock can not be specified at the same time", "ERR_INVALID_ARG_VALUE");
    checkFd(opts.sock, "opts.sock");
    const ep = p.adoptStream(opts.sock);
    return makeTransport(loop, ep, protocolFactory, isIpAddr(ep.sockname()), tls);
  }
  if (!hostGiven && !portGiven) throw argTypeError("host and port was not specified and no sock specified", "ERR_MISSING_ARGS");
  if (signal?.aborted) throw abortReason(signal);

  const infos = await loop.getaddrinfo(host ?? null, port ?? null, { family, type: SOCK_STREAM });
  if (infos.length === 0) throw new Error("getaddrinfo() returned empty list");
  let localInfos: AddrInfo[] | null = null;
  if (opts.localAddr !== undefined && opts.localAddr !== null) {
    const la = opts.localAddr;
    if (typeof la !== "object") throw argTypeError(`The "opts.localAddr" option must be { host, port }. Received ${describeType(la)}`);
    localInfos = await loop.getaddrinfo(la.host ?? null, la.port ?? 0, { family, type: SOCK_STREAM, flags: AI_PASSIVE });
    if (localInfos.length === 0) throw new Error("getaddrinfo() returned empty list");
  }
  const ordered = interleave > 0 ? interleaveAddrinfos(infos, interleave) : infos;
  const attempts: Attempt[] = ordered.map((info) => (attemptSignal) => {
    const addr: SockAddr = { host: info.host, port: info.port, family: info.family };
    let localAddr: SockAddr | undefined;
    if (localInfos !== null) {
      const local = localInfos.find((l) => l.family === info.family);
      if (local === undefined) return Promise.reject(new Error(`no matching local address with family=${info.family} found`));
      localAddr = { host: local.host, port: local.port, family: local.family };
    }
    return p.connectStream(addr, { localAddr, signal: attemptSignal });
  });
  const endpoint = await staggeredRace(loop, attempts, delay, signal);
  return makeTransport(loop, endpoint, protocolFactory, true, tls);
}

export async function createUnixConnection(loop: StreamLoop, protocolFactory: unknown, path?: string | null, optsIn?: CreateUnixConnectionOptions): Promise<[StreamTransport, unknown]> {
  checkFactory(protocolFactory);
  const opts = checkOpts<CreateUnixConnectionOptions>(optsIn);
  const tls = checkSsl(opts, false);
  const signal = validateSignal(opts.signal);
  const p = loop._proactor;
  let ep: StreamEndpoint;
  if (opts.sock !== undefined) {
    if (path !== undefined && path !== null) throw argTypeError("path and sock can not be specified at the same time", "ERR_INVALID_ARG_VALUE");
    checkFd(opts.sock, "opts.sock");
    ep = p.adoptStream(opts.sock);
  } else {
    if (path === undefined || path === null) throw argTypeError("no path and sock were specified", "ERR_MISSING_ARGS");
    checkPath(path);
    if (signal?.aborted) throw abortReason(signal);
    ep = await p.connectStream(path, { signal });
  }
  return makeTransport(loop, ep, protocolFactory, false, tls);
}

export async function connectAcceptedSocket(loop: StreamLoop, protocolFactory: unknown, sock: unknown, optsIn?: ConnectAcceptedSocketOptions): Promise<[StreamTransport, unknown]> {
  checkFactory(protocolFactory);
  const opts = checkOpts<ConnectAcceptedSocketOptions>(optsIn);
  // asyncio: an accepted socket is the server side of the TLS connection.
  const tls = checkSsl(opts, true);
  checkFd(sock, "sock");
  const ep = loop._proactor.adoptStream(sock);
  return makeTransport(loop, ep, protocolFactory, isIpAddr(ep.sockname()), tls);
}

// ---------------------------------------------------------------- servers

function closeAll(listeners: Listener[]): void {
  for (const l of listeners) l.close();
}

export async function createServer(
  loop: StreamLoop,
  protocolFactory: unknown,
  host?: string | string[] | null,
  port?: number | string | null,
  optsIn?: CreateServerOptions,
): Promise<Server> {
  checkFactory(protocolFactory);
  const opts = checkOpts<CreateServerOptions>(optsIn);
  const tls = checkSsl(opts, true);
  const family = checkFamily(opts.family);
  const backlog = checkBacklog(opts.backlog);
  const reuseAddress = checkBool(opts.reuseAddress, "reuseAddress", true);
  const reusePort = checkBool(opts.reusePort, "reusePort", false);
  const startServing = checkBool(opts.startServing, "startServing", true);
  const p = loop._proactor;
  const listeners: Listener[] = [];
  if (opts.sock !== undefined) {
    if ((host !== undefined && host !== null) || (port !== undefined && port !== null)) throw argTypeError("host/port and sock can not be specified at the same time", "ERR_INVALID_ARG_VALUE");
    checkFd(opts.sock, "opts.sock");
    listeners.push(await p.adoptListener(opts.sock));
  } else {
    let hosts: Array<string | null>;
    if (host === undefined || host === null || host === "") hosts = [null];
    else if (typeof host === "string") hosts = [host];
    else if (Array.isArray(host)) {
      hosts = host.map((h, i) => {
        if (typeof h !== "string") throw argTypeError(`The "host[${i}]" argument must be a string. Received ${describeType(h)}`);
        return h;
      });
    } else throw argTypeError(`The "host" argument must be a string, an array of strings or null. Received ${describeType(host)}`);
    const resolved = await Promise.all(hosts.map((h) => loop.getaddrinfo(h, port ?? 0, { family, type: SOCK_STREAM, flags: AI_PASSIVE })));
    const seen = new Set<string>();
    const infos = resolved.flat().filter((i) => {
      const key = `${i.family}|${i.host}|${i.port}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (infos.length === 0) throw new Error("getaddrinfo() returned empty list");
    try {
      for (const info of infos) {
        listeners.push(await p.listenStream({ host: info.host, port: info.port, family: info.family }, { backlog, reuseAddress, reusePort, ipv6Only: info.family === 6 }));
      }
    } catch (err) {
      closeAll(listeners);
      throw err;
    }
  }
  const server = new Server(loop, listeners, protocolFactory, null, tls);
  if (startServing) await server.startServing();
  return server;
}

/** asyncio: a socket file at the path with nothing listening is stale and removed; a live one is EADDRINUSE. */
async function removeStaleSocket(p: Required<Pick<Proactor, "connectStream">>, path: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(path);
  } catch {
    return;
  }
  if (!st.isSocket()) return; // bind fails with EADDRINUSE
  let ep: StreamEndpoint;
  try {
    ep = await p.connectStream(path, {});
  } catch (err) {
    if ((err as { code?: string }).code === "ECONNREFUSED") await fs.promises.unlink(path).catch(() => {});
    return;
  }
  await discardEndpoint(ep);
  throw systemError(errno.EADDRINUSE, "listen", { address: path });
}

export async function createUnixServer(loop: StreamLoop, protocolFactory: unknown, path?: string | null, optsIn?: CreateUnixServerOptions): Promise<Server> {
  checkFactory(protocolFactory);
  const opts = checkOpts<CreateUnixServerOptions>(optsIn);
  const tls = checkSsl(opts, true);
  const backlog = checkBacklog(opts.backlog);
  const startServing = checkBool(opts.startServing, "startServing", true);
  const p = loop._proactor;
  let listener: Listener;
  let owner: UnixPathOwner | null = null;
  if (opts.sock !== undefined) {
    if (path !== undefined && path !== null) throw argTypeError("path and sock can not be specified at the same time", "ERR_INVALID_ARG_VALUE");
    checkFd(opts.sock, "opts.sock");
    listener = await p.adoptListener(opts.sock);
  } else {
    if (path === undefined || path === null) throw argTypeError("path was not specified, and no sock specified", "ERR_MISSING_ARGS");
    checkPath(path);
    const abstract = path[0] === "\0";
    if (!abstract) await removeStaleSocket(p, path);
    listener = await p.listenStream(path, { backlog, reuseAddress: false, reusePort: false, ipv6Only: false });
    if (!abstract) {
      try {
        const st = fs.lstatSync(path);
        owner = { path, ino: st.ino, dev: st.dev };
      } catch {
        owner = null;
      }
    }
  }
  const server = new Server(loop, [listener], protocolFactory, owner, tls);
  if (startServing) await server.startServing();
  return server;
}
