// Argument checks of the public fs module (src/fs.ts), mirroring node:fs's: TypeError
// (code ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE) for a wrong type, RangeError
// (ERR_OUT_OF_RANGE) for an out-of-range number, each naming the argument.
import { constants } from "node:fs";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { describeType, argRangeError, argTypeError } from "./validate.js";

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_SYNC } = constants;

export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return argTypeError(`The "${name}" argument must be ${expected}. Received ${describeType(value)}`, "ERR_INVALID_ARG_TYPE");
}

export function invalidValue(name: string, value: unknown, reason = "is invalid"): TypeError {
  return argTypeError(`The argument '${name}' ${reason}. Received ${inspect(value)}`, "ERR_INVALID_ARG_VALUE");
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  return argRangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`, "ERR_OUT_OF_RANGE");
}

/** A path as node:fs takes it: string, Buffer/Uint8Array or file: URL, without NUL bytes. */
export function toPath(value: unknown, name = "path"): string | Buffer {
  let p: string | Buffer;
  if (typeof value === "string") p = value;
  else if (value instanceof Uint8Array) p = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  else if (value instanceof URL) p = fileURLToPath(value);
  else throw invalidType(name, "of type string or an instance of Buffer or URL", value);
  if (typeof p === "string" ? p.includes("\0") : p.includes(0)) {
    throw invalidValue(name, value, "must be a string, Uint8Array, or URL without null bytes");
  }
  return p;
}

/** Integer check: TypeError when not a number, RangeError when not an integer in [min, max]. */
export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number") throw invalidType(name, "of type number", value);
  if (!Number.isInteger(value)) throw outOfRange(name, "an integer", value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

export function validateFd(fd: unknown): number {
  return validateInteger(fd, "fd", 0, 0x7fffffff);
}

const FLAGS: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  "r+": O_RDWR,
  "rs+": O_RDWR | O_SYNC,
  "sr+": O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  "w+": O_TRUNC | O_CREAT | O_RDWR,
  "wx+": O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  "xw+": O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  "a+": O_APPEND | O_CREAT | O_RDWR,
  "ax+": O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  "xa+": O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  "as+": O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  "sa+": O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

/** Node's stringToFlags: a flag string ('r', 'wx', 'a+', ...) or a number of O_* bits. */
export function parseFlags(flags: unknown, fallback: string, name = "flags"): number {
  if (flags === undefined || flags === null) return FLAGS[fallback];
  if (typeof flags === "number") return validateInteger(flags, name, -0x80000000, 0x7fffffff);
  if (typeof flags === "string" && Object.hasOwn(FLAGS, flags)) return FLAGS[flags];
  throw invalidValue(name, flags);
}

/** Node's parseFileMode: a uint32 or an octal string. */
export function parseMode(mode: unknown, fallback: number, name = "mode"): number {
  if (mode === undefined || mode === null) return fallback;
  if (typeof mode === "string") {
    if (!/^[0-7]+$/.test(mode)) throw invalidValue(name, mode, "must be a 32-bit unsigned integer or an octal string");
    mode = parseInt(mode, 8);
  }
  return validateInteger(mode, name, 0, 0xffffffff);
}

/** A Buffer, TypedArray or DataView, as the bytes it views. */
export function toBytes(value: unknown, name: string): Uint8Array {
  if (!ArrayBuffer.isView(value)) throw invalidType(name, "an instance of Buffer, TypedArray, or DataView", value);
  return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function toBytesArray(value: unknown, name: string): Uint8Array[] {
  if (!Array.isArray(value)) throw invalidType(name, "an instance of ArrayBufferView[]", value);
  return value.map((b, i) => toBytes(b, `${name}[${i}]`));
}

/** Node's validatePosition: null/undefined = the file position (-1); number or bigint >= -1. */
export function toPosition(position: unknown, name = "position"): number {
  if (position === undefined || position === null) return -1;
  if (typeof position === "bigint") {
    if (position < -1n || position > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw outOfRange(name, `>= -1 && <= ${Number.MAX_SAFE_INTEGER}`, `${position}n`);
    }
    return Number(position);
  }
  return validateInteger(position, name, -1, Number.MAX_SAFE_INTEGER);
}

/** offset/length into a buffer of `size` bytes (Node's read/write checks): [offset, length]. */
export function offsetLength(offset: unknown, length: unknown, size: number): [number, number] {
  const off = offset === undefined || offset === null ? 0 : validateInteger(offset, "offset", 0, size);
  const len = length === undefined || length === null ? size - off : validateInteger(length, "length", 0, size - off);
  return [off, len];
}

export function encodingOf(options: unknown, name = "options"): BufferEncoding | null {
  if (options === undefined || options === null) return null;
  const enc = typeof options === "string" ? options : typeof options === "object" ? (options as { encoding?: unknown }).encoding : undefined;
  if (typeof options !== "string" && typeof options !== "object") throw invalidType(name, "of type string or an instance of Object", options);
  if (enc === undefined || enc === null) return null;
  if (typeof enc !== "string" || !Buffer.isEncoding(enc)) throw invalidValue("encoding", enc);
  return enc;
}
