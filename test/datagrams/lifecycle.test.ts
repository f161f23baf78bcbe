// Closing, aborting, flow control and lifetime of datagram transports (asyncio's
// _SelectorDatagramTransport rules); teardown checks no op and no fd is left.
import { backendTest, sleep } from "../helpers/backends.js";
import { DatagramProtocol, type DatagramTransport, type SockAddr } from "ringloop";
import { DgramCollector, inLoop, within, closedUdpPort } from "./_dgram.js";

async function pair(loop: Parameters<typeof inLoop>[0]) {
  const rx = new DgramCollector();
  const [rt] = await loop.createDatagramEndpoint(() => rx, { localAddr: { host: "127.0.0.1", port: 0 } });
  const tx = new DgramCollector();
  const [tt] = await loop.createDatagramEndpoint(() => tx, { remoteAddr: rt.getExtraInfo("sockname") as { host: string; port: number } });
  return { rx, rt, tx, tt };
}

backendTest("datagrams: close() lets queued datagrams go first, then connectionLost(null)", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { rx, rt, tx, tt } = await pair(loop);
    for (let i = 0; i < 100; i++) tt.sendto(Buffer.from(`d${i}`));
    t.true(tt.getWriteBufferSize() > 0 || loop.backend === "fallback");
    tt.close();
    t.true(tt.isClosing());
    t.is(await within(5000, tx.lost.promise, "sender closed"), null);
    for (let i = 0; i < 100; i++) t.is((await within(5000, rx.next(), `d${i}`))[0].toString(), `d${i}`);
    t.is(tt.getWriteBufferSize(), 0);
    rt.close();
    await rx.lost.promise;
  });
});

backendTest("datagrams: close with the multishot receive in flight leaves no op and no fd", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const c = new DgramCollector();
    const [tr] = await loop.createDatagramEndpoint(() => c, { localAddr: { host: "127.0.0.1", port: 0 } });
    await sleep(10); // the receive is armed and waiting in the kernel
    if (loop.backend === "uring") t.true(loop.pendingOps() >= 1, "a receive is in flight");
    tr.close();
    t.is(await within(5000, c.lost.promise, "connectionLost"), null);
  });
  t.is(loop.pendingOps(), 0);
});

backendTest("datagrams: abort() with sends queued drops them: connectionLost(null), no op or fd left", async (t, { loop }) => {
  const p = await closedUdpPort();
  await inLoop(loop, async () => {
    const c = new DgramCollector();
    const [tr] = await loop.createDatagramEndpoint(() => c, { localAddr: { host: "127.0.0.1", port: 0 } });
    // More than the endpoint keeps in flight: the rest waits in its queue when abort comes.
    for (let i = 0; i < 2000; i++) tr.sendto(Buffer.alloc(512, i & 255), { host: "127.0.0.1", port: p });
    tr.abort();
    t.true(tr.isClosing());
    t.is(await within(5000, c.lost.promise, "connectionLost"), null);
    t.is(tr.getWriteBufferSize(), 0);
    t.deepEqual(c.errors, [], "nothing reported for dropped datagrams");
  });
});

backendTest("datagrams: sendto after close is dropped, with asyncio's warning after a few", async (t, { loop }) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on("warning", onWarning);
  try {
    await inLoop(loop, async () => {
      const { rx, rt, tx, tt } = await pair(loop);
      tt.close();
      await tx.lost.promise;
      for (let i = 0; i < 6; i++) tt.sendto(Buffer.from("late"));
      t.is(tt.getWriteBufferSize(), 0);
      await sleep(50);
      t.is(rx.datagrams.length, 0, "nothing was sent after close");
      rt.close();
      await rx.lost.promise;
    });
  } finally {
    process.off("warning", onWarning);
  }
  t.is(warnings.filter((m) => m.includes("socket.send() raised exception.")).length, 1);
});

backendTest("datagrams: flow control: pauseWriting above the high mark, resumeWriting at the low mark", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { rx, rt, tx, tt } = await pair(loop);
    const limits = tt as DatagramTransport & { getWriteBufferLimits(): [number, number]; setWriteBufferLimits(h?: number, l?: number): void };
    t.deepEqual(limits.getWriteBufferLimits(), [16384, 65536]);
    limits.setWriteBufferLimits(1000);
    t.deepEqual(limits.getWriteBufferLimits(), [250, 1000]);
    for (let i = 0; i < 10; i++) tt.sendto(Buffer.alloc(200));
    t.is(tx.paused, 1, "paused once, above 1000 bytes buffered");
    t.is(tt.getWriteBufferSize(), 2000);
    for (let i = 0; i < 10; i++) await within(5000, rx.next(), `datagram ${i}`);
    for (let i = 0; i < 50 && tt.getWriteBufferSize() > 0; i++) await sleep(10);
    t.is(tx.resumed, 1);
    tt.close();
    rt.close();
    await Promise.all([rx.lost.promise, tx.lost.promise]);
  });
});

backendTest("datagrams: pauseReading holds datagrams until resumeReading; they arrive in order", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { rx, rt, tx, tt } = await pair(loop);
    const r = rt as DatagramTransport & { pauseReading(): void; resumeReading(): void; isReading(): boolean };
    r.pauseReading();
    t.false(r.isReading());
    for (let i = 0; i < 20; i++) tt.sendto(Buffer.from(`h${i}`));
    await sleep(50);
    t.is(rx.datagrams.length, 0);
    r.resumeReading();
    for (let i = 0; i < 20; i++) t.is((await within(5000, rx.next(), `h${i}`))[0].toString(), `h${i}`);
    tt.close();
    rt.close();
    await Promise.all([rx.lost.promise, tx.lost.promise]);
  });
});

backendTest("datagrams: an exception in datagramReceived goes to the exception handler; the transport stays open", async (t, { loop, takeExceptions }) => {
  await inLoop(loop, async () => {
    let calls = 0;
    class Throws extends DgramCollector {
      override datagramReceived(data: Buffer, addr: SockAddr): void {
        super.datagramReceived(data, addr);
        if (++calls === 1) throw new Error("boom");
      }
    }
    const rx = new Throws();
    const [rt] = await loop.createDatagramEndpoint(() => rx, { localAddr: { host: "127.0.0.1", port: 0 } });
    const tx = new DgramCollector();
    const [tt] = await loop.createDatagramEndpoint(() => tx, { remoteAddr: rt.getExtraInfo("sockname") as { host: string; port: number } });
    tt.sendto(Buffer.from("1"));
    tt.sendto(Buffer.from("2"));
    await within(5000, rx.next(), "1");
    t.is((await within(5000, rx.next(), "2"))[0].toString(), "2");
    const ex = takeExceptions();
    t.is(ex.length, 1);
    t.is(ex[0].message, "Exception in protocol.datagramReceived()");
    t.is(String(ex[0].exception), "Error: boom");
    t.is(ex[0].transport, rt);
    t.false(rt.isClosing());
    tt.close();
    rt.close();
    await Promise.all([rx.lost.promise, tx.lost.promise]);
  });
});

backendTest("debug mode warns when an idle datagram transport is garbage-collected unclosed, and closes its socket", async (t, { loop }) => {
  loop.setDebug(true);
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on("warning", onWarning);
  try {
    await inLoop(loop, async () => {
      let where: SockAddr | null = null;
      await (async () => {
        class Forgetful extends DatagramProtocol {
          override connectionMade(tr: DatagramTransport): void {
            where = tr.getExtraInfo("sockname") as SockAddr;
            (tr as DatagramTransport & { pauseReading(): void }).pauseReading();
          }
        }
        await loop.createDatagramEndpoint(() => new Forgetful(), { localAddr: { host: "127.0.0.1", port: 0 } });
      })();
      const gc = (globalThis as { gc?: () => void }).gc!;
      for (let i = 0; i < 100 && !warnings.some((m) => m.startsWith("unclosed transport")); i++) {
        gc();
        await sleep(20);
      }
      // The socket was closed by the cleanup: its port can be bound again.
      const c = new DgramCollector();
      let bound = false;
      for (let i = 0; i < 100 && !bound; i++) {
        try {
          const [tr] = await loop.createDatagramEndpoint(() => c, { localAddr: where as unknown as { host: string; port: number } });
          bound = true;
          tr.close();
        } catch {
          await sleep(20);
        }
      }
      t.true(bound, "the collected transport's socket was closed");
      await c.lost.promise;
    });
  } finally {
    process.off("warning", onWarning);
    loop.setDebug(false);
  }
  t.true(warnings.some((m) => /^unclosed transport <DatagramTransport fd=-?\d+ open>\nObject created at:\n[^]*lifecycle\.test/.test(m)), warnings.join("\n"));
});

backendTest("datagrams: loop.close() with datagram endpoints open releases their sockets and ops", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { tt } = await pair(loop);
    for (let i = 0; i < 10; i++) tt.sendto(Buffer.from("in flight at close"));
  });
  loop.close();
  t.is(loop.pendingOps(), 0);
  // The teardown checks that no fd is left open.
});
