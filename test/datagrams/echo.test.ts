// UDP echo against a real peer (socat) and between two ringloop endpoints: every byte of
// every datagram checked, IPv4 and IPv6, connected and unconnected endpoints.
import * as crypto from "node:crypto";
import { backendTest } from "../helpers/backends.js";
import type { AbstractEventLoop, DatagramTransport, SockAddr } from "ringloop";
import { DgramCollector, inLoop, within, closedUdpPort, startSocatEcho, port } from "./_dgram.js";

/** Sends probes to the socat echo until the first one comes back (socat binds asynchronously). */
async function reachEcho(loop: AbstractEventLoop, c: DgramCollector, send: (d: Buffer) => void, takeExceptions: () => unknown): Promise<void> {
  const first = c.next();
  for (let i = 0; i < 200; i++) {
    send(Buffer.from("probe"));
    const r = await Promise.race([first, new Promise<null>((res) => loop.callLater(50, () => res(null)))]);
    if (r !== null) {
      takeExceptions();
      return;
    }
  }
  throw new Error("the socat echo peer never answered");
}

function sizeOf(i: number): number {
  return 1 + ((i * 7919) % 1472);
}

async function echoThroughSocat(loop: AbstractEventLoop, v6: boolean, connected: boolean, count: number, takeExceptions: () => unknown): Promise<{ checked: number; bytes: number }> {
  const host = v6 ? "::1" : "127.0.0.1";
  const p = await closedUdpPort(host);
  const socat = startSocatEcho(p, v6);
  try {
    return await inLoop(loop, async () => {
      const c = new DgramCollector();
      const peer: SockAddr = { host, port: p, family: v6 ? 6 : 4 };
      const opts = connected ? { remoteAddr: { host, port: p } } : { localAddr: { host, port: 0 } };
      const [tr] = await loop.createDatagramEndpoint(() => c, opts);
      const send = (d: Buffer): void => (connected ? tr.sendto(d) : tr.sendto(d, peer));
      await reachEcho(loop, c, send, takeExceptions);
      // Probes sent while socat was starting may still come back: drain until quiet.
      for (let seen = -1; seen !== c.datagrams.length; ) {
        seen = c.datagrams.length;
        await new Promise<void>((res) => loop.callLater(100, res));
      }
      c.skipReceived();
      const all = crypto.randomBytes(1472 * 16);
      let bytes = 0;
      for (let i = 0; i < count; i++) {
        const n = sizeOf(i);
        const off = (i * 131) % (all.length - n);
        const d = all.subarray(off, off + n);
        send(d);
        const [got, from] = await within(5000, c.next(), `echo of datagram ${i}`);
        if (!got.equals(d)) throw new Error(`datagram ${i} (${n} bytes) came back different (${got.length} bytes)`);
        if (JSON.stringify(from) !== JSON.stringify(peer)) throw new Error(`datagram ${i} came from ${JSON.stringify(from)}`);
        bytes += n;
      }
      tr.close();
      await within(5000, c.lost.promise, "connectionLost");
      return { checked: count, bytes };
    });
  } finally {
    socat.child.kill("SIGTERM");
    await socat.exited;
  }
}

backendTest("datagrams: 10,000 datagrams of 1..1472 bytes echoed by socat, every byte checked (connected IPv4)", async (t, { loop, takeExceptions }) => {
  const r = await echoThroughSocat(loop, false, true, 10_000, takeExceptions);
  t.is(r.checked, 10_000);
  t.true(r.bytes > 10_000 * 700);
});

backendTest("datagrams: IPv6 echo through socat from an unconnected endpoint (sendto with the address)", async (t, { loop, takeExceptions }) => {
  const r = await echoThroughSocat(loop, true, false, 1000, takeExceptions);
  t.is(r.checked, 1000);
});

backendTest("datagrams: a ringloop UDP echo server and client; addresses, sockname, peername and socket as API.md says", async (t, { loop }) => {
  await inLoop(loop, async () => {
    class Echo extends DgramCollector {
      override datagramReceived(data: Buffer, addr: SockAddr): void {
        super.datagramReceived(data, addr);
        this.transport!.sendto(data, addr);
      }
    }
    const server = new Echo();
    const [st] = await loop.createDatagramEndpoint(() => server, { localAddr: { host: "127.0.0.1", port: 0 } });
    const sname = st.getExtraInfo("sockname") as SockAddr;
    t.like(sname, { host: "127.0.0.1", family: 4 });
    t.is(st.getExtraInfo("peername"), undefined);
    const client = new DgramCollector();
    const [ct] = await loop.createDatagramEndpoint(() => client, { remoteAddr: { host: "localhost", port: port(sname) }, family: 4 });
    t.deepEqual(ct.getExtraInfo("peername"), { host: "127.0.0.1", port: port(sname), family: 4 });
    const sock = ct.getExtraInfo("socket") as { getsockname(): SockAddr };
    t.deepEqual(sock.getsockname(), ct.getExtraInfo("sockname"));
    t.is(client.transport, ct as DatagramTransport);
    // A burst in one callback (staged together), then a zero-length datagram.
    const sent = [Buffer.from("one"), Buffer.alloc(1472, 7), Buffer.from("three"), Buffer.alloc(0)];
    for (const d of sent) ct.sendto(d);
    for (const d of sent) {
      const [got, from] = await within(5000, client.next(), "echo");
      t.true(got.equals(d));
      t.deepEqual(from, sname);
    }
    const [, clientAddr] = await server.next();
    t.deepEqual(clientAddr, ct.getExtraInfo("sockname"));
    ct.close();
    st.close();
    t.is(await within(5000, client.lost.promise, "client lost"), null);
    t.is(await within(5000, server.lost.promise, "server lost"), null);
  });
});

backendTest("datagrams: sendto copies the data (the caller may reuse its Buffer at once)", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const server = new DgramCollector();
    const [st] = await loop.createDatagramEndpoint(() => server, { localAddr: { host: "127.0.0.1", port: 0 } });
    const client = new DgramCollector();
    const [ct] = await loop.createDatagramEndpoint(() => client, { family: 4 });
    const buf = Buffer.alloc(100);
    for (let i = 0; i < 50; i++) {
      buf.fill(i);
      ct.sendto(buf, st.getExtraInfo("sockname") as SockAddr);
    }
    buf.fill(255);
    for (let i = 0; i < 50; i++) {
      const [got] = await within(5000, server.next(), `datagram ${i}`);
      t.true(got.equals(Buffer.alloc(100, i)), `datagram ${i}`);
    }
    ct.close();
    st.close();
    await server.lost.promise;
    await client.lost.promise;
  });
});
