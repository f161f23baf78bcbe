// The io_uring stream backend through its raw endpoints (no transports): listener, CONNECT,
// multishot accept and recv (buffer ring, ENOBUFS), SENDMSG, SHUTDOWN, close with ops in
// flight, Unix / abstract sockets, errors. uring only.
import test from "ava";
import { createHash, randomBytes } from "node:crypto";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";
import { UringEventLoop } from "ringloop";
import type { UringProactor } from "../src/uring/proactor.js";
import { streamStats } from "../src/uring/stream.js";
import type { Listener, StreamEndpoint, StreamSink } from "../src/proactor.js";
import type { SockAddr } from "../src/events.js";
import { uringUnavailableReason, openFds, settleFds } from "./helpers/backends.js";

const reason = uringUnavailableReason();
const uringTest = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;

const LISTEN = { backlog: 511, reuseAddress: true, reusePort: false, ipv6Only: false };

function proactorOf(loop: UringEventLoop): UringProactor {
  return (loop as unknown as { _proactor: UringProactor })._proactor;
}

/** Records everything; `until(pred)` resolves once pred() holds after an event. */
class Sink implements StreamSink {
  chunks: Buffer[] = [];
  received = 0;
  eof = false;
  readError: Error | null = null;
  writeDone: (Error | null)[] = [];
  shutdownDone: (Error | null)[] = [];
  closed = 0;
  readInto: number[] = [];
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];
  constructor(readonly ep: StreamEndpoint, private readonly echo = false) {
    ep.setSink(this);
  }
  private pendingEcho: Buffer[] = [];
  private writing = false;
  private wake(): void {
    this.waiters = this.waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true));
  }
  until(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
  send(chunks: Buffer[]): void {
    if (this.writing) {
      this.pendingEcho.push(...chunks);
      return;
    }
    this.writing = true;
    this.ep.write(chunks);
  }
  onData(data: Buffer): void {
    this.received += data.length;
    if (this.echo) this.send([data]);
    else this.chunks.push(data);
    this.wake();
  }
  onReadInto(n: number): void {
    this.readInto.push(n);
    this.wake();
  }
  onEof(): void {
    this.eof = true;
    this.wake();
  }
  onReadError(err: Error): void {
    this.readError = err;
    this.wake();
  }
  onWriteDone(err: Error | null): void {
    this.writing = false;
    this.writeDone.push(err);
    if (this.pendingEcho.length > 0) {
      const next = this.pendingEcho;
      this.pendingEcho = [];
      this.send(next);
    }
    this.wake();
  }
  onShutdownDone(err: Error | null): void {
    this.shutdownDone.push(err);
    this.wake();
  }
  onClosed(): void {
    this.closed++;
    this.wake();
  }
}

/** An echo server: every accepted endpoint echoes what it reads. */
function echoServer(p: UringProactor, addr: SockAddr): { listener: Listener; servers: Sink[]; errors: Error[] } {
  const listener = p.listenStream(addr, LISTEN);
  const servers: Sink[] = [];
  const errors: Error[] = [];
  listener.startAccepting({
    onAccept(ep) {
      const s = new Sink(ep, true);
      servers.push(s);
      ep.startReading();
    },
    onAcceptError(err) {
      errors.push(err);
    },
  });
  return { listener, servers, errors };
}

async function closeAll(sinks: Sink[]): Promise<void> {
  for (const s of sinks) s.ep.close();
  await Promise.all(sinks.map((s) => s.until(() => s.closed === 1)));
}

const sha = (b: Buffer | Buffer[]) => createHash("sha256").update(Array.isArray(b) ? Buffer.concat(b) : b).digest("hex");

/** Runs `body` on a fresh loop; checks no op, no fd is left behind. */
function withLoop(name: string, body: (loop: UringEventLoop, p: UringProactor) => Promise<void>, opts = {}): void {
  uringTest(`[uring] ${name}`, async (t) => {
    const before = openFds();
    const loop = new UringEventLoop(opts);
    const errors: unknown[] = [];
    loop.setExceptionHandler((_l, ctx) => errors.push(ctx));
    try {
      await loop.runUntilComplete(body(loop, proactorOf(loop)));
      t.is(loop.pendingOps(), 0, "ops left in flight");
    } finally {
      loop.close();
    }
    t.deepEqual(errors, []);
    // The ring fd and the buffer ring go with the loop; every socket must be closed.
    t.is(await settleFds(before), before, "fd leak");
  });
}

withLoop("listener + CONNECT + echo through raw endpoints; sockname and peername", async (_loop, p) => {
  const { listener, servers } = echoServer(p, { host: "127.0.0.1", port: 0, family: 4 });
  const addr = listener.sockname() as { host: string; port: number; family: 4 | 6 };
  if (typeof addr === "string" || addr.port === 0 || addr.family !== 4) throw new Error(`bad sockname ${JSON.stringify(addr)}`);
  const ep = await p.connectStream(addr, {});
  const c = new Sink(ep);
  ep.startReading();
  c.send([Buffer.from("hello "), Buffer.from("world")]);
  await c.until(() => c.received === 11);
  if (Buffer.concat(c.chunks).toString() !== "hello world") throw new Error("echo mismatch");
  const peer = ep.peername() as { port: number };
  if (peer.port !== addr.port) throw new Error("peername");
  const local = ep.sockname() as { port: number };
  if ((servers[0].ep.peername() as { port: number }).port !== local.port) throw new Error("server peername");
  await closeAll([c, ...servers]);
  listener.close();
});

withLoop("8 MiB echo through one connection, checked by hash (short sends re-issued)", async (_loop, p) => {
  const { listener, servers } = echoServer(p, { host: "127.0.0.1", port: 0, family: 4 });
  const ep = await p.connectStream(listener.sockname(), {});
  const c = new Sink(ep);
  ep.startReading();
  const data = randomBytes(8 << 20);
  // Eight 1 MiB chunks in one write: 3 iovecs + a merged tail, many short sends.
  const parts = Array.from({ length: 8 }, (_, i) => data.subarray(i << 20, (i + 1) << 20));
  c.send(parts);
  await c.until(() => c.received === data.length);
  if (sha(c.chunks) !== sha(data)) throw new Error("hash mismatch");
  if (streamStats.shortSends === 0) throw new Error("no short send re-issued");
  await closeAll([c, ...servers]);
  listener.close();
});

withLoop("EOF: shutdownWrite after the write in flight; the peer reads to the end, then onEof", async (_loop, p) => {
  const listener = p.listenStream({ host: "127.0.0.1", port: 0, family: 4 }, LISTEN);
  let server: Sink | null = null;
  const accepted = new Promise<void>((resolve) =>
    listener.startAccepting({
      onAccept(ep) {
        server = new Sink(ep);
        ep.startReading();
        resolve();
      },
      onAcceptError() {},
    }),
  );
  const ep = await p.connectStream(listener.sockname(), {});
  const c = new Sink(ep);
  const payload = randomBytes(256 << 10);
  c.send([payload]);
  ep.shutdownWrite();
  await accepted;
  const s = server as unknown as Sink;
  await s.until(() => s.eof);
  await c.until(() => c.shutdownDone.length === 1);
  if (s.received !== payload.length || sha(s.chunks) !== sha(payload)) throw new Error("data before EOF lost");
  if (c.shutdownDone[0] !== null || c.writeDone[0] !== null) throw new Error("write/shutdown failed");
  // The other direction still works after our half-close.
  s.ep.write([Buffer.from("late")]);
  ep.startReading();
  await c.until(() => c.received === 4);
  await closeAll([c, s]);
  listener.close();
});

withLoop("ECONNRESET: a peer closing with SO_LINGER 0 gives onReadError with the code", async (_loop, p) => {
  const { listener, servers } = echoServer(p, { host: "127.0.0.1", port: 0, family: 4 });
  const ep = await p.connectStream(listener.sockname(), {});
  const c = new Sink(ep);
  ep.startReading();
  c.send([Buffer.from("x")]);
  await c.until(() => c.received === 1);
  servers[0].ep.abort();
  await c.until(() => c.readError !== null || c.eof);
  if ((c.readError as NodeJS.ErrnoException | null)?.code !== "ECONNRESET") throw new Error(`expected ECONNRESET, got ${String(c.readError)} eof=${c.eof}`);
  // A write to the reset peer fails with EPIPE/ECONNRESET, no SIGPIPE.
  c.send([Buffer.alloc(1024)]);
  await c.until(() => c.writeDone.length === 2);
  const code = (c.writeDone[1] as NodeJS.ErrnoException | null)?.code;
  if (code !== "EPIPE" && code !== "ECONNRESET") throw new Error(`write after reset: ${String(code)}`);
  await servers[0].until(() => servers[0].closed === 1);
  await closeAll([c]);
  listener.close();
});

withLoop("close with a multishot recv and a send in flight: all CQEs awaited, fd closed, onClosed once", async (_loop, p) => {
  const listener = p.listenStream({ host: "127.0.0.1", port: 0, family: 4 }, LISTEN);
  const accepted: Sink[] = [];
  listener.startAccepting({ onAccept: (ep) => accepted.push(new Sink(ep)), onAcceptError() {} });
  const ep = await p.connectStream(listener.sockname(), {});
  const c = new Sink(ep);
  ep.startReading(); // multishot recv armed; the server never sends
  c.send([randomBytes(32 << 20)]); // the server never reads: the send stays in flight
  await new Promise((r) => setTimeout(r, 20));
  if (p.pendingOps() < 3) throw new Error(`expected accept + recv + send in flight, got ${p.pendingOps()}`);
  ep.close();
  ep.close(); // idempotent
  await c.until(() => c.closed === 1);
  if (c.writeDone.length !== 0 || c.eof || c.readError) throw new Error("no sink call but onClosed after close()");
  await closeAll(accepted);
  listener.close();
  await new Promise((r) => setTimeout(r, 10));
  if (c.closed !== 1) throw new Error("onClosed more than once");
});

withLoop("multishot accept of 200 connections, each echoing", async (_loop, p) => {
  const { listener, servers } = echoServer(p, { host: "127.0.0.1", port: 0, family: 4 });
  const addr = listener.sockname();
  const eps = await Promise.all(Array.from({ length: 200 }, () => p.connectStream(addr, {})));
  const clients = eps.map((ep) => new Sink(ep));
  clients.forEach((c, i) => {
    c.ep.startReading();
    c.send([Buffer.from(`conn ${i}`)]);
  });
  await Promise.all(clients.map((c, i) => c.until(() => c.received === `conn ${i}`.length)));
  clients.forEach((c, i) => {
    if (Buffer.concat(c.chunks).toString() !== `conn ${i}`) throw new Error(`conn ${i} mismatch`);
  });
  if (servers.length !== 200) throw new Error(`accepted ${servers.length}`);
  await closeAll([...clients, ...servers]);
  listener.close();
});

withLoop(
  "ENOBUFS: a 4-buffer ring, 4 MiB pushed: the recv is re-armed and everything arrives in order",
  async (_loop, p) => {
    const { listener, servers } = echoServer(p, { host: "127.0.0.1", port: 0, family: 4 });
    const ep = await p.connectStream(listener.sockname(), {});
    const c = new Sink(ep);
    ep.startReading();
    const data = randomBytes(4 << 20);
    const noBufs = streamStats.noBufs;
    c.send([data]);
    await c.until(() => c.received === data.length);
    if (sha(c.chunks) !== sha(data)) throw new Error("hash mismatch");
    if (streamStats.noBufs === noBufs) throw new Error("the ring never ran dry: ENOBUFS path not exercised");
    await closeAll([c, ...servers]);
    listener.close();
  },
  { bufCount: 4, bufSize: 4096 },
);

withLoop("stopReading cancels the multishot recv: nothing more is delivered until startReading", async (_loop, p) => {
  const { listener, servers } = echoServer(p, { host: "127.0.0.1", port: 0, family: 4 });
  const ep = await p.connectStream(listener.sockname(), {});
  const c = new Sink(ep);
  ep.startReading();
  c.send([Buffer.from("a")]);
  await c.until(() => c.received === 1);
  ep.stopReading();
  await new Promise((r) => setTimeout(r, 20));
  c.send([Buffer.from("bcd")]);
  await c.until(() => c.writeDone.length === 2);
  await new Promise((r) => setTimeout(r, 50));
  if (c.received !== 1) throw new Error(`delivered while stopped: ${c.received}`);
  ep.startReading();
  await c.until(() => c.received === 4);
  await closeAll([c, ...servers]);
  listener.close();
});

withLoop("readInto: one recv straight into the caller's buffer; 0 at EOF", async (_loop, p) => {
  const listener = p.listenStream({ host: "127.0.0.1", port: 0, family: 4 }, LISTEN);
  const accepted: Sink[] = [];
  listener.startAccepting({ onAccept: (ep) => accepted.push(new Sink(ep)), onAcceptError() {} });
  const ep = await p.connectStream(listener.sockname(), {});
  const c = new Sink(ep);
  const buf = Buffer.alloc(64);
  ep.readInto!(buf);
  await c.until(() => accepted.length === 1);
  accepted[0].send([Buffer.from("into")]);
  await c.until(() => c.readInto.length === 1);
  if (c.readInto[0] !== 4 || buf.subarray(0, 4).toString() !== "into") throw new Error("readInto");
  accepted[0].ep.shutdownWrite();
  ep.readInto!(buf);
  await c.until(() => c.readInto.length === 2);
  if (c.readInto[1] !== 0) throw new Error("readInto at EOF");
  await closeAll([c, ...accepted]);
  listener.close();
});

withLoop("Unix socket path and abstract socket listeners", async (_loop, p) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-"));
  const file = path.join(dir, "s.sock");
  const abstract = `\0ringloop-test-${process.pid}`;
  try {
    for (const addr of [file, abstract]) {
      const { listener, servers } = echoServer(p, addr);
      if (listener.sockname() !== addr) throw new Error(`sockname ${JSON.stringify(listener.sockname())}`);
      const ep = await p.connectStream(addr, {});
      if (ep.peername() !== addr) throw new Error(`peername ${JSON.stringify(ep.peername())}`);
      const c = new Sink(ep);
      ep.startReading();
      c.send([Buffer.from("unix")]);
      await c.until(() => c.received === 4);
      await closeAll([c, ...servers]);
      listener.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

withLoop("IPv6 listener on ::1 and a node:net peer", async (_loop, p) => {
  const { listener, servers } = echoServer(p, { host: "::1", port: 0, family: 6 });
  const addr = listener.sockname() as { host: string; port: number; family: 4 | 6 };
  if (addr.family !== 6 || addr.host !== "::1") throw new Error(JSON.stringify(addr));
  const got = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: "::1", port: addr.port }, () => s.write("six"));
    s.on("data", (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.on("error", reject);
  });
  if (got !== "six") throw new Error(got);
  await servers[0].until(() => servers[0].eof || servers[0].readError !== null);
  await closeAll(servers);
  listener.close();
});

withLoop("errors: ECONNREFUSED with code and address, EADDRINUSE, bad arguments", async (_loop, p) => {
  const probe = p.listenStream({ host: "127.0.0.1", port: 0, family: 4 }, LISTEN);
  const port = (probe.sockname() as { port: number }).port;
  let err: NodeJS.ErrnoException | null = null;
  try {
    p.listenStream({ host: "127.0.0.1", port, family: 4 }, { ...LISTEN, reuseAddress: false });
  } catch (e) {
    err = e as NodeJS.ErrnoException;
  }
  if (err?.code !== "EADDRINUSE" || err.syscall !== "bind") throw new Error(`EADDRINUSE: ${String(err)}`);
  probe.close();
  await new Promise((r) => setTimeout(r, 10));
  err = null;
  try {
    await p.connectStream({ host: "127.0.0.1", port, family: 4 }, {});
  } catch (e) {
    err = e as NodeJS.ErrnoException;
  }
  if (err?.code !== "ECONNREFUSED" || err.syscall !== "connect" || (err as { port?: number }).port !== port || typeof err.errno !== "number") {
    throw new Error(`ECONNREFUSED: ${String(err)}`);
  }
  const expectThrow = (fn: () => unknown, ctor: ErrorConstructor, re: RegExp) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof ctor) || !re.test((e as Error).message)) throw new Error(`wrong error: ${String(e)}`);
      return;
    }
    throw new Error("did not throw");
  };
  expectThrow(() => p.listenStream({ host: "localhost", port: 0, family: 4 }, LISTEN), TypeError, /addr\.host/);
  expectThrow(() => p.listenStream({ host: "127.0.0.1", port: 70000, family: 4 }, LISTEN), RangeError, /addr\.port/);
  expectThrow(() => p.listenStream(42 as never, LISTEN), TypeError, /addr/);
  expectThrow(() => p.adoptStream(-1), RangeError, /fd/);
  await p.connectStream({ host: "not-an-ip", port: 1, family: 4 }, {}).then(
    () => {
      throw new Error("resolved");
    },
    (e: Error) => {
      if (!(e instanceof TypeError)) throw e;
    },
  );
});

withLoop("connect aborted by its signal: the op is cancelled, the fd closed, the reason rejected", async (_loop, p) => {
  // A listener with backlog 0 that never accepts: the first connection fills the queue, the
  // second one's SYN is dropped, so its CONNECT stays in flight until aborted.
  const listener = p.listenStream({ host: "127.0.0.1", port: 0, family: 4 }, { ...LISTEN, backlog: 0 });
  const first = new Sink(await p.connectStream(listener.sockname(), {}));
  const ac = new AbortController();
  const pending = p.connectStream(listener.sockname(), { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 30));
  const before = p.pendingOps();
  if (before < 1) throw new Error("connect not in flight");
  const reasonErr = new Error("stop");
  ac.abort(reasonErr);
  const got = await pending.then(
    () => null,
    (e: unknown) => e,
  );
  if (got !== reasonErr) throw new Error(`rejected with ${String(got)}`);
  const again = await p.connectStream(listener.sockname(), { signal: AbortSignal.abort(reasonErr) }).then(
    () => null,
    (e: unknown) => e,
  );
  if (again !== reasonErr) throw new Error(`already-aborted signal: ${String(again)}`);
  await closeAll([first]);
  listener.close();
});

withLoop("adoptListener takes a user fd; adoptStream refuses a listening socket and a bad fd", async (_loop, p) => {
  const { nativeSockets } = await import("../src/addon.js");
  const s = nativeSockets();
  const fd = s.socket(4);
  if (fd < 0 || s.bind(fd, 4, "127.0.0.1", 0) !== 0 || s.listen(fd, 16) !== 0) throw new Error("raw listen");
  let wrong: unknown = null;
  try {
    p.adoptStream(fd);
  } catch (e) {
    wrong = e;
  }
  if (!(wrong instanceof TypeError) || !/listening/.test((wrong as Error).message)) throw new Error(`adoptStream(listening fd): ${String(wrong)}`);
  const listener = p.adoptListener(fd);
  const servers: Sink[] = [];
  listener.startAccepting({ onAccept: (ep) => servers.push(new Sink(ep, true)), onAcceptError() {} });
  const ep0 = await p.connectStream(listener.sockname(), {});
  const c = new Sink(ep0);
  await c.until(() => servers.length === 1);
  servers[0].ep.startReading();
  ep0.startReading();
  c.send([Buffer.from("adopted")]);
  await c.until(() => c.received === 7);
  let notSock: NodeJS.ErrnoException | null = null;
  try {
    p.adoptStream(0x7ffffff0);
  } catch (e) {
    notSock = e as NodeJS.ErrnoException;
  }
  if (notSock?.code !== "EBADF") throw new Error(`adoptStream(bad fd): ${String(notSock)}`);
  await closeAll([c, ...servers]);
  listener.close();
});

uringTest("[uring] closing the loop with endpoints and listeners still open releases their fds", async (t) => {
  const before = openFds();
  const loop = new UringEventLoop();
  const p = proactorOf(loop);
  await loop.runUntilComplete(
    (async () => {
      const { listener, servers } = echoServer(p, { host: "127.0.0.1", port: 0, family: 4 });
      const ep = await p.connectStream(listener.sockname(), {});
      const c = new Sink(ep);
      ep.startReading();
      c.send([Buffer.from("open")]);
      await c.until(() => c.received === 4 && servers.length === 1);
    })(),
  );
  t.true(openFds() >= before + 4, "ring, listener and two connected sockets open");
  loop.close();
  t.is(loop.pendingOps(), 0);
  t.is(await settleFds(before), before);
});

withLoop("Unix socket, slow reader that half-closed first: a send answered -EAGAIN waits for POLLOUT, nothing lost", async (_loop, p) => {
  // Seen with socat as the client: after the peer's EOF, io_uring hands SENDMSG's -EAGAIN
  // back instead of waiting (AF_UNIX, O_NONBLOCK socket). A one-chunk write goes out as
  // SEND, which the kernel retries by itself; two chunks force the SENDMSG path.
  const where = path.join(os.tmpdir(), `ringloop-eagain-${process.pid}.sock`);
  try {
    const listener = p.listenStream(where, LISTEN);
    const accepted: Sink[] = [];
    listener.startAccepting({ onAccept: (ep) => accepted.push(new Sink(ep)), onAcceptError() {} });
    const ep = await p.connectStream(where, {});
    const c = new Sink(ep);
    ep.shutdownWrite();
    await c.until(() => accepted.length === 1 && c.shutdownDone.length === 1);
    const server = accepted[0];
    server.ep.startReading();
    await server.until(() => server.eof);
    const data = randomBytes(4 << 20);
    const polls = streamStats.sendPolls;
    server.send([data.subarray(0, 2 << 20), data.subarray(2 << 20)]);
    await new Promise((r) => setTimeout(r, 50)); // the client's queue fills up meanwhile
    ep.startReading();
    await c.until(() => c.received === data.length);
    await server.until(() => server.writeDone.length === 1);
    if (server.writeDone[0] !== null) throw server.writeDone[0];
    if (sha(c.chunks) !== sha(data)) throw new Error("hash mismatch");
    if (streamStats.sendPolls === polls) throw new Error("no -EAGAIN seen: the POLLOUT path was not exercised");
    await closeAll([c, server]);
    listener.close();
  } finally {
    fs.rmSync(where, { force: true });
  }
});

uringTest("[uring] bad buffer-ring options are rejected naming the option", (t) => {
  t.throws(() => new UringEventLoop({ bufCount: 3 }), { instanceOf: RangeError, message: /bufCount/ });
  t.throws(() => new UringEventLoop({ bufCount: "8" as never }), { instanceOf: TypeError, message: /bufCount/ });
  t.throws(() => new UringEventLoop({ bufSize: 0 }), { instanceOf: RangeError, message: /bufSize/ });
});

withLoop(
  "data still arriving after stopReading is delivered, not held (the transport holds it), in order; startReading reads on",
  async (_loop, p) => {
    const listener = p.listenStream({ host: "127.0.0.1", port: 0, family: 4 }, LISTEN);
    const accepted: Sink[] = [];
    listener.startAccepting({ onAccept: (ep) => accepted.push(new Sink(ep)), onAcceptError() {} });
    const ep = await p.connectStream(listener.sockname(), {});
    await new Promise((r) => setTimeout(r, 10));
    const data = randomBytes(256 << 10);
    accepted[0].send([data]);
    await accepted[0].until(() => accepted[0].writeDone.length === 1);
    // 256 KiB waiting in 4 KiB buffers: one batch carries many recv CQEs; stopping inside
    // the first onData leaves the rest of the batch on its way, and the endpoint delivers it.
    let first = -1;
    const c = new Sink(ep);
    const onData = c.onData.bind(c);
    c.onData = (d: Buffer) => {
      onData(d);
      if (first < 0) {
        first = c.received;
        ep.stopReading();
      }
    };
    ep.startReading();
    await c.until(() => c.received > 0);
    await new Promise((r) => setTimeout(r, 30));
    const afterStop = c.received;
    if (afterStop === first) throw new Error("nothing arrived after stopReading: the batch was not in flight");
    // Sent after the recv was cancelled: it waits in the kernel until startReading.
    const more = randomBytes(64 << 10);
    accepted[0].send([more]);
    await accepted[0].until(() => accepted[0].writeDone.length === 2);
    await new Promise((r) => setTimeout(r, 30));
    if (c.received > data.length) throw new Error(`the recv went on after its cancel: ${c.received - data.length} bytes of the second send`);
    ep.startReading();
    await c.until(() => c.received === data.length + more.length);
    if (sha(c.chunks) !== sha(Buffer.concat([data, more]))) throw new Error("data delivered out of order");
    await closeAll([c, ...accepted]);
    listener.close();
  },
  { bufSize: 4096 },
);
