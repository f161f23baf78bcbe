// createConnection / createServer options: localAddr binds the client's end, a host list
// listens on each host, reusePort lets two servers share a port, and close() while the
// peer floods us with writes of ours still queued ends with one connectionLost.
import { Protocol, NotImplementedError, type Transport } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, closedPort, deferred, Collector } from "./_streams.js";

backendTest("streams: createConnection localAddr binds the client end", async (t, { loop }) => {
  const localPort = await closedPort();
  await inLoop(loop, async () => {
    const srv = new Collector();
    const server = await loop.createServer(() => srv, "127.0.0.1", 0);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server), { localAddr: { host: "127.0.0.1", port: localPort } });
    t.deepEqual(tr.getExtraInfo("sockname"), { host: "127.0.0.1", port: localPort, family: 4 });
    await within(5000, srv.made.promise, "accepted");
    t.deepEqual(srv.transport.getExtraInfo("peername"), { host: "127.0.0.1", port: localPort, family: 4 });
    tr.close();
    await within(5000, srv.lost.promise, "server side closed");
    await shutdown(server);
  });
});

backendTest("streams: createServer with a host list listens on each host", async (t, { loop }) => {
  const port = await closedPort();
  await inLoop(loop, async () => {
    const server = await loop.createServer(() => new Collector(), ["127.0.0.1", "::1"], port);
    t.deepEqual(
      server.sockets.map((s) => s.getsockname() as { family: number }).sort((a, b) => a.family - b.family),
      [
        { host: "127.0.0.1", port, family: 4 },
        { host: "::1", port, family: 6 },
      ],
    );
    for (const host of ["127.0.0.1", "::1"]) {
      const c = new Collector();
      const [tr] = await loop.createConnection(() => c, host, port);
      tr.close();
      await within(5000, c.lost.promise, `close via ${host}`);
    }
    await shutdown(server);
  });
});

/** node:net sets SO_REUSEPORT from Node 22.12 on (listen({ reusePort })). */
function nodeHasReusePort(): boolean {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

backendTest("streams: reusePort lets two servers listen on one port (fallback on old Node: NotImplementedError)", async (t, { loop, backend }) => {
  const port = await closedPort();
  await inLoop(loop, async () => {
    if (backend === "fallback" && !nodeHasReusePort()) {
      await t.throwsAsync(loop.createServer(() => new Collector(), "127.0.0.1", port, { reusePort: true }), {
        instanceOf: NotImplementedError,
        message: /reusePort/,
      });
      return;
    }
    const a = await loop.createServer(() => new Collector(), "127.0.0.1", port, { reusePort: true });
    const b = await loop.createServer(() => new Collector(), "127.0.0.1", port, { reusePort: true });
    t.is(serverPort(a), port);
    t.is(serverPort(b), port);
    await shutdown(a);
    await shutdown(b);
  });
});

/** Writes 256 KiB chunks until paused; keeps going on resumeWriting. */
class Flooder extends Protocol {
  transport!: Transport;
  paused = false;
  readonly lost = deferred<Error | null>();
  private readonly chunk = Buffer.alloc(256 * 1024, 0x5a);
  override connectionMade(t: Transport): void {
    this.transport = t;
    this.fill();
  }
  private fill(): void {
    while (!this.paused && !this.transport.isClosing()) this.transport.write(this.chunk);
  }
  override pauseWriting(): void {
    this.paused = true;
  }
  override resumeWriting(): void {
    this.paused = false;
    this.fill();
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

backendTest("streams: close() while the peer floods us and our writes are queued", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const flooder = new Flooder();
    const server = await loop.createServer(() => flooder, "127.0.0.1", 0);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    await within(5000, client.waitBytes(1024 * 1024), "1 MiB from the flooder");
    tr.write(Buffer.alloc(2 * 1024 * 1024, 0x41));
    tr.close();
    const exc = await within(10_000, client.lost.promise, "connectionLost after close");
    t.is(client.lostCalls, 1);
    t.true(exc === null || ["ECONNRESET", "EPIPE"].includes((exc as NodeJS.ErrnoException).code ?? ""), String(exc));
    const srvExc = await within(10_000, flooder.lost.promise, "flooder saw the close");
    t.true(srvExc === null || ["ECONNRESET", "EPIPE"].includes((srvExc as NodeJS.ErrnoException).code ?? ""), String(srvExc));
    await shutdown(server);
  });
});
