// Address checks and the synchronous socket syscalls of the io_uring backend
// (native/sockets.cc). Bad input: TypeError / RangeError naming the argument; a failed
// syscall: a Node-style system error through systemError().
import * as net from "node:net";
import type { SockAddr } from "../proactor.js";
import { systemError } from "../system-error.js";
import { loadAddon, type FamilyCode, type NativeSockets, type NativeAddr } from "./native.js";

export interface ResolvedAddr {
  family: FamilyCode;
  /** IP literal, or the Unix path ("\0name": abstract). */
  host: string;
  port: number;
}

let cachedSockets: NativeSockets | null = null;

export function nativeSockets(): NativeSockets {
  if (cachedSockets) return cachedSockets;
  const { addon, error } = loadAddon();
  if (!addon) throw new Error(`io_uring backend unavailable: ${error}`);
  cachedSockets = addon.sockets;
  return cachedSockets;
}

/** Checks `addr` (argument `name`) and returns its family code, host and port. */
export function resolveAddr(addr: SockAddr, name: string): ResolvedAddr {
  if (typeof addr === "string") {
    if (addr.length === 0) throw new TypeError(`The "${name}" argument must be a non-empty path`);
    if (Buffer.byteLength(addr) > 107 + (addr[0] === "\0" ? 1 : 0)) {
      throw new RangeError(`The "${name}" argument is too long for a Unix socket path (${Buffer.byteLength(addr)} bytes)`);
    }
    return { family: 0, host: addr, port: 0 };
  }
  if (addr === null || typeof addr !== "object") {
    throw new TypeError(`The "${name}" argument must be an address object { host, port } or a path string`);
  }
  const { host, port } = addr;
  if (typeof host !== "string") throw new TypeError(`The "${name}.host" property must be of type string`);
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`The "${name}.port" property must be an integer >= 0 and <= 65535. Received ${String(port)}`);
  }
  const v = net.isIP(host.split("%")[0]);
  if (v === 0) throw new TypeError(`The "${name}.host" property must be an IP address literal (no name resolution here). Received '${host}'`);
  if (addr.family !== undefined && addr.family !== v) {
    throw new TypeError(`The "${name}.family" property (${String(addr.family)}) does not match the host '${host}'`);
  }
  return { family: v as 4 | 6, host, port };
}

export function errorExtra(a: ResolvedAddr): { address: string; port?: number } {
  return a.family === 0 ? { address: a.host } : { address: a.host, port: a.port };
}

/** Throws the system error for a negative result; returns the result otherwise. */
export function check(r: number, syscall: string, a?: ResolvedAddr): number {
  if (r < 0) throw systemError(r, syscall, a ? errorExtra(a) : undefined);
  return r;
}

/** sockname / peername as API.md writes addresses; null when the syscall fails. */
export function toSockAddr(v: NativeAddr | number): SockAddr | null {
  return typeof v === "number" ? null : v;
}

/** Closes `fd`, ignoring errors (the fd is ours and closed exactly once). */
export function closeFd(fd: number): void {
  nativeSockets().close(fd);
}
