// loop.sockSendfile(sock, file, offset = 0, count?, { fallback = true }) (API.md "Sockets").
// Only the generic path exists for Socket objects so far: positional reads (node:fs, the
// file position is neither used nor moved) into one reused buffer, each chunk sent with
// sockSendall before the next read. sendfileByReads() is the one place to switch to a
// native path later; fallback: false refuses until then (SendfileNotAvailableError).
import * as fs from "node:fs";
import { SendfileNotAvailableError } from "./exceptions.js";
import { describeType } from "./validate.js";
import type { Socket } from "./socket.js";
import { begin, sockSendall, type SockLoop } from "./sock-methods.js";

/** A path, an fd, or anything with an integer `fd` (a node:fs FileHandle). */
export type SendfileSource = string | number | { fd: number };

const CHUNK = 256 * 1024;

export async function sockSendfile(
  loop: SockLoop,
  sock: Socket,
  file: SendfileSource,
  offset = 0,
  count?: number | null,
  opts?: { fallback?: boolean },
): Promise<number> {
  begin(loop, sock, "sendfile", "stream");
  checkFile(file);
  if (typeof offset !== "number") throw new TypeError(`The "offset" argument must be of type number. Received ${describeType(offset)}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`The "offset" argument must be a non-negative integer. Received ${offset}`);
  if (count !== undefined && count !== null) {
    if (typeof count !== "number") throw new TypeError(`The "count" argument must be of type number. Received ${describeType(count)}`);
    if (!Number.isSafeInteger(count) || count <= 0) throw new RangeError(`The "count" argument must be a positive integer. Received ${count}`);
  }
  if (opts !== undefined && (opts === null || typeof opts !== "object")) throw new TypeError(`The "opts" argument must be an object. Received ${describeType(opts)}`);
  const fallback = opts?.fallback ?? true;
  if (typeof fallback !== "boolean") throw new TypeError(`The "opts.fallback" property must be a boolean. Received ${describeType(fallback)}`);
  if (!fallback) throw new SendfileNotAvailableError("the native sendfile path for sockets is not available; pass fallback: true");
  return sendfileByReads(loop, sock, file, offset, count ?? null);
}

function checkFile(file: unknown): void {
  if (typeof file === "string") {
    if (file.length === 0) throw new TypeError(`The "file" argument must be a non-empty path`);
    return;
  }
  const fd = typeof file === "object" && file !== null ? (file as { fd: unknown }).fd : file;
  if (typeof fd !== "number") throw new TypeError(`The "file" argument must be a path, an fd or an object with an integer "fd" (a FileHandle). Received ${describeType(file)}`);
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`The "file" argument's fd must be an integer >= 0. Received ${fd}`);
}

/**
 * Sends bytes [offset, offset + count) of `file` (count null: to the end of the file as it
 * is when sending starts; a count past the end sends what there is). A file that shrinks
 * while it is being sent is an error, not a silent short send.
 */
export async function sendfileByReads(loop: SockLoop, sock: Socket, file: SendfileSource, offset: number, count: number | null): Promise<number> {
  const opened = typeof file === "string" ? await fs.promises.open(file, "r") : null;
  try {
    const fd = opened !== null ? opened.fd : typeof file === "number" ? file : (file as { fd: number }).fd;
    const size = (await fstat(fd)).size;
    const end = count === null ? size : Math.min(size, offset + count);
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, end - offset)));
    let pos = offset;
    while (pos < end) {
      const n = await pread(fd, buf, Math.min(buf.length, end - pos), pos);
      if (n === 0) throw new Error(`sockSendfile: the file was truncated while it was being sent (it ended at byte ${pos}, ${end - pos} bytes short of ${end})`);
      await sockSendall(loop, sock, n === buf.length ? buf : buf.subarray(0, n));
      pos += n;
    }
    return Math.max(0, pos - offset);
  } finally {
    await opened?.close();
  }
}

function fstat(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
}

function pread(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}
