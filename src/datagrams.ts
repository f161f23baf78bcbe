// loop.createDatagramEndpoint (asyncio base_events create_datagram_endpoint), written once
// over the Proactor seam.
//
// As asyncio:
//   - `sock` excludes every socket modifier (localAddr, remoteAddr, family, reusePort,
//     allowBroadcast); it must be a datagram socket.
//   - Without localAddr and remoteAddr, `family` is required (an unbound socket that can
//     only send).
//   - IP addresses `{ host, port }` are resolved with loop.getaddrinfo (SOCK_DGRAM; the
//     local one with AI_PASSIVE, so host null = the wildcard address); the results are
//     paired by family, and each pair that has every address asked for is tried in turn;
//     the first socket that binds and connects wins, else the first error is thrown.
//   - remoteAddr connects the socket (so ICMP errors come back as ECONNREFUSED...), except
//     with allowBroadcast, where it is only the default destination of sendto().
//   - Unix datagrams: family "unix", or addresses given as path strings ("\0name" is the
//     abstract namespace). A socket file left at a local path is removed first (not an
//     abstract name, and only if it is a socket).
//   - reuseAddress is not an option (asyncio removed it for UDP: SO_REUSEADDR on UDP lets
//     another socket steal the port); reusePort is SO_REUSEPORT.
import * as fs from "node:fs";
import type { DatagramEndpoint, DatagramOpenOptions, Proactor } from "./proactor.js";
import { SOCK_DGRAM, type AddrInfo, type CreateDatagramEndpointOptions, type SockAddr, type SockAddrInput, type Handle, type ExceptionContext } from "./events.js";
import { AI_PASSIVE } from "./dns.js";
import { describeType, validateCallback, argRangeError, argTypeError } from "./validate.js";
import { resolveAddr } from "./sockaddr.js";
import { nativeSockets, loadAddon } from "./addon.js";
import { DatagramTransportImpl } from "./transports/datagram.js";
import { ReadinessDatagramEndpoint } from "./transports/datagram-readiness.js";
import { openDatagramSocket } from "./datagram-socket.js";
import { systemError } from "./system-error.js";
import { NotImplementedError } from "./exceptions.js";

export interface DatagramLoop {
  readonly _proactor: Proactor;
  getaddrinfo(host: string | null, port: number | string | null, opts?: { family?: 0 | 4 | 6; type?: number; flags?: number }): Promise<AddrInfo[]>;
  callSoon(cb: (...args: any[]) => unknown, ...args: unknown[]): Handle;
  callExceptionHandler(context: ExceptionContext): void;
  getDebug(): boolean;
  _requestFlush(flusher: { _flush(): void }, inCompletion?: boolean): void;
}

type Family = 0 | 4 | 6;

const MODIFIERS = ["localAddr", "remoteAddr", "family", "reusePort", "allowBroadcast"] as const;

function checkOpts(opts: unknown): CreateDatagramEndpointOptions {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== "object") throw argTypeError(`The "opts" argument must be an object. Received ${describeType(opts)}`);
  return opts as CreateDatagramEndpointOptions;
}

function checkBool(v: unknown, name: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw argTypeError(`The "opts.${name}" option must be a boolean. Received ${describeType(v)}`);
  return v;
}

function checkFamily(v: unknown): Family | null {
  if (v === undefined || v === null || v === 0) return null;
  if (v === 4 || v === 6) return v;
  if (v === "unix") return 0;
  throw argTypeError(`The "opts.family" option must be 0, 4, 6 or "unix". Received ${describeType(v)}`, "ERR_INVALID_ARG_VALUE");
}

function given(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** An address option: a path string (Unix) or { host, port } (host a name or literal, may be null for localAddr). */
function checkAddrShape(v: unknown, name: string): string | { host: string | null; port: number } | null {
  if (!given(v)) return null;
  if (typeof v === "string") {
    if (v.length === 0) throw argRangeError(`The "opts.${name}" option must not be an empty path`);
    return v;
  }
  if (typeof v !== "object") throw argTypeError(`The "opts.${name}" option must be { host, port } or a Unix path string. Received ${describeType(v)}`);
  const { host, port } = v as { host?: unknown; port?: unknown };
  if (host !== undefined && host !== null && typeof host !== "string") throw argTypeError(`The "opts.${name}.host" property must be a string or null. Received ${describeType(host)}`);
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw argRangeError(`The "opts.${name}.port" property must be an integer >= 0 and <= 65535. Received ${describeType(port)}`);
  }
  return { host: (host as string | null | undefined) ?? null, port };
}

function checkSockFd(fd: unknown): number {
  if (typeof fd !== "number" || !Number.isInteger(fd)) throw argTypeError(`The "opts.sock" option must be a file descriptor (an integer). Received ${describeType(fd)}`);
  if (fd < 0) throw argRangeError(`The "opts.sock" option must be a file descriptor >= 0. Received ${fd}`);
  return fd;
}

/** One candidate socket: family, and the resolved local and remote addresses (null where not asked for). */
interface Candidate {
  family: Family;
  local: SockAddr | null;
  remote: SockAddr | null;
}

async function ipCandidates(loop: DatagramLoop, family: Family | null, local: { host: string | null; port: number } | null, remote: { host: string | null; port: number } | null): Promise<Candidate[]> {
  const byFamily = new Map<4 | 6, Candidate>();
  const want = (family ?? 0) as 0 | 4 | 6;
  const lookups: Array<[("local" | "remote"), { host: string | null; port: number }]> = [];
  if (local !== null) lookups.push(["local", local]);
  if (remote !== null) lookups.push(["remote", remote]);
  for (const [which, a] of lookups) {
    const infos = await loop.getaddrinfo(a.host, a.port, { family: want, type: SOCK_DGRAM, flags: which === "local" ? AI_PASSIVE : 0 });
    if (infos.length === 0) throw new Error("getaddrinfo() returned empty list");
    for (const info of infos) {
      let c = byFamily.get(info.family);
      if (c === undefined) byFamily.set(info.family, (c = { family: info.family, local: null, remote: null }));
      if (c[which] === null) c[which] = { host: info.host, port: info.port, family: info.family };
    }
  }
  const out = [...byFamily.values()].filter((c) => (local === null || c.local !== null) && (remote === null || c.remote !== null));
  if (out.length === 0) throw new Error("can not get address information");
  return out;
}

/** asyncio: a socket file left at the local path is removed before bind. */
function removeStaleSocket(path: string): void {
  if (path[0] === "\0") return;
  try {
    if (fs.statSync(path).isSocket()) fs.unlinkSync(path);
  } catch {
    // missing: nothing to remove; anything else: bind reports it
  }
}

/** The readiness endpoint needs watchFd(); say so in createDatagramEndpoint's terms where the backend has none. */
function checkReadiness(p: Proactor): void {
  try {
    p.checkFdWatch();
  } catch (err) {
    if (!(err instanceof NotImplementedError)) throw err;
    throw new NotImplementedError(
      `createDatagramEndpoint: Unix datagram sockets on the ${p.backend} backend need fd readiness (node:dgram has no AF_UNIX), which is unavailable: ${err.message}; use the io_uring backend, or UDP`,
    );
  }
}

/** The backend's endpoint, or the readiness endpoint where the backend has none for the family. */
async function openEndpoint(loop: DatagramLoop, opts: DatagramOpenOptions): Promise<DatagramEndpoint> {
  const p = loop._proactor;
  const ep = await p.openDatagram(opts);
  if (ep !== null) return ep;
  checkReadiness(p);
  return new ReadinessDatagramEndpoint(p, openDatagramSocket(opts), (cb) => loop.callSoon(cb));
}

async function adoptEndpoint(loop: DatagramLoop, fd: number): Promise<DatagramEndpoint> {
  const p = loop._proactor;
  let family: Family = 4;
  if (loadAddon().addon !== null) {
    const r = nativeSockets().inspect(fd);
    if (typeof r === "number") throw systemError(r, "getsockopt");
    const [code, type] = r;
    if (type !== SOCK_DGRAM) throw argTypeError(`The "opts.sock" option must be a datagram socket (SOCK_DGRAM). Received fd ${fd} of socket type ${type}`, "ERR_INVALID_ARG_VALUE");
    if (code !== 0 && code !== 4 && code !== 6) throw argTypeError(`The "opts.sock" option must be an IPv4, IPv6 or Unix socket. Received fd ${fd}`, "ERR_INVALID_ARG_VALUE");
    family = code;
  }
  const ep = await p.adoptDatagram(fd, family);
  if (ep !== null) return ep;
  checkReadiness(p);
  return new ReadinessDatagramEndpoint(p, fd, (cb) => loop.callSoon(cb));
}

/**
 * What sendto() takes on this endpoint: a path for Unix, an IP literal address of the
 * endpoint's family for IP. Host strings already found valid are remembered (a bounded
 * map), so an echo replying to the addresses datagramReceived gave it does not parse a
 * literal per datagram; a valid `{ host, port, family }` is passed on as it is (the
 * endpoint reads it before sendto() returns).
 */
function sendtoResolver(family: Family): (addr: SockAddrInput, name: string) => SockAddr {
  const validHosts = new Map<string, 4 | 6>();
  return (addr, name) => {
    if (typeof addr === "object" && addr !== null) {
      const { host, port } = addr;
      const known = typeof host === "string" ? validHosts.get(host) : undefined;
      if (known !== undefined && known === family && (addr.family === undefined || addr.family === family) && Number.isInteger(port) && port >= 0 && port <= 65535) {
        return addr.family === family ? (addr as SockAddr) : { host, port, family };
      }
    }
    const a = resolveAddr(addr as SockAddr, name);
    if (a.family !== family) {
      throw argTypeError(`The "${name}" argument must be ${family === 0 ? "a Unix path" : `an IPv${family} address`} on this endpoint. Received ${typeof addr === "string" ? "a path" : `an IPv${a.family} address`}`, "ERR_INVALID_ARG_VALUE");
    }
    if (a.family === 0) return a.host;
    if (validHosts.size >= 4096) validHosts.clear();
    validHosts.set(a.host, a.family);
    return { host: a.host, port: a.port, family: a.family };
  };
}

export async function createDatagramEndpoint(loop: DatagramLoop, protocolFactory: unknown, optsIn?: CreateDatagramEndpointOptions): Promise<[DatagramTransportImpl, unknown]> {
  validateCallback(protocolFactory, "protocolFactory");
  const opts = checkOpts(optsIn);
  let family = checkFamily(opts.family);
  const local = checkAddrShape(opts.localAddr, "localAddr");
  const remote = checkAddrShape(opts.remoteAddr, "remoteAddr");
  const reusePort = checkBool(opts.reusePort, "reusePort");
  const allowBroadcast = checkBool(opts.allowBroadcast, "allowBroadcast");
  let endpoint: DatagramEndpoint;
  let remoteSet: SockAddr | null = null;
  let connected = false;
  if (given(opts.sock)) {
    const fd = checkSockFd(opts.sock);
    const used = MODIFIERS.filter((k) => given(opts[k]) && opts[k] !== false && opts[k] !== 0);
    if (used.length > 0) throw argTypeError(`socket modifier options can not be used when sock is specified (${used.join(", ")})`);
    endpoint = await adoptEndpoint(loop, fd);
    remoteSet = endpoint.peername();
    connected = remoteSet !== null;
    const name = endpoint.sockname();
    family = typeof name === "string" ? 0 : (name?.family ?? 4);
  } else {
    const unix = family === 0 || typeof local === "string" || typeof remote === "string";
    let candidates: Candidate[];
    if (unix) {
      if (family !== null && family !== 0) throw argTypeError(`The "opts.family" option (${family}) does not match Unix path addresses`, "ERR_INVALID_ARG_VALUE");
      if ((local !== null && typeof local !== "string") || (remote !== null && typeof remote !== "string")) {
        throw argTypeError(`Unix datagram endpoints take addresses as path strings (opts.localAddr, opts.remoteAddr)`);
      }
      candidates = [{ family: 0, local, remote }];
      if (typeof local === "string") removeStaleSocket(local);
    } else if (local === null && remote === null) {
      if (family === null) throw argTypeError(`The "opts.family" option is required when neither opts.localAddr nor opts.remoteAddr is given`, "ERR_MISSING_ARGS");
      candidates = [{ family, local: null, remote: null }];
    } else {
      candidates = await ipCandidates(loop, family, local as { host: string | null; port: number } | null, remote as { host: string | null; port: number } | null);
    }
    const errors: Error[] = [];
    let opened: DatagramEndpoint | null = null;
    for (const c of candidates) {
      try {
        opened = await openEndpoint(loop, {
          family: c.family,
          localAddr: c.local,
          remoteAddr: allowBroadcast ? null : c.remote,
          reusePort,
          allowBroadcast,
        });
        family = c.family;
        remoteSet = c.remote;
        connected = c.remote !== null && !allowBroadcast;
        break;
      } catch (err) {
        if (!(err instanceof Error) || typeof (err as { errno?: unknown }).errno !== "number") throw err;
        errors.push(err);
      }
    }
    if (opened === null) throw errors[0];
    endpoint = opened;
  }
  let protocol: unknown;
  try {
    protocol = protocolFactory();
    if (protocol === null || typeof protocol !== "object") throw argTypeError(`protocolFactory() must return a protocol object. Received ${describeType(protocol)}`, "ERR_INVALID_RETURN_VALUE");
  } catch (err) {
    endpoint.close();
    throw err;
  }
  const transport = new DatagramTransportImpl(loop, endpoint, protocol, {
    remote: remoteSet,
    connected,
    resolve: sendtoResolver(family ?? 4),
  });
  // The transport scheduled connectionMade with callSoon; this callback runs after it.
  await new Promise<void>((resolve) => loop.callSoon(resolve));
  return [transport, protocol];
}
