// Zero-copy sends (UringLoopOptions.zeroCopyMin, src/uring/stream.ts, native/ops/send.cc):
// large writes to TCP go by SEND_ZC / SENDMSG_ZC, the write is done only at the
// notification (the staging memory stays the kernel's until then), every byte arrives
// intact both ways, and a peer that never reads cannot hold up abort() or loop.close()
// (the pages of unsent data are freed by resetting the socket). Unix sockets never use it.
import test from "ava";
import * as crypto from "node:crypto";
import * as net from "node:net";
import { UringEventLoop, Protocol, type Transport } from "ringloop";
import { uringUnavailableReason, openFds, settleFds } from "./helpers/backends.js";
import { inLoop, within, sha256, serverPort, shutdown, startEchoServer, TransferClient, Collector, deferred } from "./streams/_streams.js";

const reason = uringUnavailableReason();
const zcTest = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;

const zeroCopySends = (loop: UringEventLoop): number => loop.metrics().uring!.zeroCopySends;

zcTest("zero copy: 16 MiB echoed through SEND_ZC both ways, every byte checked", async (t) => {
  const fds = openFds();
  const loop = new UringEventLoop({ zeroCopyMin: 4096 });
  try {
    const before = zeroCopySends(loop);
    await inLoop(loop, async () => {
      const { server, port } = await startEchoServer(loop);
      const payload = crypto.randomBytes(16 << 20);
      const client = new TransferClient(payload, 64 * 1024);
      await loop.createConnection(() => client, "127.0.0.1", port);
      await within(60_000, client.lost.promise, "transfer");
      t.is(client.receivedBytes, payload.length);
      t.is(client.hash.digest("hex"), sha256(payload));
      await shutdown(server);
    });
    t.true(zeroCopySends(loop) - before > 10, `writes went by SEND_ZC: ${zeroCopySends(loop) - before}`);
    t.is(loop.pendingOps(), 0);
  } finally {
    loop.close();
  }
  t.is(await settleFds(fds), fds, "no fd left");
});

/** A node:net server that accepts and never reads: a zero-copy send to it keeps unsent data (pinned pages). */
async function deafServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    s.pause();
    s.on("error", () => {});
    sockets.push(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

class Writer extends Protocol {
  transport!: Transport;
  readonly lost = deferred<Error | null>();
  paused = deferred<void>();
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override pauseWriting(): void {
    this.paused.resolve();
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

/** Connects a Writer to a peer that never reads and writes until its window is full (pauseWriting). */
async function fillDeafPeer(loop: UringEventLoop, port: number): Promise<{ w: Writer; tr: Transport }> {
  const w = new Writer();
  const [tr] = await loop.createConnection(() => w, "127.0.0.1", port);
  for (let i = 0; i < 128; i++) tr.write(Buffer.alloc(64 * 1024, i));
  await within(10_000, w.paused.promise, "the peer's window filled (pauseWriting)");
  return { w, tr };
}

zcTest("zero copy: abort() with a send whose peer never reads ends at once, nothing left in flight", async (t) => {
  const fds = openFds();
  const deaf = await deafServer();
  const loop = new UringEventLoop({ zeroCopyMin: 4096 });
  try {
    await inLoop(loop, async () => {
      const { w, tr } = await fillDeafPeer(loop, deaf.port);
      tr.abort();
      t.is(await within(10_000, w.lost.promise, "connectionLost after abort"), null);
    });
    t.is(loop.pendingOps(), 0);
  } finally {
    loop.close();
    await deaf.close();
  }
  t.is(await settleFds(fds), fds);
});

zcTest("zero copy: loop.close() with a send whose peer never reads does not wait on it; its fd is closed", async (t) => {
  const fds = openFds();
  const deaf = await deafServer();
  const loop = new UringEventLoop({ zeroCopyMin: 4096 });
  try {
    await inLoop(loop, async () => {
      await fillDeafPeer(loop, deaf.port);
    });
    t.true(zeroCopySends(loop) > 0 || loop.pendingOps() > 0, "a zero-copy send is under way");
  } finally {
    loop.close();
    await deaf.close();
  }
  t.is(await settleFds(fds), fds, "every fd closed");
});

zcTest("zero copy: a Unix socket never uses it", async (t) => {
  const loop = new UringEventLoop({ zeroCopyMin: 1 });
  const path = `\0ringloop-zc-${process.pid}`;
  try {
    const before = zeroCopySends(loop);
    await inLoop(loop, async () => {
      const sink = new Collector();
      const server = await loop.createUnixServer(() => sink, path);
      const client = new Collector();
      const [tr] = await loop.createUnixConnection(() => client, path);
      tr.write(Buffer.alloc(1 << 20, 7));
      await within(10_000, (async () => {
        await sink.made.promise;
        await sink.waitBytes(1 << 20);
      })(), "1 MiB over the Unix socket");
      tr.close();
      await within(5000, sink.lost.promise, "closed");
      await shutdown(server);
    });
    t.is(zeroCopySends(loop), before);
  } finally {
    loop.close();
  }
});

zcTest("zero copy: a bad zeroCopyMin is a RangeError / TypeError naming it", (t) => {
  t.throws(() => new UringEventLoop({ zeroCopyMin: -1 }), { instanceOf: RangeError, message: /zeroCopyMin/ });
  t.throws(() => new UringEventLoop({ zeroCopyMin: 1.5 }), { instanceOf: RangeError, message: /zeroCopyMin/ });
  t.throws(() => new UringEventLoop({ zeroCopyMin: "8" as never }), { instanceOf: TypeError, message: /zeroCopyMin/ });
});
