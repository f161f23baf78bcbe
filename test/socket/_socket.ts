// Shared pieces of the socket suite: a connected TCP pair made with the sock_* methods,
// bounded waits, and a child process running a script against the built package.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { socket, type AbstractEventLoop, type AbstractSocket as Socket, type SockAddr } from "ringloop";
import { within, runChild } from "../streams/_streams.js";

export { inLoop, within, sha256, closedPort, runChild, deferred } from "../streams/_streams.js";

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

export function port(addr: SockAddr): number {
  if (typeof addr === "string") throw new Error(`not an IP address: ${addr}`);
  return addr.port;
}

/** The package's CJS entry, for scripts run in a child process. */
export const PACKAGE_ENTRY = path.resolve(__dirname, "../../src/index.js");

export interface ScriptResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` in a child Node process (`r` is the package there); `env` is added to this
 * process's environment. Rejects when the child has not exited after `timeoutMs`.
 */
export async function runScript(script: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<ScriptResult> {
  const source = `const r = require(${JSON.stringify(PACKAGE_ENTRY)});\n${script}`;
  const r = await runChild(process.execPath, ["-e", source], null, timeoutMs, { ...process.env, ...env });
  return { status: r.code, signal: r.signal, stdout: r.stdout.toString(), stderr: r.stderr };
}

/** Opens /dev/null into every free fd number below `fd` (so the next fd made is `fd` once it is closed); returns them. */
export function fillFdHoles(fd: number): number[] {
  const fillers: number[] = [];
  for (;;) {
    const f = fs.openSync("/dev/null", "r");
    if (f < fd) {
      fillers.push(f);
      continue;
    }
    fs.closeSync(f);
    return fillers;
  }
}

export function closeFillers(fillers: number[]): void {
  for (const f of fillers) fs.closeSync(f);
}

/** Everything `s` receives until EOF. */
export async function recvUntilEof(loop: AbstractEventLoop, s: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const b = await loop.sockRecv(s, 256 * 1024);
    if (b.length === 0) return Buffer.concat(parts);
    parts.push(b);
  }
}

/** Two Unix datagram sockets bound to abstract names (`tag` keeps test files apart). */
export function abstractDgramPair(tag: string): { a: Socket; b: Socket; an: string; bn: string; close(): void } {
  const a = socket("unix", "dgram");
  const b = socket("unix", "dgram");
  const an = `\0ringloop-${tag}-a-${process.pid}`;
  const bn = `\0ringloop-${tag}-b-${process.pid}`;
  try {
    a.bind(an);
    b.bind(bn);
  } catch (err) {
    a.close();
    b.close();
    throw err;
  }
  return { a, b, an, bn, close: () => (a.close(), b.close()) };
}
