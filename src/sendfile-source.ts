// What loop.sendfile (sendfile.ts, transports) and loop.sockSendfile (sock-sendfile.ts,
// Sockets) share: the `file` argument (a path opened read-only for the call, an fd or a
// FileHandle-like { fd }; fds given by the caller are never closed), the offset/count checks,
// how many bytes a send plans, positional reads for the generic paths, and the error for a
// file that ends before that amount (truncated while being sent).
import * as fs from "node:fs";
import { describeType, argRangeError, argTypeError } from "./validate.js";
import { SendfileNotAvailableError } from "./exceptions.js";
import type { SendfileOptions, SendfileSource } from "./events.js";

/**
 * The bytes a send plans, fixed when it starts: `count` (null: to EOF), clamped to what a
 * regular file holds then (offset at or past EOF: 0, as asyncio). null = unknown (a pipe or
 * device: read to EOF).
 */
export function plannedBytes(st: fs.Stats, offset: number, count: number | null): number | null {
  if (!st.isFile()) return count;
  return Math.max(0, Math.min(count ?? Infinity, st.size - offset));
}

export function truncated(fd: number, offset: number, total: number, sent: number): Error {
  const err = new Error(
    `sendfile: the file (fd ${fd}) ended after ${sent} of ${total} bytes from offset ${offset}: it was truncated while being sent`,
  ) as Error & { code: string; bytesSent: number };
  err.code = "ERR_FILE_TRUNCATED";
  err.bytesSent = sent;
  return err;
}

export function validateFile(file: unknown): asserts file is SendfileSource {
  if (typeof file === "string") {
    if (file.length === 0 || file.includes("\0")) throw argTypeError(`The "file" argument must be a non-empty path without NUL bytes. Received ${JSON.stringify(file)}`, "ERR_INVALID_ARG_VALUE");
    return;
  }
  const fd = typeof file === "number" ? file : typeof file === "object" && file !== null ? (file as { fd?: unknown }).fd : undefined;
  if (typeof fd !== "number") {
    throw argTypeError(`The "file" argument must be a path, an fd or a FileHandle ({ fd: number }). Received ${describeType(file)}`);
  }
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw argRangeError(`The "file" fd must be an integer >= 0. Received ${fd}`);
}

export function validateAmount(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number") throw argTypeError(`The "${name}" argument must be a number. Received ${describeType(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) throw argRangeError(`The "${name}" argument must be an integer >= 0. Received ${value}`);
}

/** asyncio: count must be a positive integer (null/undefined: to EOF). */
export function validateCount(value: unknown): asserts value is number {
  validateAmount(value, "count");
  if (value === 0) throw argRangeError(`The "count" argument must be a positive integer. Received 0`);
}

export function fallbackOption(opts: unknown): boolean {
  if (opts === undefined || opts === null) return true;
  if (typeof opts !== "object") throw argTypeError(`The "opts" argument must be an object. Received ${describeType(opts)}`);
  const fallback = (opts as SendfileOptions).fallback;
  if (fallback === undefined) return true;
  if (typeof fallback !== "boolean") throw argTypeError(`The "opts.fallback" option must be a boolean. Received ${describeType(fallback)}`);
  return fallback;
}

/** libuv opens with O_CLOEXEC. */
export async function openSource(file: SendfileSource): Promise<{ fd: number; owned: boolean }> {
  if (typeof file === "number") return { fd: file, owned: false };
  if (typeof file === "object") return { fd: file.fd, owned: false };
  const fd = await new Promise<number>((resolve, reject) => fs.open(file, fs.constants.O_RDONLY, (err, fd) => (err ? reject(err) : resolve(fd))));
  return { fd, owned: true };
}

/**
 * fstat(2) of an open fd, synchronously: it reads the inode the open file already holds in
 * memory and never waits for the disk, so a thread-pool round trip (node:fs's async fstat)
 * would only add latency to every send.
 */
export function fstat(fd: number): fs.Stats {
  return fs.fstatSync(fd);
}

export function readAt(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => fs.close(fd, () => resolve()));
}

/**
 * One send of `file` (both sendfile entry points): opens a path for the call only, plans
 * the bytes (plannedBytes), refuses a non-regular file when `fallback` is false, runs
 * `send(fd, total, regular)` (total null: to EOF) and turns a short send into the
 * truncation error. `who` names the caller in errors.
 */
export async function sendFromSource(
  who: string,
  file: SendfileSource,
  offset: number,
  count: number | null,
  fallback: boolean,
  send: (fd: number, total: number | null, regular: boolean) => Promise<number>,
): Promise<number> {
  const { fd, owned } = await openSource(file);
  try {
    const st = fstat(fd);
    const regular = st.isFile();
    if (!regular && !fallback) throw new SendfileNotAvailableError(`${who}: the native path needs a regular file (pass { fallback: true } for other files)`);
    // A non-regular file (pipe, device) has no size: the generic paths read it to EOF.
    const total = plannedBytes(st, offset, count);
    if (total === 0) return 0;
    const sent = await send(fd, total, regular);
    if (total !== null && sent < total) throw truncated(fd, offset, total, sent);
    return sent;
  } finally {
    if (owned) await closeFd(fd);
  }
}
