// Shared pieces of the stream suite: protocols used by several files, address helpers and
// bounded waits. Every wait here has a deadline: a
// stream bug must fail its test, never hang the suite.
import * as crypto from "node:crypto";
import * as net from "node:net";
import { spawn } from "node:child_process";
import {
  Protocol,
  BufferedProtocol,
  type AbstractEventLoop,
  type AbstractServer,
  type BaseProtocol,
  type Transport,
} from "ringloop";

export type IpAddress = { host: string; port: number; family: 4 | 6 };
export type ProtocolFactory = () => BaseProtocol;

/** The loop's stream API is declared on AbstractEventLoop; these names keep the tests short. */
export type StreamServer = AbstractServer;
export type StreamLoop = AbstractEventLoop;

/** Runs `body` as a Task on `loop` until it settles. */
export function inLoop<T>(loop: AbstractEventLoop, body: () => Promise<T>): Promise<T> {
  return loop.runUntilComplete(loop.createTask(() => body()));
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function sha256(...parts: Uint8Array[]): string {
  const h = crypto.createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

export function serverPort(server: StreamServer): number {
  const name = server.sockets[0].getsockname();
  if (name === null || typeof name === "string") throw new TypeError(`not an IP server: ${name}`);
  return name.port;
}

/**
 * Echo with flow control, as a well-behaved asyncio server: stops reading while its own
 * writes are paused, and echoes the peer's EOF by closing once everything is flushed.
 */
export class EchoProtocol extends Protocol {
  transport!: Transport;
  readonly lost = deferred<Error | null>();
  received = 0;
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override dataReceived(data: Buffer): void {
    this.received += data.length;
    this.transport.write(data);
  }
  override pauseWriting(): void {
    this.transport.pauseReading();
  }
  override resumeWriting(): void {
    this.transport.resumeReading();
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

/**
 * Client side of a transfer: sends `payload` in chunks while the transport is not paused,
 * then writeEof(); hashes everything received until EOF. `lost` settles at connectionLost.
 */
export class TransferClient extends Protocol {
  transport!: Transport;
  readonly hash = crypto.createHash("sha256");
  receivedBytes = 0;
  eof = false;
  lostCalls = 0;
  pauses = 0;
  readonly made = deferred<void>();
  readonly lost = deferred<Error | null>();
  private offset = 0;
  private paused = false;

  constructor(
    private readonly payload: Buffer,
    private readonly chunk = 256 * 1024,
  ) {
    super();
  }
  override connectionMade(t: Transport): void {
    this.transport = t;
    this.made.resolve();
    this.pump();
  }
  private eofSent = false;
  private pump(): void {
    while (!this.paused && this.offset < this.payload.length) {
      const end = Math.min(this.offset + this.chunk, this.payload.length);
      this.transport.write(this.payload.subarray(this.offset, end));
      this.offset = end;
    }
    if (this.offset === this.payload.length && !this.paused && !this.eofSent) {
      this.eofSent = true;
      this.transport.writeEof();
    }
  }
  override pauseWriting(): void {
    this.paused = true;
    this.pauses++;
  }
  override resumeWriting(): void {
    this.paused = false;
    this.pump();
  }
  override dataReceived(data: Buffer): void {
    this.receivedBytes += data.length;
    this.hash.update(data);
  }
  override eofReceived(): void {
    this.eof = true;
  }
  override connectionLost(exc: Error | null): void {
    this.lostCalls++;
    this.lost.resolve(exc);
  }
}

/** Counts what it gets; when the peer's EOF comes, keeps writing: reports the count, then closes. */
export class ReplyAfterEof extends Protocol {
  transport!: Transport;
  received: Buffer[] = [];
  readonly lost = deferred<Error | null>();
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override dataReceived(d: Buffer): void {
    this.received.push(d);
  }
  override eofReceived(): boolean {
    const all = Buffer.concat(this.received);
    this.transport.write(Buffer.from(`got ${all.length} ${sha256(all)}`));
    this.transport.close();
    return true;
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

/** Collects what arrives; `lost` settles at connectionLost. */
export class Collector extends Protocol {
  transport!: Transport;
  chunks: Buffer[] = [];
  eof = false;
  keepOpenOnEof = false;
  lostCalls = 0;
  readonly made = deferred<void>();
  readonly eofSeen = deferred<void>();
  readonly lost = deferred<Error | null>();
  private waiters: Array<{ n: number; d: Deferred<void> }> = [];
  get size(): number {
    return this.chunks.reduce((s, c) => s + c.length, 0);
  }
  data(): Buffer {
    return Buffer.concat(this.chunks);
  }
  /** Resolves once at least `n` bytes have arrived. */
  waitBytes(n: number): Promise<void> {
    if (this.size >= n) return Promise.resolve();
    const d = deferred<void>();
    this.waiters.push({ n, d });
    return d.promise;
  }
  override connectionMade(t: Transport): void {
    this.transport = t;
    this.made.resolve();
  }
  override dataReceived(data: Buffer): void {
    this.chunks.push(data);
    const size = this.size;
    this.waiters = this.waiters.filter((w) => (size >= w.n ? (w.d.resolve(), false) : true));
  }
  override eofReceived(): boolean {
    this.eof = true;
    this.eofSeen.resolve();
    return this.keepOpenOnEof;
  }
  override connectionLost(exc: Error | null): void {
    this.lostCalls++;
    this.lost.resolve(exc);
  }
}

/** BufferedProtocol echo: reads into one fixed buffer it owns and echoes from it. */
export class BufferedEcho extends BufferedProtocol {
  transport!: Transport;
  readonly buf = Buffer.alloc(4096);
  hints: number[] = [];
  updates = 0;
  readonly lost = deferred<Error | null>();
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override getBuffer(sizeHint: number): Uint8Array {
    this.hints.push(sizeHint);
    return this.buf;
  }
  override bufferUpdated(nbytes: number): void {
    this.updates++;
    this.transport.write(this.buf.subarray(0, nbytes));
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

/** A port nothing listens on (bound by node:net, then released). */
export async function closedPort(host = "127.0.0.1"): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, host, r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program without blocking Node's loop (the ringloop loop must keep turning). */
export function runChild(cmd: string, args: string[], input: Buffer | null, timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: env ?? process.env });
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")}: no exit within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.on("error", () => {});
    if (input) child.stdin.end(input);
    else child.stdin.end();
  });
}

export async function startEchoServer(loop: AbstractEventLoop, host = "127.0.0.1", opts: { ssl?: unknown } = {}): Promise<{ server: StreamServer; port: number; protocols: EchoProtocol[] }> {
  const protocols: EchoProtocol[] = [];
  const server = await loop.createServer(
    () => {
      const p = new EchoProtocol();
      protocols.push(p);
      return p;
    },
    host,
    0,
    opts,
  );
  return { server, port: serverPort(server), protocols };
}

/** A server on 127.0.0.1 whose connections all get `sink`, and a Collector client connected to it. */
export async function connectToSink(loop: AbstractEventLoop, sink: BaseProtocol): Promise<{ server: StreamServer; client: Collector; tr: Transport }> {
  const server = await loop.createServer(() => sink, "127.0.0.1", 0);
  const client = new Collector();
  const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
  return { server, client, tr };
}

/** A server on 127.0.0.1 whose connection gets `reader` with reading paused from the start: a slow reader. */
export function pausedReaderServer(loop: AbstractEventLoop, reader: Collector, opts?: { ssl?: unknown }): Promise<StreamServer> {
  const factory = (): Collector => {
    reader.made.promise.then(() => reader.transport.pauseReading());
    return reader;
  };
  return opts === undefined ? loop.createServer(factory, "127.0.0.1", 0) : loop.createServer(factory, "127.0.0.1", 0, opts);
}

/** Closes `server` and waits for it (bounded). */
export async function shutdown(server: StreamServer): Promise<void> {
  server.close();
  await within(5000, server.waitClosed(), "server.waitClosed()");
}
