// loop.sockSendfile(sock, file, offset = 0, count?, { fallback = true, signal }) (API.md "Sockets"):
// sends bytes [offset, offset + count) of a file over a connected stream Socket and resolves
// to the bytes sent. The `file` argument, the planned amount and the truncation error are
// loop.sendfile's (sendfile-source.ts).
//
// - Native path (Proactor.sendFileToSocket: io_uring's sendfile(2)-on-writability / splice,
//   src/uring/sendfile.ts) for regular files. Socket.close() during it cancels the send
//   synchronously before the fd closes; the Promise then rejects with the close's EBADF once
//   the op has let go of the file.
// - Generic path (no native path, or not a regular file; needs fallback): positional reads
//   into one reused buffer, each chunk sent with sockSendall before the next read.
// - fallback: false without a native path: SendfileNotAvailableError.
// - signal: an abort ends the send as Socket.close() does on the native path (cancelled at
//   once), or before the next read/send on the generic one, and rejects with its reason.
//   What reached the socket is a prefix of the range; the socket stays open and usable.
import { SendfileNotAvailableError, abortReason } from "./exceptions.js";
import type { Socket, SocketWait } from "./socket.js";
import { begin, sendAll, checkAborted, closedError, type SockLoop } from "./sock-methods.js";
import { validateFile, validateAmount, validateCount, fallbackOption, readAt, sendFromSource } from "./sendfile-source.js";
import type { SendfileSource, SockSendfileOptions } from "./events.js";

/** Bytes per read on the generic path. */
const CHUNK = 256 * 1024;

export async function sockSendfile(
  loop: SockLoop,
  sock: Socket,
  file: SendfileSource,
  offset: number = 0,
  count?: number | null,
  opts?: SockSendfileOptions,
): Promise<number> {
  const signal = begin(loop, sock, "sendfile", opts ?? undefined, "stream");
  validateFile(file);
  validateAmount(offset, "offset");
  if (count !== undefined && count !== null) validateCount(count);
  const fallback = fallbackOption(opts);
  checkAborted(signal);
  const native = loop._proactor.sendFileToSocket !== undefined;
  if (!native && !fallback) {
    throw new SendfileNotAvailableError(`sockSendfile: the ${loop._proactor.backend} backend has no native sendfile path for sockets; pass { fallback: true } to send through read + send`);
  }
  return sendFromSource("sockSendfile", file, offset, count ?? null, fallback, (fd, total, regular) =>
    regular && native ? sendNative(loop, sock, fd, offset, total!, signal) : sendByReads(loop, sock, fd, offset, total, signal),
  );
}

/** Resolves to the bytes sent (fewer than `count` when the file ended early). */
function sendNative(loop: SockLoop, sock: Socket, file: number, offset: number, count: number, signal: AbortSignal | undefined): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    checkAborted(signal);
    let endedBy: Error | null = null;
    let aborted = false;
    const wait: SocketWait = {
      abort(err) {
        endedBy ??= err;
        send.cancelNow();
      },
    };
    const onAbort = (): void => {
      aborted = endedBy === null;
      wait.abort(abortReason(signal!));
    };
    const send = loop._proactor.sendFileToSocket!(sock._checkOpen("sendfile"), file, offset, count, (sent, err) => {
      sock._waits.delete(wait);
      signal?.removeEventListener("abort", onAbort);
      const failure = endedBy ?? (err !== null && loop.isClosed() ? (closedError(loop, err) as Error) : err);
      if (failure === null) return resolve(sent);
      // The abort reason is the caller's object: it is not written to.
      if (!aborted) (failure as Error & { bytesSent?: number }).bytesSent = sent;
      reject(failure);
    });
    sock._waits.add(wait);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The generic path; resolves to the bytes sent (fewer than `total` at EOF). */
async function sendByReads(loop: SockLoop, sock: Socket, fd: number, offset: number, total: number | null, signal: AbortSignal | undefined): Promise<number> {
  const buf = Buffer.allocUnsafe(total === null ? CHUNK : Math.min(CHUNK, total));
  let pos = offset;
  let left = total ?? Infinity;
  while (left > 0) {
    checkAborted(signal);
    const n = await readAt(fd, buf, Math.min(buf.length, left), pos);
    if (n === 0) break;
    await sendAll(loop, sock, n === buf.length ? buf : buf.subarray(0, n), signal);
    pos += n;
    left -= n;
  }
  return pos - offset;
}
