// Failures: a peer reset while we write (connectionLost(err), ECONNRESET or EPIPE, no
// exception-handler noise), a closed port (ECONNREFUSED as a Node system error), an
// exception thrown by a protocol method (exception handler with asyncio's keys; the
// transport closes), an aborted connect, and close/abort with operations in flight.
import * as net from "node:net";
import * as os from "node:os";
import * as crypto from "node:crypto";
import { Protocol, type Transport } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, closedPort, deferred, Collector, TransferClient, connectToSink } from "./_streams.js";

/** Writes 1 MiB chunks whenever not paused, until the connection is lost. */
class Flood extends Protocol {
  transport!: Transport;
  lostCalls = 0;
  readonly lost = deferred<Error | null>();
  private paused = false;
  private readonly chunk = Buffer.alloc(1024 * 1024, 0x7a);
  override connectionMade(t: Transport): void {
    this.transport = t;
    this.fill();
  }
  private fill(): void {
    for (let i = 0; i < 4 && !this.paused && !this.transport.isClosing(); i++) this.transport.write(this.chunk);
  }
  override pauseWriting(): void {
    this.paused = true;
  }
  override resumeWriting(): void {
    this.paused = false;
    this.fill();
  }
  override connectionLost(exc: Error | null): void {
    this.lostCalls++;
    this.lost.resolve(exc);
  }
}

backendTest("streams: peer reset mid-write: connectionLost(ECONNRESET or EPIPE), no handler call", async (t, { loop }) => {
  const peer = net.createServer((s) => {
    s.once("data", () => setTimeout(() => s.resetAndDestroy(), 20));
  });
  await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
  try {
    const port = (peer.address() as net.AddressInfo).port;
    await inLoop(loop, async () => {
      const flood = new Flood();
      await loop.createConnection(() => flood, "127.0.0.1", port);
      const exc = await within(10_000, flood.lost.promise, "connectionLost after the reset");
      t.truthy(exc, "a reset is reported to connectionLost");
      t.true(["ECONNRESET", "EPIPE"].includes((exc as NodeJS.ErrnoException).code ?? ""), `code ${(exc as NodeJS.ErrnoException)?.code}`);
      t.is(typeof (exc as NodeJS.ErrnoException).errno, "number");
      t.true(flood.transport.isClosing());
      t.is(flood.lostCalls, 1);
    });
  } finally {
    await new Promise<void>((r) => peer.close(() => r()));
  }
});

backendTest("streams: connect to a closed port rejects with ECONNREFUSED (code, errno, syscall)", async (t, { loop }) => {
  const port = await closedPort();
  await inLoop(loop, async () => {
    const err = await t.throwsAsync(loop.createConnection(() => new Protocol(), "127.0.0.1", port));
    t.is((err as NodeJS.ErrnoException).code, "ECONNREFUSED");
    t.is((err as NodeJS.ErrnoException).syscall, "connect");
    t.is((err as NodeJS.ErrnoException).errno, -os.constants.errno.ECONNREFUSED);
  });
});

backendTest("streams: a host name is resolved and every address tried in turn", async (t, { loop }) => {
  // The server is on 127.0.0.1 only: when "localhost" also resolves to ::1, that address
  // is refused and the next one must be tried.
  await inLoop(loop, async () => {
    const srv = new Collector();
    const server = await loop.createServer(() => srv, "127.0.0.1", 0);
    for (const opts of [{}, { happyEyeballsDelay: 50 }]) {
      const client = new Collector();
      const [tr] = await within(5000, loop.createConnection(() => client, "localhost", serverPort(server), opts), "connect to localhost");
      t.like(tr.getExtraInfo("peername"), { host: "127.0.0.1", port: serverPort(server), family: 4 });
      tr.close();
      await within(5000, client.lost.promise, "client closed");
    }
    await shutdown(server);
  });
});

backendTest("streams: createConnection with an aborted signal rejects and leaves nothing open", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const srv = new Collector();
    const server = await loop.createServer(() => srv, "127.0.0.1", 0);
    const ac = new AbortController();
    ac.abort();
    const err = await loop
      .createConnection(() => new Collector(), "127.0.0.1", serverPort(server), { signal: ac.signal })
      .then(() => null, (e: unknown) => e);
    t.truthy(err, "rejected");
    t.true(["AbortError", "CancelledError"].includes((err as Error).name), `name ${(err as Error).name}`);
    await shutdown(server);
  });
});

class Thrower extends Collector {
  override dataReceived(_d: Buffer): void {
    throw new Error("boom in dataReceived");
  }
}

backendTest("streams: an exception in dataReceived reaches the exception handler; the transport closes", async (t, { loop, takeExceptions }) => {
  const thrower = new Thrower();
  await inLoop(loop, async () => {
    const server = await loop.createServer(() => thrower, "127.0.0.1", 0);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    tr.write(Buffer.from("x"));
    await within(5000, thrower.lost.promise, "server transport closed after the exception");
    await within(5000, client.lost.promise, "client saw the close");
    t.true(thrower.transport.isClosing());
    t.is(thrower.lostCalls, 1);
    await shutdown(server);
  });
  const ex = takeExceptions();
  t.is(ex.length, 1);
  t.is((ex[0].exception as Error).message, "boom in dataReceived");
  t.is(typeof ex[0].message, "string");
  t.is(ex[0].protocol, thrower, "context.protocol");
  t.is(ex[0].transport, thrower.transport, "context.transport");
});

class ThrowOnMade extends Collector {
  override connectionMade(t: Transport): void {
    super.connectionMade(t);
    throw new Error("boom in connectionMade");
  }
}

backendTest("streams: an exception in connectionMade reaches the exception handler; the connection closes", async (t, { loop, takeExceptions }) => {
  const thrower = new ThrowOnMade();
  await inLoop(loop, async () => {
    const server = await loop.createServer(() => thrower, "127.0.0.1", 0);
    const client = new Collector();
    // The server's abort (RST) may beat the client's connect completion (fallback).
    const err = await loop
      .createConnection(() => client, "127.0.0.1", serverPort(server))
      .then(() => null, (e: NodeJS.ErrnoException) => e);
    if (err === null) await within(5000, client.lost.promise, "client saw the close");
    else t.is(err.code, "ECONNRESET");
    await within(5000, thrower.lost.promise, "server protocol connectionLost");
    t.true(thrower.transport.isClosing());
    await shutdown(server);
  });
  const ex = takeExceptions();
  t.is(ex.length, 1);
  t.is((ex[0].exception as Error).message, "boom in connectionMade");
  t.is(ex[0].protocol, thrower, "context.protocol");
  t.is(ex[0].transport, thrower.transport, "context.transport");
});

backendTest("streams: abort() while reading and writing: connectionLost once, nothing left in flight", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const srv = new Flood(); // the server floods the client, so the client has a read in flight
    const server = await loop.createServer(() => srv, "127.0.0.1", 0);
    const client = new TransferClient(crypto.randomBytes(16 * 1024 * 1024));
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    await within(5000, new Promise<void>((r) => {
      const check = (): void => void (client.receivedBytes > 0 ? r() : setTimeout(check, 5));
      check();
    }), "some data read");
    tr.write(Buffer.alloc(8 * 1024 * 1024, 0x62));
    t.true(tr.getWriteBufferSize() >= 8 * 1024 * 1024, "a write is queued");
    tr.abort();
    t.true(tr.isClosing());
    tr.abort();
    tr.close();
    const exc = await within(5000, client.lost.promise, "connectionLost after abort");
    t.is(exc, null);
    t.is(client.lostCalls, 1);
    const srvExc = await within(5000, srv.lost.promise, "server saw the abort");
    t.true(srvExc === null || ["ECONNRESET", "EPIPE"].includes((srvExc as NodeJS.ErrnoException).code ?? ""));
    await shutdown(server);
  });
});

backendTest("streams: close() with 16 MiB queued flushes it all, then connectionLost(null) once", async (t, { loop }) => {
  const payload = crypto.randomBytes(16 * 1024 * 1024);
  await inLoop(loop, async () => {
    const sink = new Collector();
    const { server, client, tr } = await connectToSink(loop, sink);
    tr.write(payload);
    tr.close();
    t.true(tr.isClosing());
    tr.close();
    t.is(await within(15_000, client.lost.promise, "client connectionLost after the flush"), null);
    t.is(client.lostCalls, 1);
    await within(15_000, sink.lost.promise, "sink got EOF");
    t.true(sink.eof);
    t.true(sink.data().equals(payload));
    await shutdown(server);
  });
});
