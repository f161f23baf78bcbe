// The one place the server calls loop.sendfile (bodies of files that are not in the
// small-file memory cache). Resolves with the bytes sent.
import type { Transport } from "../transports.js";
import { StreamTransport } from "../transports/stream.js";

export interface SendfileLoop {
  sendfile(transport: Transport, file: number, offset?: number, count?: number, opts?: { fallback?: boolean }): Promise<number>;
}

/** Bytes of the body being sent that reached the socket so far (the stream transport's count). */
export function bodyProgress(transport: Transport): number {
  return transport instanceof StreamTransport ? transport._fileProgress() : 0;
}

export function sendBody(loop: SendfileLoop, transport: Transport, fd: number, offset: number, count: number): Promise<number> {
  return loop.sendfile(transport, fd, offset, count);
}
