// Shared pieces of the socket suite: a connected TCP pair made with the sock_* methods,
// bounded waits, and the NotImplementedError check the fallback backend gets.
import * as os from "node:os";
import * as path from "node:path";
import type { ExecutionContext } from "ava";
import { socket, NotImplementedError, type AbstractEventLoop, type AbstractSocket as Socket, type SockAddr } from "ringloop";
import { within } from "../streams/_streams.js";

export { inLoop, within, sha256, closedPort, runChild } from "../streams/_streams.js";

export interface SocketPair {
  listener: Socket;
  client: Socket;
  server: Socket;
  close(): void;
}

/** A listening TCP socket on 127.0.0.1 and a client connected to it, plus the accepted end. */
export async function tcpPair(loop: AbstractEventLoop): Promise<SocketPair> {
  const listener = socket(4, "stream");
  listener.bind({ host: "127.0.0.1", port: 0 });
  listener.listen();
  const client = socket(4, "stream");
  const [[server], ,] = await within(10_000, Promise.all([loop.sockAccept(listener), loop.sockConnect(client, listener.getsockname())]), "connect + accept");
  const pair: SocketPair = {
    listener,
    client,
    server,
    close() {
      this.client.close();
      this.server.close();
      this.listener.close();
    },
  };
  return pair;
}

/** A fresh path for a Unix socket in the temp dir. */
export function tmpSockPath(tag: string): string {
  return path.join(os.tmpdir(), `ringloop-sock-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
}

/** The fallback backend refuses readiness-based methods with a NotImplementedError saying what to use. */
export async function assertNotImplemented(t: ExecutionContext, p: Promise<unknown> | (() => unknown)): Promise<void> {
  const err = typeof p === "function" ? t.throws(p as () => unknown) : await t.throwsAsync(p);
  t.true(err instanceof NotImplementedError, String(err));
  t.regex(String(err?.message), /fallback.*(createConnection|transports).*io_uring/s);
}

export function port(addr: SockAddr): number {
  if (typeof addr === "string") throw new Error(`not an IP address: ${addr}`);
  return addr.port;
}

/** The fallback backend: `call` on `s` fails (throws or rejects) with NotImplementedError; `s` is closed after. */
export async function refused(t: ExecutionContext, s: Socket, call: (s: Socket) => unknown): Promise<void> {
  try {
    await assertNotImplemented(t, (async () => call(s))());
  } finally {
    s.close();
  }
}
