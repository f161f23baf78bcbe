// Bulk echo through ringloop servers and connections, checked by sha256: one 64 MiB
// stream, 200 concurrent 1 MiB streams, a BufferedProtocol server, and write ownership
// (the caller may change a Buffer right after write() returns).
import * as crypto from "node:crypto";
import { backendTest } from "../helpers/backends.js";
import {
  inLoop,
  within,
  sha256,
  serverPort,
  startEchoServer,
  shutdown,
  TransferClient,
  Collector,
  BufferedEcho,
  connectToSink,
} from "./_streams.js";

backendTest("streams: 64 MiB echoed through one connection, sha256 equal", async (t, { loop }) => {
  const payload = crypto.randomBytes(64 * 1024 * 1024);
  await inLoop(loop, async () => {
    const { server, port, protocols } = await startEchoServer(loop);
    const client = new TransferClient(payload, 1024 * 1024);
    await loop.createConnection(() => client, "127.0.0.1", port);
    const exc = await within(30_000, client.lost.promise, "64 MiB echo");
    t.is(exc, null);
    t.true(client.eof, "the server's close after our EOF arrives as EOF");
    t.is(client.receivedBytes, payload.length);
    t.is(client.hash.digest("hex"), sha256(payload));
    t.true(client.pauses > 0, "64 MiB queued at once crosses the high-water mark");
    t.is(client.lostCalls, 1);
    t.is(protocols.length, 1);
    t.is(await within(5000, protocols[0].lost.promise, "server connectionLost"), null);
    await shutdown(server);
  });
});

backendTest("streams: 1 MiB echoed on each of 200 concurrent connections, hashes equal", async (t, { loop }) => {
  const payloads = Array.from({ length: 200 }, () => crypto.randomBytes(1024 * 1024));
  await inLoop(loop, async () => {
    const { server, port, protocols } = await startEchoServer(loop);
    const clients = payloads.map((p) => new TransferClient(p, 64 * 1024));
    await Promise.all(clients.map((c) => loop.createConnection(() => c, "127.0.0.1", port)));
    const excs = await within(30_000, Promise.all(clients.map((c) => c.lost.promise)), "200 x 1 MiB echo");
    t.deepEqual(excs.filter((e) => e !== null), []);
    const bad = clients.filter((c, i) => c.receivedBytes !== payloads[i].length || c.hash.digest("hex") !== sha256(payloads[i]));
    t.is(bad.length, 0, `${bad.length} of 200 connections got back different bytes`);
    t.is(protocols.length, 200);
    await within(5000, Promise.all(protocols.map((p) => p.lost.promise)), "server side closed");
    await shutdown(server);
  });
});

backendTest("streams: BufferedProtocol server receives into its own getBuffer() memory", async (t, { loop }) => {
  const payload = crypto.randomBytes(4 * 1024 * 1024);
  await inLoop(loop, async () => {
    const servers: BufferedEcho[] = [];
    const server = await loop.createServer(
      () => {
        const p = new BufferedEcho();
        servers.push(p);
        return p;
      },
      "127.0.0.1",
      0,
    );
    const client = new TransferClient(payload, 128 * 1024);
    await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    t.is(await within(20_000, client.lost.promise, "buffered echo"), null);
    t.is(client.receivedBytes, payload.length);
    t.is(client.hash.digest("hex"), sha256(payload));
    const [p] = servers;
    t.true(p.updates >= payload.length / p.buf.length, "reads are bounded by the 4 KiB buffer given");
    t.true(p.hints.length >= p.updates && p.hints.every((h) => Number.isInteger(h)), "getBuffer before every read");
    await within(5000, p.lost.promise, "server connectionLost");
    await shutdown(server);
  });
});

backendTest("streams: chunks a protocol keeps from dataReceived are never overwritten by later data", async (t, { loop, backend }) => {
  // 32 MiB is four times the uring buffer ring (512 x 16 KiB): without a fresh entry for
  // every chunk handed over, kept chunks would be overwritten when the ring wraps.
  const { bufRingStats } = await import("../../src/uring/bufring.js");
  const before = { ...bufRingStats };
  const payload = crypto.randomBytes(32 * 1024 * 1024);
  await inLoop(loop, async () => {
    const sink = new Collector();
    const { server, client, tr } = await connectToSink(loop, sink);
    for (let off = 0; off < payload.length; off += 256 * 1024) tr.write(payload.subarray(off, off + 256 * 1024));
    tr.close();
    await within(20_000, sink.lost.promise, "sink saw the close");
    t.is(sink.size, payload.length);
    t.is(sha256(sink.data()), sha256(payload));
    await within(5000, client.lost.promise, "client connectionLost");
    await shutdown(server);
  });
  if (backend === "uring") {
    t.true(bufRingStats.handedOver - before.handedOver > 0, "no chunk took the handover path");
    // The native address lookup the refill uses: real addresses, refusals as -EINVAL.
    const native = (loop as unknown as { _proactor: { ring: { native: { bufferAddress(b: unknown): number } } } })._proactor.ring.native;
    const b = Buffer.allocUnsafeSlow(64);
    t.is(native.bufferAddress(b.subarray(8)) - native.bufferAddress(b), 8);
    for (const bad of [new Uint8Array(0), "x", 42, new Uint16Array(4), undefined]) t.is(native.bufferAddress(bad), -22);
  }
});

backendTest("streams: changing a Buffer after write() returns does not change what is sent", async (t, { loop }) => {
  const big = crypto.randomBytes(8 * 1024 * 1024);
  const small = Buffer.from("the small one, queued behind 8 MiB");
  const expected = sha256(big, small, Buffer.from("abcdef"));
  await inLoop(loop, async () => {
    const sink = new Collector();
    const { server, client, tr } = await connectToSink(loop, sink);
    const bigCopy = Buffer.from(big);
    const smallCopy = Buffer.from(small);
    tr.write(bigCopy);
    tr.write(smallCopy);
    bigCopy.fill(0);
    smallCopy.fill(0x21);
    tr.writelines([Buffer.from("abc"), new Uint8Array([0x64, 0x65, 0x66])]);
    tr.close();
    await within(20_000, sink.lost.promise, "sink saw the close");
    t.is(sink.size, big.length + small.length + 6);
    t.is(sha256(sink.data()), expected);
    t.is(await within(5000, client.lost.promise, "client connectionLost"), null);
    t.is(client.lostCalls, 1);
    await shutdown(server);
  });
});
