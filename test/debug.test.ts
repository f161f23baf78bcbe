import * as net from "node:net";
import { Protocol, type Transport } from "ringloop";
import { backendTest, sleep } from "./helpers/backends.js";
import { Collector, deferred, serverPort, shutdown, startEchoServer, within } from "./streams/_streams.js";

function captureWarnings(): { messages: string[]; stop(): void } {
  const messages: string[] = [];
  const onWarning = (w: Error) => messages.push(w.message);
  process.on("warning", onWarning);
  return { messages, stop: () => process.off("warning", onWarning) };
}

backendTest("debug mode logs callbacks slower than slowCallbackDuration", async (t, { loop }) => {
  t.false(loop.getDebug());
  loop.setDebug(true);
  t.true(loop.getDebug());
  loop.slowCallbackDuration = 20;
  const w = captureWarnings();
  try {
    loop.callSoon(function slowOne() {
      const end = Date.now() + 40;
      while (Date.now() < end);
    });
    loop.callSoon(function fastOne() {});
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    await sleep(10);
  } finally {
    w.stop();
    loop.setDebug(false);
  }
  t.is(w.messages.filter((m) => /Executing <Handle slowOne\(\)> took \d+\.\d+ ms/.test(m)).length, 1, w.messages.join("\n"));
  t.false(w.messages.some((m) => m.includes("fastOne")));
});

backendTest("debug mode records where a handle was created", async (t, { loop, takeExceptions }) => {
  loop.setDebug(true);
  loop.callSoon(function thrower() {
    throw new Error("x");
  });
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  loop.setDebug(false);
  const [ctx] = takeExceptions();
  t.regex(String(ctx.sourceTraceback), /debug\.test\.[jt]s/);
});

backendTest("debug mode warns when a loop is garbage-collected unclosed", async (t, { newPolicy }) => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return t.fail("tests run with --expose-gc");
  const w = captureWarnings();
  try {
    process.env.RINGLOOP_DEBUG = "1"; // debug from creation on, so the creation stack is kept
    (() => {
      const lost = newPolicy().newEventLoop();
      delete process.env.RINGLOOP_DEBUG;
      t.true(lost.getDebug());
      lost.callLater(1000, () => {});
    })();
    for (let i = 0; i < 10 && !w.messages.some((m) => m.startsWith("unclosed event loop")); i++) {
      gc();
      await sleep(20);
    }
  } finally {
    w.stop();
  }
  t.true(w.messages.some((m) => /^unclosed event loop <\w+EventLoop backend=\w+>\nObject created at:/.test(m)), w.messages.join("\n"));
});

const gcNow = (): (() => void) => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("tests run with --expose-gc");
  return gc;
};

/** Collects garbage until `done()` or ~2 s (FinalizationRegistry callbacks run after a GC, asynchronously). */
async function collectUntil(done: () => boolean): Promise<void> {
  const gc = gcNow();
  for (let i = 0; i < 100 && !done(); i++) {
    gc();
    await sleep(20);
  }
}

backendTest("debug mode warns when an idle transport is garbage-collected unclosed, and closes its connection", async (t, { loop }) => {
  loop.setDebug(true);
  const w = captureWarnings();
  try {
    await loop.runUntilComplete(
      loop.createTask(async () => {
        const peer = new Collector();
        const server = await loop.createServer(() => peer, "127.0.0.1", 0);
        // A client whose protocol keeps nothing and pauses reading at once: idle and
        // referenced by nobody, so collectable (asyncio: no read in flight holds it).
        await (async () => {
          class Forgetful extends Protocol {
            override connectionMade(tr: Transport): void {
              tr.pauseReading();
            }
          }
          await loop.createConnection(() => new Forgetful(), "127.0.0.1", serverPort(server));
        })();
        await within(5000, peer.made.promise, "accepted");
        await collectUntil(() => w.messages.some((m) => m.startsWith("unclosed transport")));
        await within(5000, peer.lost.promise, "the collected transport's connection was closed");
        await shutdown(server);
      }),
    );
  } finally {
    w.stop();
    loop.setDebug(false);
  }
  t.true(w.messages.some((m) => /^unclosed transport <StreamTransport fd=\d+ open>\nObject created at:\n[^]*debug\.test/.test(m)), w.messages.join("\n"));
});

backendTest("a transport that is reading stays alive with no user reference (its read keeps it)", async (t, { loop }) => {
  const peers: net.Socket[] = [];
  const node = net.createServer((s) => {
    s.on("error", () => {}); // a reset shows as the missing data below
    peers.push(s);
  });
  await new Promise<void>((r) => node.listen(0, "127.0.0.1", r));
  try {
    await loop.runUntilComplete(
      loop.createTask(async () => {
        const got = deferred<string>();
        await (async () => {
          class Receiver extends Protocol {
            override dataReceived(d: Buffer): void {
              got.resolve(d.toString());
            }
          }
          // Neither the transport nor the protocol is kept by anyone but the loop.
          await loop.createConnection(() => new Receiver(), "127.0.0.1", (node.address() as net.AddressInfo).port);
        })();
        while (peers.length === 0) await sleep(5);
        const gc = gcNow();
        for (let i = 0; i < 5; i++) {
          gc();
          await sleep(20);
        }
        peers[0].write("still here");
        t.is(await within(5000, got.promise, "data after GC"), "still here");
      }),
    );
  } finally {
    for (const p of peers) p.destroy();
    node.close();
  }
  await sleep(50);
});

backendTest("debug mode warns when a server that is not serving is garbage-collected unclosed, and closes its listener", async (t, { loop }) => {
  loop.setDebug(true);
  const w = captureWarnings();
  let port = 0;
  try {
    await loop.runUntilComplete(
      loop.createTask(async () => {
        port = await (async () => serverPort(await loop.createServer(() => new Protocol(), "127.0.0.1", 0, { startServing: false })))();
        await collectUntil(() => w.messages.some((m) => m.startsWith("unclosed server")));
      }),
    );
  } finally {
    w.stop();
    loop.setDebug(false);
  }
  t.true(w.messages.some((m) => /^unclosed server <Server sockets=\(127\.0\.0\.1:\d+\)>\nObject created at:/.test(m)), w.messages.join("\n"));
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => (s.destroy(), resolve("connected")));
    s.on("error", (e: NodeJS.ErrnoException) => resolve(String(e.code)));
  });
  t.is(refused, "ECONNREFUSED", "the listener was closed");
});
