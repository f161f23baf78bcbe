// Socket addresses as API.md writes them, checked and turned into what the native socket
// syscalls take (src/addon.ts): a family code, an IP literal or a Unix path, a port. Bad
// input is a TypeError / RangeError naming the argument. No name resolution here.
import * as net from "node:net";
import type { SockAddr } from "./events.js";
import { argRangeError, argTypeError } from "./validate.js";

/** Family codes of the native socket calls: 4 = AF_INET, 6 = AF_INET6, 0 = AF_UNIX. */
export type FamilyCode = 4 | 6 | 0;

export interface ResolvedAddr {
  family: FamilyCode;
  /** IP literal, or the Unix path ("\0name": abstract). */
  host: string;
  port: number;
}

/** Longest Unix socket path (sun_path is 108 bytes; an abstract name has no NUL terminator). */
const UNIX_PATH_MAX = 107;

/** Checks `addr` (argument `name`) and returns its family code, host and port. */
export function resolveAddr(addr: SockAddr, name: string): ResolvedAddr {
  if (typeof addr === "string") {
    if (addr.length === 0) throw argTypeError(`The "${name}" argument must be a non-empty path`, "ERR_INVALID_ARG_VALUE");
    if (Buffer.byteLength(addr) > UNIX_PATH_MAX + (addr[0] === "\0" ? 1 : 0)) {
      throw argRangeError(`The "${name}" argument is too long for a Unix socket path (${Buffer.byteLength(addr)} bytes)`);
    }
    return { family: 0, host: addr, port: 0 };
  }
  if (addr === null || typeof addr !== "object") {
    throw argTypeError(`The "${name}" argument must be an address object { host, port } or a path string`);
  }
  const { host, port } = addr;
  if (typeof host !== "string") throw argTypeError(`The "${name}.host" property must be of type string`);
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw argRangeError(`The "${name}.port" property must be an integer >= 0 and <= 65535. Received ${String(port)}`);
  }
  const v = net.isIP(host.split("%")[0]);
  if (v === 0) throw argTypeError(`The "${name}.host" property must be an IP address literal (no name resolution here). Received '${host}'`, "ERR_INVALID_ARG_VALUE");
  if (addr.family !== undefined && addr.family !== v) {
    throw argTypeError(`The "${name}.family" property (${String(addr.family)}) does not match the host '${host}'`, "ERR_INVALID_ARG_VALUE");
  }
  return { family: v as 4 | 6, host, port };
}

/** The address fields a system error about `a` carries (Node's `address`, `port`). */
export function errorExtra(a: ResolvedAddr): { address: string; port?: number } {
  return a.family === 0 ? { address: a.host } : { address: a.host, port: a.port };
}

/** sockname / peername as API.md writes addresses; null when the syscall failed. */
export function toSockAddr(v: SockAddr | number): SockAddr | null {
  return typeof v === "number" ? null : v;
}

/** True for an IP address (a TCP socket), false for a Unix path or an unknown name. */
export function isIpAddr(addr: SockAddr | null): addr is Exclude<SockAddr, string> {
  return addr !== null && typeof addr === "object";
}
