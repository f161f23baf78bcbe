// Shared pieces of the sendfile suite: test files with position-dependent content (a wrong
// offset changes the hash), a node:net reader that hashes what each connection receives,
// and a ringloop sender connection. Every wait is bounded (within).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Protocol, type AbstractEventLoop, type Transport } from "ringloop";
import { deferred, within, streams, type Deferred } from "../streams/_streams.js";

export { within, deferred, streams };

const MiB = 1024 * 1024;
export { MiB };

/**
 * Creates a file of `size` bytes: a random 1 MiB block repeated, each 4 KiB page stamped
 * with its own index, so every range has its own hash. Removed by the returned cleanup.
 */
export function makeFile(size: number, name = "data"): { path: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-sendfile-"));
  const file = path.join(dir, name);
  const block = crypto.randomBytes(MiB);
  const fd = fs.openSync(file, "w");
  try {
    for (let off = 0; off < size; off += MiB) {
      const n = Math.min(MiB, size - off);
      for (let p = 0; p < n; p += 4096) block.writeUInt32LE((off + p) / 4096, p);
      fs.writeSync(fd, block, 0, n, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { path: file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** sha256 of bytes [offset, offset + count) of the file at `file`. */
export function hashRange(file: string, offset: number, count: number): string {
  const h = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(4 * MiB);
    let pos = offset;
    let left = count;
    while (left > 0) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, left), pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

export interface Received {
  bytes: number;
  hash: string;
  /** The first `keep` bytes as they arrived (for order checks). */
  head: Buffer;
  /** The last bytes (for order checks after the file). */
  tail: Buffer;
  error: Error | null;
}

/**
 * A node:net server: each connection is hashed until the peer closes. `received()` yields
 * results in completion order; `sockets` are the live server-side sockets.
 */
export class Reader {
  readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  private results: Received[] = [];
  private waiters: Deferred<Received>[] = [];
  port = 0;

  constructor(private readonly onSocket?: (s: net.Socket) => void, private readonly keep = 64) {
    this.server = net.createServer((s) => this.accept(s));
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  private accept(s: net.Socket): void {
    this.sockets.add(s);
    const h = crypto.createHash("sha256");
    let bytes = 0;
    const headParts: Buffer[] = [];
    let headLen = 0;
    let tail = Buffer.alloc(0);
    let error: Error | null = null;
    s.on("data", (d: Buffer) => {
      h.update(d);
      bytes += d.length;
      if (headLen < this.keep) {
        headParts.push(d.subarray(0, this.keep - headLen));
        headLen += Math.min(d.length, this.keep - headLen);
      }
      tail = Buffer.concat([tail, d]).subarray(-this.keep);
    });
    s.on("error", (e) => (error = e));
    s.on("close", () => {
      this.sockets.delete(s);
      this.push({ bytes, hash: h.digest("hex"), head: Buffer.concat(headParts), tail, error });
    });
    this.onSocket?.(s);
  }

  private push(r: Received): void {
    const w = this.waiters.shift();
    if (w) w.resolve(r);
    else this.results.push(r);
  }

  received(): Promise<Received> {
    const r = this.results.shift();
    if (r) return Promise.resolve(r);
    const d = deferred<Received>();
    this.waiters.push(d);
    return d.promise;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/**
 * A Reader whose connections stop reading after their first data (so the sender stalls
 * mid-file); `stalled` yields each such socket, for the test to resume.
 */
export async function stallingReader(): Promise<{ reader: Reader; stalled(): Promise<net.Socket> }> {
  const sockets: net.Socket[] = [];
  const waiters: Deferred<net.Socket>[] = [];
  const reader = await new Reader((s) => {
    s.once("data", () => {
      s.pause();
      const w = waiters.shift();
      if (w) w.resolve(s);
      else sockets.push(s);
    });
  }).listen();
  const stalled = (): Promise<net.Socket> => {
    const s = sockets.shift();
    if (s) return Promise.resolve(s);
    const d = deferred<net.Socket>();
    waiters.push(d);
    return d.promise;
  };
  return { reader, stalled };
}

/** The sender's protocol: records what the peer sends and when the connection ends. */
export class Sender extends Protocol {
  transport!: Transport;
  readonly made = deferred<void>();
  readonly lost = deferred<Error | null>();
  readonly data: Buffer[] = [];
  /** Set by the test: data that arrives while this is true is counted in `duringFile`. */
  fileInProgress = false;
  duringFile = 0;
  readonly gotData = deferred<void>();
  override connectionMade(t: Transport): void {
    this.transport = t;
    this.made.resolve();
  }
  override dataReceived(d: Buffer): void {
    if (this.fileInProgress) this.duringFile += d.length;
    this.data.push(d);
    this.gotData.resolve();
  }
  override eofReceived(): boolean {
    return true;
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

/** A ringloop connection to `port`, ready to send. */
export async function connect(loop: AbstractEventLoop, port: number): Promise<[Transport, Sender]> {
  const [tr, p] = await within(5000, streams(loop).createConnection(() => new Sender(), "127.0.0.1", port), "connect");
  await within(5000, (p as Sender).made.promise, "connectionMade");
  return [tr, p as Sender];
}

/** Closes `tr` and waits for connectionLost. */
export async function closeAndWait(tr: Transport, p: Sender): Promise<Error | null> {
  tr.close();
  return within(10000, p.lost.promise, "connectionLost");
}
