// The one place the server calls loop.sendfile (bodies of files that are not in the
// small-file memory cache). Resolves with the bytes sent.
import type { Transport } from "../transports.js";

export interface SendfileLoop {
  sendfile(transport: Transport, file: number, offset?: number, count?: number, opts?: { fallback?: boolean }): Promise<number>;
}

export function sendBody(loop: SendfileLoop, transport: Transport, fd: number, offset: number, count: number): Promise<number> {
  return loop.sendfile(transport, fd, offset, count);
}
