// Errors of datagram endpoints, as asyncio reports them: send and receive errors go to
// errorReceived and the transport stays open; bad arguments are TypeError/RangeError naming
// the argument; a datagram too large for the receive buffer is reported, never cut.
import { backendTest, uringOnlyTest } from "../helpers/backends.js";
import { UringEventLoop, type SockAddr } from "ringloop";
import { DgramCollector, inLoop, within, closedUdpPort, port } from "./_dgram.js";

backendTest("datagrams: broadcast refused without allowBroadcast (EACCES to errorReceived), allowed with it", async (t, { loop }) => {
  await inLoop(loop, async () => {
    // 127.255.255.255 is lo's broadcast address: the datagram never leaves the machine.
    const receiver = new DgramCollector();
    const [rt] = await loop.createDatagramEndpoint(() => receiver, { localAddr: { host: "0.0.0.0", port: 0 } });
    const to = { host: "127.255.255.255", port: port(rt.getExtraInfo("sockname")) };
    const plain = new DgramCollector();
    const [pt] = await loop.createDatagramEndpoint(() => plain, { family: 4 });
    pt.sendto(Buffer.from("refused"), to);
    const err = (await within(5000, plain.nextError(), "EACCES")) as NodeJS.ErrnoException;
    t.is(err.code, "EACCES");
    t.is(typeof err.errno, "number");
    t.false(pt.isClosing(), "a send error leaves the transport open");
    const bc = new DgramCollector();
    const [bt] = await loop.createDatagramEndpoint(() => bc, { family: 4, allowBroadcast: true });
    bt.sendto(Buffer.from("allowed"), to);
    const [got] = await within(5000, receiver.next(), "broadcast datagram");
    t.is(got.toString(), "allowed");
    t.deepEqual(bc.errors, []);
    // asyncio: with allowBroadcast a remoteAddr is not connected, only the default destination.
    const bd = new DgramCollector();
    const [bdt] = await loop.createDatagramEndpoint(() => bd, { remoteAddr: to, allowBroadcast: true });
    t.is(bdt.getExtraInfo("peername"), undefined);
    bdt.sendto(Buffer.from("default destination"));
    t.is((await within(5000, receiver.next(), "second broadcast"))[0].toString(), "default destination");
    for (const tr of [rt, pt, bt, bdt]) tr.close();
    await Promise.all([receiver, plain, bc, bd].map((c) => c.lost.promise));
  });
});

backendTest("datagrams: ECONNREFUSED from an ICMP error reaches errorReceived on a connected endpoint", async (t, { loop }) => {
  const p = await closedUdpPort();
  await inLoop(loop, async () => {
    const c = new DgramCollector();
    const [tr] = await loop.createDatagramEndpoint(() => c, { remoteAddr: { host: "127.0.0.1", port: p } });
    tr.sendto(Buffer.from("anyone?"));
    const err = (await within(5000, c.nextError(), "ECONNREFUSED")) as NodeJS.ErrnoException;
    t.is(err.code, "ECONNREFUSED");
    t.false(tr.isClosing());
    // Receiving goes on after the error: the endpoint still works.
    const peer = new DgramCollector();
    const [pt] = await loop.createDatagramEndpoint(() => peer, { localAddr: { host: "127.0.0.1", port: 0 } });
    const back = new DgramCollector();
    const [bt] = await loop.createDatagramEndpoint(() => back, { remoteAddr: pt.getExtraInfo("sockname") as { host: string; port: number } });
    bt.sendto(Buffer.from("ping"));
    const [, from] = await within(5000, peer.next(), "ping");
    pt.sendto(Buffer.from("pong"), from!);
    t.is((await within(5000, back.next(), "pong"))[0].toString(), "pong");
    for (const x of [tr, pt, bt]) x.close();
    await Promise.all([c, peer, back].map((x) => x.lost.promise));
  });
});

uringOnlyTest("datagrams: a datagram larger than dgramBufSize is reported (EMSGSIZE with its size and sender), never cut", async (t) => {
  const loop = new UringEventLoop({ dgramBufSize: 1000 });
  try {
    await inLoop(loop, async () => {
      const rx = new DgramCollector();
      const [rt] = await loop.createDatagramEndpoint(() => rx, { localAddr: { host: "127.0.0.1", port: 0 } });
      const tx = new DgramCollector();
      const [tt] = await loop.createDatagramEndpoint(() => tx, { remoteAddr: rt.getExtraInfo("sockname") as { host: string; port: number } });
      tt.sendto(Buffer.alloc(1000, 1));
      tt.sendto(Buffer.alloc(1001, 2));
      tt.sendto(Buffer.alloc(60000, 3));
      tt.sendto(Buffer.from("after"));
      const [first] = await within(5000, rx.next(), "the 1000-byte datagram");
      t.true(first.equals(Buffer.alloc(1000, 1)));
      for (const size of [1001, 60000]) {
        const err = (await within(5000, rx.nextError(), `EMSGSIZE ${size}`)) as NodeJS.ErrnoException & { size: number; addr: SockAddr };
        t.is(err.code, "EMSGSIZE");
        t.is(err.syscall, "recvmsg");
        t.is(err.size, size);
        t.deepEqual(err.addr, tt.getExtraInfo("sockname"));
        t.regex(err.message, /dgramBufSize/);
      }
      t.is((await within(5000, rx.next(), "the datagram after"))[0].toString(), "after");
      t.is(rx.datagrams.length, 2, "no cut datagram was delivered");
      rt.close();
      tt.close();
      await rx.lost.promise;
      await tx.lost.promise;
      t.is(loop.pendingOps(), 0);
    });
  } finally {
    loop.close();
  }
});

backendTest("datagrams: bad arguments are TypeError/RangeError naming the argument", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const f = () => new DgramCollector();
    const cases: Array<[unknown, unknown, RegExp, "TypeError" | "RangeError"]> = [
      [null, {}, /"protocolFactory"/, "TypeError"],
      [f, 5, /"opts"/, "TypeError"],
      [f, {}, /"opts\.family" option is required/, "TypeError"],
      [f, { family: 5 }, /"opts\.family"/, "TypeError"],
      [f, { localAddr: { host: "127.0.0.1", port: 70000 } }, /"opts\.localAddr\.port"/, "RangeError"],
      [f, { remoteAddr: { host: 42, port: 1 } }, /"opts\.remoteAddr\.host"/, "TypeError"],
      [f, { localAddr: 17 }, /"opts\.localAddr"/, "TypeError"],
      [f, { localAddr: "" }, /"opts\.localAddr"/, "RangeError"],
      [f, { family: 4, reusePort: "yes" }, /"opts\.reusePort"/, "TypeError"],
      [f, { family: 4, allowBroadcast: 1 }, /"opts\.allowBroadcast"/, "TypeError"],
      [f, { sock: "3" }, /"opts\.sock"/, "TypeError"],
      [f, { sock: -1 }, /"opts\.sock"/, "RangeError"],
      [f, { sock: 0, family: 4 }, /socket modifier.*family/, "TypeError"],
      [f, { family: 6, localAddr: "/tmp/x" }, /"opts\.family"/, "TypeError"],
    ];
    for (const [factory, opts, re, kind] of cases) {
      const err = await t.throwsAsync(loop.createDatagramEndpoint(factory as () => DgramCollector, opts as object), { message: re }, JSON.stringify(opts));
      t.is(err?.name, kind, `${JSON.stringify(opts)}: ${String(err)}`);
    }
    const c = new DgramCollector();
    const [tr] = await loop.createDatagramEndpoint(() => c, { family: 4 });
    t.throws(() => tr.sendto("text" as unknown as Buffer, { host: "127.0.0.1", port: 9 }), { instanceOf: TypeError, message: /"data"/ });
    t.throws(() => tr.sendto(Buffer.from("x")), { instanceOf: TypeError, message: /"addr".*not connected/ });
    t.throws(() => tr.sendto(Buffer.from("x"), { host: "::1", port: 9 }), { instanceOf: TypeError, message: /"addr".*IPv4/ });
    t.throws(() => tr.sendto(Buffer.from("x"), { host: "127.0.0.1", port: -1 }), { instanceOf: RangeError, message: /"addr\.port"/ });
    t.throws(() => tr.sendto(Buffer.from("x"), { host: "example.invalid", port: 9 }), { instanceOf: TypeError, message: /"addr\.host"/ });
    t.throws(() => (tr as unknown as { setWriteBufferLimits(h: number): void }).setWriteBufferLimits(-1), { instanceOf: RangeError, message: /"high"/ });
    tr.close();
    await c.lost.promise;
  });
});

backendTest("datagrams: sendto with another address on a connected endpoint is an error (asyncio's ValueError)", async (t, { loop }) => {
  const p = await closedUdpPort();
  await inLoop(loop, async () => {
    const c = new DgramCollector();
    const [tr] = await loop.createDatagramEndpoint(() => c, { remoteAddr: { host: "127.0.0.1", port: p } });
    const err = t.throws(() => tr.sendto(Buffer.from("x"), { host: "127.0.0.1", port: p + 1 }), { instanceOf: TypeError, message: /"addr".*connected address 127\.0\.0\.1:\d+/ });
    t.is((err as NodeJS.ErrnoException).code, "ERR_INVALID_ARG_VALUE");
    // The connected address itself (or none) is accepted.
    t.notThrows(() => tr.sendto(Buffer.from("x"), { host: "127.0.0.1", port: p }));
    tr.abort();
    await c.lost.promise;
  });
});

backendTest("datagrams: bind errors reject createDatagramEndpoint with a system error (EADDRINUSE)", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const c = new DgramCollector();
    const [tr] = await loop.createDatagramEndpoint(() => c, { localAddr: { host: "127.0.0.1", port: 0 } });
    const taken = tr.getExtraInfo("sockname") as { host: string; port: number };
    const err = (await t.throwsAsync(loop.createDatagramEndpoint(() => new DgramCollector(), { localAddr: taken }))) as NodeJS.ErrnoException;
    t.is(err.code, "EADDRINUSE");
    t.is(err.syscall, "bind");
    tr.close();
    await c.lost.promise;
  });
});
