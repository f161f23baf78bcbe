// BufferedProtocol specifics: pauseReading stops bufferUpdated too (on io_uring this is
// the readInto path, not multishot recv), EOF reaches eofReceived, and an empty buffer
// from getBuffer() is a protocol error (exception handler, transport closed).
import { BufferedProtocol, type Transport } from "ringloop";
import { backendTest, sleep } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, deferred, Collector, connectToSink } from "./_streams.js";

class BufferedSink extends BufferedProtocol {
  transport!: Transport;
  readonly buf = Buffer.alloc(1024);
  got: Buffer[] = [];
  eof = false;
  readonly made = deferred<void>();
  readonly lost = deferred<Error | null>();
  override connectionMade(t: Transport): void {
    this.transport = t;
    this.made.resolve();
  }
  override getBuffer(): Uint8Array {
    return this.buf;
  }
  override bufferUpdated(n: number): void {
    this.got.push(Buffer.from(this.buf.subarray(0, n)));
  }
  override eofReceived(): void {
    this.eof = true;
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
  size(): number {
    return this.got.reduce((s, b) => s + b.length, 0);
  }
}

backendTest("streams: BufferedProtocol: pauseReading stops bufferUpdated; EOF reaches eofReceived", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const sink = new BufferedSink();
    const { server, client, tr } = await connectToSink(loop, sink);
    await within(5000, sink.made.promise, "accepted");
    sink.transport.pauseReading();
    t.false(sink.transport.isReading());
    const payload = Buffer.alloc(10_000, 0x71);
    tr.write(payload);
    await sleep(150);
    t.is(sink.size(), 0, "nothing delivered while paused");
    sink.transport.resumeReading();
    tr.writeEof();
    await within(5000, sink.lost.promise, "sink closed after EOF");
    t.true(sink.eof);
    t.true(Buffer.concat(sink.got).equals(payload));
    await within(5000, client.lost.promise, "client closed");
    await shutdown(server);
  });
});

class EmptyBuffer extends BufferedSink {
  override getBuffer(): Uint8Array {
    return new Uint8Array(0);
  }
}

backendTest("streams: BufferedProtocol getBuffer() returning an empty buffer is reported and closes", async (t, { loop, takeExceptions }) => {
  const bad = new EmptyBuffer();
  await inLoop(loop, async () => {
    const server = await loop.createServer(() => bad, "127.0.0.1", 0);
    const client = new Collector();
    // getBuffer() may be asked before any data (asyncio asks when reading starts), so the
    // server's abort can beat the client's connect completion.
    const conn = await loop
      .createConnection(() => client, "127.0.0.1", serverPort(server))
      .then(([tr]) => tr, (e: NodeJS.ErrnoException) => e);
    if (conn instanceof Error) t.is((conn as NodeJS.ErrnoException).code, "ECONNRESET");
    else conn.write(Buffer.from("data"));
    await within(5000, bad.lost.promise, "server transport closed");
    if (!(conn instanceof Error)) await within(5000, client.lost.promise, "client saw the close");
    await shutdown(server);
  });
  const ex = takeExceptions();
  t.is(ex.length, 1);
  t.true(ex[0].exception instanceof RangeError, String(ex[0].exception));
  t.is(ex[0].protocol, bad);
  t.is(ex[0].transport, bad.transport);
});
