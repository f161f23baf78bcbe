// The ONE place a negative errno from native code becomes a Node-style system error
// (DESIGN.md "Errors"): code, errno (negative, as Node's), syscall, message like Node's.
import * as os from "node:os";
import * as util from "node:util";

export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  address?: string;
  port?: number;
}

const descriptions = new Map<number, string>();

function describe(errno: number): string {
  let text = descriptions.get(errno);
  if (text === undefined) {
    // util.getSystemErrorMap() gives [name, description] for every libuv-known errno.
    const entry = util.getSystemErrorMap().get(errno);
    text = entry ? entry[1] : "unknown error";
    descriptions.set(errno, text);
  }
  return text;
}

/** `errno` may be given positive or negative; the result carries it negative, as Node does. */
export function systemError(errno: number, syscall: string, extra?: { path?: string; address?: string; port?: number }): SystemError {
  const neg = errno > 0 ? -errno : errno;
  let code: string;
  try {
    code = util.getSystemErrorName(neg);
  } catch {
    code = `Unknown system error ${neg}`;
  }
  // libuv names only the errnos it maps (not ENOEXEC, for one); the OS table names the rest.
  if (code.startsWith("Unknown")) code = errnoNames().get(-neg) ?? code;
  let message = `${syscall} ${code}`;
  if (extra?.path !== undefined) message += ` ${extra.path}`;
  if (extra?.address !== undefined) message += ` ${extra.address}${extra.port !== undefined ? `:${extra.port}` : ""}`;
  const err = new Error(message) as SystemError;
  err.code = code;
  err.errno = neg;
  err.syscall = syscall;
  if (extra?.path !== undefined) err.path = extra.path;
  if (extra?.address !== undefined) err.address = extra.address;
  if (extra?.port !== undefined) err.port = extra.port;
  Object.defineProperty(err, "description", { value: describe(neg), enumerable: false });
  return err;
}

/** errno constants by name, positive (os.constants.errno). */
export const errno = os.constants.errno;

let names: Map<number, string> | undefined;

function errnoNames(): Map<number, string> {
  names ??= new Map(Object.entries(errno).map(([name, n]) => [n, name]));
  return names;
}
