// Half-close both ways (writeEof; the peer still reads to the end and still sends) and
// flow control (asyncio's marks: high 64 KiB, low 16 KiB; pauseWriting when a slow reader
// lets the buffer grow past high, resumeWriting once it drains to low; pauseReading stops
// dataReceived until resumeReading).
import * as crypto from "node:crypto";
import { backendTest, sleep } from "../helpers/backends.js";
import { inLoop, within, sha256, serverPort, shutdown, deferred, Collector, ReplyAfterEof, pausedReaderServer } from "./_streams.js";

backendTest("streams: client writeEof, the server reads to the end and still sends", async (t, { loop }) => {
  const payload = crypto.randomBytes(300_000);
  await inLoop(loop, async () => {
    const srv = new ReplyAfterEof();
    const server = await loop.createServer(() => srv, "127.0.0.1", 0);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    t.true(tr.canWriteEof());
    tr.write(payload);
    tr.writeEof();
    t.false(tr.isClosing(), "writeEof half-closes; the transport is still open for reading");
    t.is(await within(10_000, client.lost.promise, "server reply and close"), null);
    t.is(client.data().toString(), `got ${payload.length} ${sha256(payload)}`);
    t.true(client.eof);
    t.is(await within(5000, srv.lost.promise, "server connectionLost"), null);
    await shutdown(server);
  });
});

backendTest("streams: server writeEof, the client reads to the end and still sends", async (t, { loop }) => {
  const greeting = crypto.randomBytes(200_000);
  const payload = crypto.randomBytes(300_000);
  await inLoop(loop, async () => {
    const srv = new Collector();
    const server = await loop.createServer(
      () => {
        srv.made.promise.then(() => {
          srv.transport.write(greeting);
          srv.transport.writeEof();
        });
        return srv;
      },
      "127.0.0.1",
      0,
    );
    const client = new Collector();
    client.keepOpenOnEof = true;
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    await within(10_000, client.eofSeen.promise, "server EOF at the client");
    t.is(sha256(client.data()), sha256(greeting));
    t.false(tr.isClosing(), "eofReceived returned true: the write side stays open");
    tr.write(payload);
    tr.writeEof();
    t.is(await within(10_000, srv.lost.promise, "server got our EOF and closed"), null);
    t.is(srv.size, payload.length);
    t.is(sha256(srv.data()), sha256(payload));
    t.is(await within(5000, client.lost.promise, "client connectionLost"), null);
    t.is(client.lostCalls, 1);
    await shutdown(server);
  });
});

/** Writer that records pause/resume and the buffer size at each. */
class Writer extends Collector {
  pausedAt: number[] = [];
  resumedAt: number[] = [];
  paused = false;
  resumed = deferred<void>();
  override pauseWriting(): void {
    this.paused = true;
    this.pausedAt.push(this.transport.getWriteBufferSize());
  }
  override resumeWriting(): void {
    this.paused = false;
    this.resumedAt.push(this.transport.getWriteBufferSize());
    this.resumed.resolve();
  }
}

backendTest("streams: a slow reader makes pauseWriting fire; resumeWriting after it drains", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const reader = new Collector();
    const server = await pausedReaderServer(loop, reader);
    const w = new Writer();
    const [tr] = await loop.createConnection(() => w, "127.0.0.1", serverPort(server));
    await within(5000, reader.made.promise, "accepted");
    t.deepEqual(tr.getWriteBufferLimits(), [16 * 1024, 64 * 1024], "asyncio's default marks");
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    let written = 0;
    let stuck = false;
    // Until the kernel buffers of both sides are full, drains still happen; then a paused
    // writer stays paused because nobody reads. Bounded at 256 MiB.
    while (!stuck && written < 256 * 1024 * 1024) {
      tr.write(chunk);
      written += chunk.length;
      if (w.paused) {
        w.resumed = deferred<void>();
        stuck = await within(300, w.resumed.promise, "drain").then(
          () => false,
          () => true,
        );
      }
    }
    t.true(stuck, "the writer stayed paused while the reader was paused");
    t.is(reader.size, 0, "pauseReading stopped dataReceived");
    t.false(reader.transport.isReading());
    t.true(w.pausedAt.length >= 1 && w.pausedAt.every((n) => n > 64 * 1024), `paused above high: ${w.pausedAt}`);
    t.true(tr.getWriteBufferSize() > 64 * 1024);
    const resumedBefore = w.resumedAt.length;
    reader.transport.resumeReading();
    t.true(reader.transport.isReading());
    await within(10_000, w.resumed.promise, "resumeWriting after the reader resumed");
    t.true(w.resumedAt.length === resumedBefore + 1 && w.resumedAt.every((n) => n <= 16 * 1024), `resumed at or below low: ${w.resumedAt}`);
    tr.close();
    await within(10_000, reader.lost.promise, "reader got everything and EOF");
    t.is(reader.size, written);
    await within(5000, w.lost.promise, "writer connectionLost");
    await shutdown(server);
  });
});

backendTest("streams: pauseReading stops dataReceived until resumeReading", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const reader = new Collector();
    const server = await loop.createServer(() => reader, "127.0.0.1", 0);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    await within(5000, reader.made.promise, "accepted");
    tr.write(Buffer.from("first"));
    await within(5000, reader.waitBytes(5), "first bytes");
    t.true(reader.transport.isReading());
    reader.transport.pauseReading();
    t.false(reader.transport.isReading());
    reader.transport.pauseReading(); // idempotent, as in asyncio
    tr.write(Buffer.from("second"));
    await sleep(150);
    t.is(reader.size, 5, "nothing delivered while paused");
    reader.transport.resumeReading();
    await within(5000, reader.waitBytes(11), "delivery after resumeReading");
    t.is(reader.data().toString(), "firstsecond");
    tr.close();
    await within(5000, reader.lost.promise, "server side closed");
    await within(5000, client.lost.promise, "client side closed");
    await shutdown(server);
  });
});

backendTest("streams: setWriteBufferLimits sets the marks; bad values are RangeErrors", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const reader = new Collector();
    const server = await loop.createServer(() => reader, "127.0.0.1", 0);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    tr.setWriteBufferLimits(1000);
    t.deepEqual(tr.getWriteBufferLimits(), [250, 1000], "low defaults to high / 4");
    tr.setWriteBufferLimits(4000, 100);
    t.deepEqual(tr.getWriteBufferLimits(), [100, 4000]);
    tr.setWriteBufferLimits(undefined, 8);
    t.deepEqual(tr.getWriteBufferLimits(), [8, 32], "high defaults to 4 * low");
    t.throws(() => tr.setWriteBufferLimits(10, 20), { instanceOf: RangeError });
    t.throws(() => tr.setWriteBufferLimits(-1), { instanceOf: RangeError });
    t.is(tr.getWriteBufferSize(), 0);
    tr.close();
    await within(5000, reader.lost.promise, "server side closed");
    await within(5000, client.lost.promise, "client side closed");
    await shutdown(server);
  });
});

/** Pauses reading inside its first dataReceived and counts what arrives while paused. */
class PauseOnFirstChunk extends Collector {
  whilePaused = 0;
  paused = false;
  override dataReceived(data: Buffer): void {
    if (this.paused) this.whilePaused++;
    super.dataReceived(data);
    if (this.chunks.length === 1) {
      this.paused = true;
      this.transport.pauseReading();
    }
  }
  override eofReceived(): boolean {
    if (this.paused) this.whilePaused++;
    return super.eofReceived();
  }
}

backendTest("streams: pauseReading inside dataReceived holds the rest of a burst and the EOF until resumeReading", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const reader = new PauseOnFirstChunk();
    const server = await loop.createServer(() => reader, "127.0.0.1", 0);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    await within(5000, reader.made.promise, "accepted");
    // Written in one go: most of it is on its way (in one completion batch on io_uring,
    // in Node's stream buffer on the fallback) when the protocol pauses.
    const payload = crypto.randomBytes(4 << 20);
    tr.write(payload);
    tr.writeEof();
    await within(5000, reader.waitBytes(1), "first chunk");
    await sleep(200);
    t.is(reader.whilePaused, 0, "no dataReceived / eofReceived while paused");
    t.false(reader.eof);
    t.true(reader.size < payload.length, "the rest is held");
    reader.paused = false;
    reader.transport.resumeReading();
    await within(5000, reader.eofSeen.promise, "EOF after resumeReading");
    t.is(sha256(reader.data()), sha256(payload), "every byte, in order, before the EOF");
    await within(5000, reader.lost.promise, "server side closed");
    await within(5000, client.lost.promise, "client side closed");
    await shutdown(server);
  });
});
