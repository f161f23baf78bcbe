// loop.sockSendfile(sock, file, offset = 0, count?, { fallback = true }) (API.md "Sockets"):
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
import { SendfileNotAvailableError } from "./exceptions.js";
import type { Socket, SocketWait } from "./socket.js";
import { begin, sockSendall, closedError, type SockLoop } from "./sock-methods.js";
import { validateFile, validateAmount, validateCount, fallbackOption, readAt, sendFromSource } from "./sendfile-source.js";
import type { SendfileSource } from "./events.js";

/** Bytes per read on the generic path. */
const CHUNK = 256 * 1024;

export async function sockSendfile(
  loop: SockLoop,
  sock: Socket,
  file: SendfileSource,
  offset: number = 0,
  count?: number | null,
  opts?: { fallback?: boolean },
): Promise<number> {
  begin(loop, sock, "sendfile", "stream");
  validateFile(file);
  validateAmount(offset, "offset");
  if (count !== undefined && count !== null) validateCount(count);
  const fallback = fallbackOption(opts);
  const native = loop._proactor.sendFileToSocket !== undefined;
  if (!native && !fallback) {
    throw new SendfileNotAvailableError(`sockSendfile: the ${loop._proactor.backend} backend has no native sendfile path for sockets; pass { fallback: true } to send through read + send`);
  }
  return sendFromSource("sockSendfile", file, offset, count ?? null, fallback, (fd, total, regular) =>
    regular && native ? sendNative(loop, sock, fd, offset, total!) : sendByReads(loop, sock, fd, offset, total),
  );
}

/** Resolves to the bytes sent (fewer than `count` when the file ended early). */
function sendNative(loop: SockLoop, sock: Socket, file: number, offset: number, count: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let closedBy: Error | null = null;
    const wait: SocketWait = {
      abort(err) {
        closedBy = err;
        send.cancelNow();
      },
    };
    const send = loop._proactor.sendFileToSocket!(sock._checkOpen("sendfile"), file, offset, count, (sent, err) => {
      sock._waits.delete(wait);
      const failure = closedBy ?? (err !== null && loop.isClosed() ? (closedError(loop, err) as Error) : err);
      if (failure === null) return resolve(sent);
      (failure as Error & { bytesSent?: number }).bytesSent = sent;
      reject(failure);
    });
    sock._waits.add(wait);
  });
}

/** The generic path; resolves to the bytes sent (fewer than `total` at EOF). */
async function sendByReads(loop: SockLoop, sock: Socket, fd: number, offset: number, total: number | null): Promise<number> {
  const buf = Buffer.allocUnsafe(total === null ? CHUNK : Math.min(CHUNK, total));
  let pos = offset;
  let left = total ?? Infinity;
  while (left > 0) {
    const n = await readAt(fd, buf, Math.min(buf.length, left), pos);
    if (n === 0) break;
    await sockSendall(loop, sock, n === buf.length ? buf : buf.subarray(0, n));
    pos += n;
    left -= n;
  }
  return pos - offset;
}
