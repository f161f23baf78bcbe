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
import { StreamTransport } from "./transports/stream.js";
import { SendfileNotAvailableError } from "./exceptions.js";
import { describeType, argTypeError } from "./validate.js";
import { validateFile, validateAmount, validateCount, fallbackOption, readAt, sendFromSource } from "./sendfile-source.js";

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
    throw argTypeError(`The "transport" argument must be a stream transport (createConnection, createServer). Received ${describeType(transport)}`);
  }
  validateFile(file);
  validateAmount(offset, "offset");
  if (count !== undefined && count !== null) validateCount(count);
  const fallback = fallbackOption(opts);
  const nativeEndpoint = transport._hasNativeSendfile();
  if (!nativeEndpoint && !fallback) {
    throw new SendfileNotAvailableError("sendfile: this transport's backend has no native sendfile path (pass { fallback: true } to send through read + write)");
  }
  // File mode starts now, before the first await: a write() made right after this call
  // already goes out after the file.
  return transport._sendfile(() =>
    sendFromSource("sendfile", file, offset, (count ?? null) as number | null, fallback, (fd, total, regular) =>
      regular && nativeEndpoint ? transport._fileNative(fd, offset, total!) : sendGeneric(transport, fd, offset, total),
    ),
  );
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

