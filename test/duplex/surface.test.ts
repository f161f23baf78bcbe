// TransportDuplex's net.Socket surface: addresses, byte counts, setNoDelay/setKeepAlive,
// setTimeout, end() = writeEof, destroy() = abort, connect errors with `code`, backpressure
// both ways.
import * as net from "node:net";
import * as crypto from "node:crypto";
import { toDuplex, connectDuplex, DuplexProtocol, type TransportDuplex } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, Collector, closedPort, sha256, deferred } from "../streams/_streams.js";

function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve as (v: unknown) => void));
}

backendTest("duplex: addresses, byte counts, socket options and end() as writeEof", async (t, { loop, backend }) => {
  await inLoop(loop, async () => {
    const peer = new Collector();
    peer.keepOpenOnEof = true;
    const server = await loop.createServer(() => peer, "127.0.0.1", 0);
    const duplex = connectDuplex({ host: "127.0.0.1", port: serverPort(server) });
    t.true(duplex.connecting);
    t.is(duplex.readyState, "opening");
    duplex.write("queued before the connection; ");
    await within(10_000, once(duplex, "connect"), "connect");
    t.false(duplex.connecting);
    t.is(duplex.remoteAddress, "127.0.0.1");
    t.is(duplex.remotePort, serverPort(server));
    t.is(duplex.remoteFamily, "IPv4");
    t.is(duplex.localAddress, "127.0.0.1");
    t.deepEqual(duplex.address(), { address: "127.0.0.1", family: "IPv4", port: duplex.localPort });
    t.is(duplex.setNoDelay(true), duplex);
    t.is(duplex.setKeepAlive(true, 30_000), duplex);
    const sock = duplex.getTransport()!.getExtraInfo("socket") as { fileno(): number; getsockopt(n: string): unknown };
    if (backend === "uring") t.is(sock.getsockopt("SO_KEEPALIVE"), true);
    duplex.end("and the end");
    await within(10_000, peer.eofSeen.promise, "the peer got our EOF");
    t.is(peer.data().toString(), "queued before the connection; and the end");
    t.is(duplex.bytesWritten, peer.size);
    // Half-closed: the peer still sends, we still read.
    peer.transport.write(Buffer.from("reply"));
    const got: Buffer[] = [];
    duplex.on("data", (d: Buffer) => got.push(d));
    peer.transport.close();
    await within(10_000, once(duplex, "close"), "closed after both directions");
    t.is(Buffer.concat(got).toString(), "reply");
    t.is(duplex.bytesRead, 5);
    await shutdown(server);
  });
});

backendTest("duplex: destroy() aborts (the peer sees ECONNRESET); setTimeout emits 'timeout'", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const peer = new Collector();
    const server = await loop.createServer(() => peer, "127.0.0.1", 0);
    const duplex = connectDuplex({ host: "127.0.0.1", port: serverPort(server) });
    await within(10_000, once(duplex, "connect"), "connect");
    duplex.setTimeout(50);
    t.is(duplex.timeout, 50);
    await within(10_000, once(duplex, "timeout"), "timeout after idleness");
    duplex.setTimeout(0);
    duplex.destroy();
    const exc = (await within(10_000, peer.lost.promise, "peer lost")) as (Error & { code?: string }) | null;
    t.is(exc?.code, "ECONNRESET");
    await shutdown(server);
  });
});

backendTest("duplex: connect errors carry Node's code; toDuplex takes over a live transport", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const port = await closedPort();
    const d = connectDuplex({ host: "127.0.0.1", port });
    const err = await within(10_000, once<Error & { code?: string }>(d, "error"), "error");
    t.is(err.code, "ECONNREFUSED");
    const viaCallback = deferred<Error | null>();
    connectDuplex({ host: "127.0.0.1", port }, (e) => viaCallback.resolve(e));
    t.is(((await viaCallback.promise) as Error & { code?: string }).code, "ECONNREFUSED");

    const peer = new Collector();
    const server = await loop.createServer(() => peer, "127.0.0.1", 0);
    const [tr] = await loop.createConnection(() => new Collector(), "127.0.0.1", serverPort(server));
    const duplex = toDuplex(tr);
    t.is(duplex.getTransport(), tr);
    await within(10_000, peer.made.promise, "accepted");
    peer.transport.write(Buffer.from("to the duplex"));
    const [chunk] = (await within(10_000, once<[Buffer]>(duplex, "data").then((c) => [c as unknown as Buffer]), "data")) as [Buffer];
    t.is(chunk.toString(), "to the duplex");
    duplex.destroySoon();
    await within(10_000, peer.lost.promise, "closed");
    t.throws(() => toDuplex({} as never), { instanceOf: TypeError });
    await shutdown(server);
  });
});

backendTest("duplex: backpressure both ways: write() false while the transport is paused; a paused consumer pauses the transport", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const duplexes: TransportDuplex[] = [];
    const server = await loop.createServer(() => new DuplexProtocol((d) => duplexes.push(d)), "127.0.0.1", 0);
    const client = new Collector();
    client.keepOpenOnEof = true;
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    await within(10_000, client.made.promise, "connected");
    const serverSide = await within(10_000, (async () => {
      while (duplexes.length === 0) await new Promise((r) => setTimeout(r, 5));
      return duplexes[0];
    })(), "accepted");
    // Writes: the client does not read, so the duplex's writes stop draining.
    tr.pauseReading();
    const chunk = crypto.randomBytes(64 * 1024);
    const sent = crypto.createHash("sha256");
    let written = 0;
    while (written < 256 * 1024 * 1024) {
      const more = serverSide.write(chunk);
      sent.update(chunk);
      written += chunk.length;
      if (!more) {
        const drained = await Promise.race([once(serverSide, "drain").then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
        if (!drained) break;
      }
    }
    t.true(written < 64 * 1024 * 1024, `write() returned false and stayed so after ${written} bytes`);
    t.true(serverSide.writableLength > 0, "the duplex holds what the paused transport did not take");
    serverSide.end();
    tr.resumeReading();
    await within(30_000, client.eofSeen.promise, "everything arrived");
    t.is(client.size, written);
    t.is(sha256(client.data()), sent.digest("hex"));
    // Reads: a paused consumer pauses the transport; nothing is lost.
    const got = crypto.createHash("sha256");
    let received = 0;
    const serverEnd = deferred<void>();
    serverSide.pause();
    serverSide.on("data", (d: Buffer) => {
      got.update(d);
      received += d.length;
    });
    serverSide.on("end", () => serverEnd.resolve());
    serverSide.pause();
    const payload = crypto.randomBytes(8 * 1024 * 1024);
    tr.write(payload);
    tr.writeEof();
    await new Promise((r) => setTimeout(r, 100));
    t.true(serverSide.readableLength <= serverSide.readableHighWaterMark + 256 * 1024, `the duplex buffered only ${serverSide.readableLength} bytes`);
    serverSide.resume();
    await within(30_000, serverEnd.promise, "all read");
    t.is(received, payload.length);
    t.is(got.digest("hex"), sha256(payload));
    await within(10_000, client.lost.promise, "closed");
    await shutdown(server);
  });
});
