// loop.sendfile(transport, file, offset = 0, count?, { fallback = true }) (asyncio's
// loop.sendfile): sends `count` bytes of a file from `offset` over a stream transport and
// resolves to the bytes sent.
//
// - `file`: a path (opened read-only for the call and closed after), an fd, or an object
//   with an integer `fd` (a FileHandle); fds given by the caller are never closed here.
// - The amount is fixed when the send starts: count ?? (size - offset), clamped to what the
//   file holds then (offset at or past EOF -> 0 bytes, as asyncio). A file that ends before
//   that amount while being sent (truncated meanwhile) rejects with code
//   "ERR_FILE_TRUNCATED" and `bytesSent`; the bytes sent stay sent and the transport stays
//   open and usable (the caller decides: an HTTP server would abort it).
// - Native path: the endpoint's own sendfile (io_uring: splice/sendfile(2), src/uring/),
//   for regular files. Otherwise, with fallback (default), the generic path below; with
//   fallback false, SendfileNotAvailableError.
// - Transport semantics (reading paused, queued writes first, writes made meanwhile after
//   the file, close()/abort() during the send): StreamTransport._sendfile.
// - Errors on the socket (EPIPE, ECONNRESET) reject with that error (`bytesSent` set) and
//   close the transport as a write error does.
//
// Generic path (asyncio's _sendfile_fallback): positional reads of GENERIC_CHUNK bytes into
// two buffers that alternate: chunk N+1 is read while chunk N is being sent, and a buffer is
// read into again only once its send has completed (the endpoint owns it until then).
import * as fs from "node:fs";
import { StreamTransport } from "./transports/stream.js";
import { SendfileNotAvailableError } from "./exceptions.js";
import { describeType } from "./validate.js";

/** What `file` may be: a path, an fd, or a FileHandle-like object. */
export type SendfileSource = string | number | { readonly fd: number };

export interface SendfileOptions {
  /** Use the generic read+write path when the native one is not available (default true). */
  fallback?: boolean;
}

/** Bytes per read on the generic path (two such buffers per sendfile). */
export const GENERIC_CHUNK = 256 * 1024;

export async function sendfile(
  transport: unknown,
  file: unknown,
  offset: unknown = 0,
  count?: unknown,
  opts?: unknown,
): Promise<number> {
  if (!(transport instanceof StreamTransport)) {
    throw new TypeError(`The "transport" argument must be a stream transport (createConnection, createServer). Received ${describeType(transport)}`);
  }
  validateFile(file);
  validateAmount(offset, "offset");
  if (count !== undefined && count !== null) validateAmount(count, "count");
  const fallback = fallbackOption(opts);
  const nativeEndpoint = transport._hasNativeSendfile();
  if (!nativeEndpoint && !fallback) {
    throw new SendfileNotAvailableError("sendfile: this transport's backend has no native sendfile path (pass { fallback: true } to send through read + write)");
  }
  // File mode starts now, before the first await: a write() made right after this call
  // already goes out after the file.
  return transport._sendfile(async () => {
    const { fd, owned } = await openSource(file);
    try {
      const st = await fstat(fd);
      const regular = st.isFile();
      if (!regular && !fallback) throw new SendfileNotAvailableError("sendfile: the native path needs a regular file (pass { fallback: true } for other files)");
      // A non-regular file (pipe, device) has no size: the generic path reads it to EOF.
      const asked = (count ?? null) as number | null;
      const total = regular ? Math.max(0, Math.min(asked ?? Infinity, st.size - offset)) : asked;
      if (total === 0) return 0;
      const sent = regular && nativeEndpoint ? await transport._fileNative(fd, offset, total!) : await sendGeneric(transport, fd, offset, total);
      if (total !== null && sent < total) throw truncated(fd, offset, total, sent);
      return sent;
    } finally {
      if (owned) await close(fd);
    }
  });
}

/** The generic path (see the header); resolves to the bytes sent, fewer than `total` at EOF. */
async function sendGeneric(transport: StreamTransport, fd: number, offset: number, total: number | null): Promise<number> {
  const size = total === null ? GENERIC_CHUNK : Math.min(GENERIC_CHUNK, total);
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let which = 0;
  let pos = offset;
  let left = total ?? Infinity;
  let sent = 0;
  let reading: Promise<number> | null = readAt(fd, bufs[0], Math.min(size, left), pos);
  let writing: Promise<number> | null = null;
  let writingBytes = 0;
  try {
    while (reading !== null) {
      const n = await reading;
      reading = null;
      if (writing !== null) {
        await writing;
        writing = null;
        sent += writingBytes;
      }
      if (n === 0) break;
      pos += n;
      left -= n;
      writing = transport._fileWrite(bufs[which].subarray(0, n));
      writing.catch(() => {}); // awaited below; not "unhandled" while a read is awaited first
      writingBytes = n;
      which ^= 1;
      if (left > 0) reading = readAt(fd, bufs[which], Math.min(size, left), pos);
    }
    if (writing !== null) {
      await writing;
      writing = null;
      sent += writingBytes;
    }
    return sent;
  } catch (err) {
    if (err instanceof Error) (err as Error & { bytesSent?: number }).bytesSent = sent;
    throw err;
  } finally {
    // A read still in flight would otherwise read from an fd the caller may close next.
    await Promise.allSettled([reading, writing]);
  }
}

function truncated(fd: number, offset: number, total: number, sent: number): Error {
  const err = new Error(
    `sendfile: the file (fd ${fd}) ended after ${sent} of ${total} bytes from offset ${offset}: it was truncated while being sent`,
  ) as Error & { code: string; bytesSent: number };
  err.code = "ERR_FILE_TRUNCATED";
  err.bytesSent = sent;
  return err;
}

function validateFile(file: unknown): asserts file is SendfileSource {
  if (typeof file === "string") {
    if (file.length === 0 || file.includes("\0")) throw new TypeError(`The "file" argument must be a non-empty path without NUL bytes. Received ${JSON.stringify(file)}`);
    return;
  }
  const fd = typeof file === "number" ? file : typeof file === "object" && file !== null ? (file as { fd?: unknown }).fd : undefined;
  if (typeof fd !== "number") {
    throw new TypeError(`The "file" argument must be a path, an fd or a FileHandle ({ fd: number }). Received ${describeType(file)}`);
  }
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RangeError(`The "file" fd must be an integer >= 0. Received ${fd}`);
}

function validateAmount(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`The "${name}" argument must be a number. Received ${describeType(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`The "${name}" argument must be an integer >= 0. Received ${value}`);
}

function fallbackOption(opts: unknown): boolean {
  if (opts === undefined || opts === null) return true;
  if (typeof opts !== "object") throw new TypeError(`The "opts" argument must be an object. Received ${describeType(opts)}`);
  const fallback = (opts as SendfileOptions).fallback;
  if (fallback === undefined) return true;
  if (typeof fallback !== "boolean") throw new TypeError(`The "opts.fallback" option must be a boolean. Received ${describeType(fallback)}`);
  return fallback;
}

/** libuv opens with O_CLOEXEC. */
async function openSource(file: SendfileSource): Promise<{ fd: number; owned: boolean }> {
  if (typeof file === "number") return { fd: file, owned: false };
  if (typeof file === "object") return { fd: file.fd, owned: false };
  const fd = await new Promise<number>((resolve, reject) => fs.open(file, fs.constants.O_RDONLY, (err, fd) => (err ? reject(err) : resolve(fd))));
  return { fd, owned: true };
}

function fstat(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
}

function readAt(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

function close(fd: number): Promise<void> {
  return new Promise((resolve) => fs.close(fd, () => resolve()));
}
