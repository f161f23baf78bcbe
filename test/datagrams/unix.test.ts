// Unix datagram endpoints (a path, an abstract name), on both backends. The fallback backend
// serves them through the core's readiness endpoint (node:dgram has no AF_UNIX) over its
// Proactor.watchFd (the addon's libuv poll); where the addon is absent, a NotImplementedError
// says why (checked in a child process with the addon hidden).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ExecutionContext } from "ava";
import test from "ava";
import { backendTest, uringOnlyTest } from "../helpers/backends.js";
import type { AbstractEventLoop } from "ringloop";
import { runScript } from "../socket/_socket.js";
import { DgramCollector, inLoop, within } from "./_dgram.js";

function tmpPath(tag: string): string {
  return path.join(os.tmpdir(), `ringloop-dgram-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
}

async function unixRoundTrip(t: ExecutionContext, loop: AbstractEventLoop, serverAddr: string, clientAddr: string | null): Promise<void> {
  await inLoop(loop, async () => {
    const server = new DgramCollector();
    const [st] = await loop.createDatagramEndpoint(() => server, { localAddr: serverAddr });
    t.is(st.getExtraInfo("sockname"), serverAddr);
    const client = new DgramCollector();
    const [ct] = await loop.createDatagramEndpoint(() => client, clientAddr === null ? { remoteAddr: serverAddr } : { localAddr: clientAddr, remoteAddr: serverAddr });
    t.is(ct.getExtraInfo("peername"), serverAddr);
    const big = Buffer.alloc(60_000, 9);
    for (const d of [Buffer.from("hello"), big, Buffer.alloc(0)]) ct.sendto(d);
    for (const d of [Buffer.from("hello"), big, Buffer.alloc(0)]) {
      const [got, from] = await within(5000, server.next(), "datagram");
      t.true(got.equals(d));
      t.is(from, clientAddr, "an unbound sender has no address (null, as asyncio's None)");
    }
    if (clientAddr !== null) {
      st.sendto(Buffer.from("reply"), clientAddr);
      t.is((await within(5000, client.next(), "reply"))[0].toString(), "reply");
    } else {
      t.throws(() => st.sendto(Buffer.from("x"), { host: "127.0.0.1", port: 9 }), { instanceOf: TypeError, message: /"addr".*Unix path/ });
    }
    ct.close();
    st.close();
    await Promise.all([client.lost.promise, server.lost.promise]);
  });
}

backendTest("datagrams: AF_UNIX datagram endpoints on a path (a stale socket file is replaced)", async (t, { loop }) => {
  const a = tmpPath("srv");
  const b = tmpPath("cli");
  try {
    await unixRoundTrip(t, loop, a, b);
    // The files stay after close (as asyncio leaves them); a new endpoint on the path replaces the stale one.
    t.true(fs.statSync(a).isSocket());
    await unixRoundTrip(t, loop, a, null);
  } finally {
    for (const p of [a, b]) fs.rmSync(p, { force: true });
  }
});

backendTest("datagrams: AF_UNIX datagram endpoints with abstract names", async (t, { loop }) => {
  await unixRoundTrip(t, loop, `\0ringloop-dgram-a-${process.pid}`, `\0ringloop-dgram-b-${process.pid}`);
});

backendTest("datagrams: family \"unix\" without addresses makes an unbound Unix datagram socket that can send", async (t, { loop }) => {
  const name = `\0ringloop-dgram-u-${process.pid}`;
  await inLoop(loop, async () => {
    const server = new DgramCollector();
    const [st] = await loop.createDatagramEndpoint(() => server, { localAddr: name });
    const c = new DgramCollector();
    const [ct] = await loop.createDatagramEndpoint(() => c, { family: "unix" });
    ct.sendto(Buffer.from("anon"), name);
    const [got, from] = await within(5000, server.next(), "anon");
    t.is(got.toString(), "anon");
    t.is(from, null);
    ct.close();
    st.close();
    await Promise.all([c.lost.promise, server.lost.promise]);
  });
});

test("datagrams: without the native addon, the fallback's Unix datagrams fail with a NotImplementedError that says why", async (t) => {
  const script = `r.setEventLoopPolicy(new r.FallbackEventLoopPolicy());
const loop = r.newEventLoop();
loop.runUntilComplete(loop.createDatagramEndpoint(() => new r.DatagramProtocol(), { localAddr: "\\0ringloop-dgram-ni-" + process.pid }))
  .then(() => console.log(JSON.stringify({ created: true })), (e) => console.log(JSON.stringify({ ok: e instanceof r.NotImplementedError, message: e.message })))
  .finally(() => loop.close());`;
  const r = await runScript(script, { RINGLOOP_ADDON: "/nonexistent/ringloop.node" });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok?: boolean; message?: string };
  t.true(out.ok, r.stdout);
  t.regex(String(out.message), /Unix datagram.*fallback.*io_uring/);
});

uringOnlyTest("datagrams: the readiness endpoint (for backends without a native one) over the uring proactor's watchFd", async (t, { loop }) => {
  // Make this loop's backend decline datagrams, as the fallback does for AF_UNIX: the core
  // then builds its ReadinessDatagramEndpoint over watchFd + recvFrom/sendTo.
  const p = (loop as unknown as { _proactor: { openDatagram: unknown } })._proactor;
  p.openDatagram = () => null;
  const a = `\0ringloop-dgram-ra-${process.pid}`;
  await unixRoundTrip(t, loop, a, `\0ringloop-dgram-rb-${process.pid}`);
  // UDP too: the readiness endpoint is family-neutral.
  await inLoop(loop, async () => {
    const rx = new DgramCollector();
    const [rt] = await loop.createDatagramEndpoint(() => rx, { localAddr: { host: "127.0.0.1", port: 0 } });
    const tx = new DgramCollector();
    const [tt] = await loop.createDatagramEndpoint(() => tx, { remoteAddr: rt.getExtraInfo("sockname") as { host: string; port: number } });
    // 100: a burst much larger could overflow the receiver's SO_RCVBUF (UDP drops then).
    for (let i = 0; i < 100; i++) tt.sendto(Buffer.from(`r${i}`));
    for (let i = 0; i < 100; i++) t.is((await within(5000, rx.next(), `r${i}`))[0].toString(), `r${i}`);
    t.is(String(rt), `<DatagramTransport fd=${(rt.getExtraInfo("socket") as { fileno(): number }).fileno()} open>`);
    tt.close();
    rt.close();
    await Promise.all([rx.lost.promise, tx.lost.promise]);
  });
});

uringOnlyTest("datagrams: loop.close() ends a readiness endpoint's waits and closes its socket", async (t, { loop }) => {
  (loop as unknown as { _proactor: { openDatagram: unknown } })._proactor.openDatagram = () => null;
  await inLoop(loop, async () => {
    const c = new DgramCollector();
    await loop.createDatagramEndpoint(() => c, { localAddr: `\0ringloop-dgram-lc-${process.pid}` });
  });
  loop.close();
  t.is(loop.pendingOps(), 0);
  // The teardown checks that no fd is left open.
});
