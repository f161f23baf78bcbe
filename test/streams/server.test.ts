// The Server object (asyncio 3.12+ semantics): close() stops accepting but leaves
// connections open, waitClosed() settles when the last one is gone; closeClients()
// closes them gracefully, abortClients() at once; startServing: false defers listening;
// serveForever() ends cancelled, with the server closed and its connections gone, when its
// Task is cancelled.
import * as net from "node:net";
import { CancelledError } from "ringloop";
import { backendTest, sleep } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, Collector, closedPort } from "./_streams.js";

function collectors(): { list: Collector[]; factory: () => Collector } {
  const list: Collector[] = [];
  return {
    list,
    factory: () => {
      const c = new Collector();
      list.push(c);
      return c;
    },
  };
}

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

backendTest("streams: Server close() stops accepting; waitClosed() waits for the last connection", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const srv = collectors();
    const server = await loop.createServer(srv.factory, "127.0.0.1", 0);
    const port = serverPort(server);
    t.true(server.isServing());
    t.is(server.getLoop(), loop);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", port);
    await within(5000, srv.list[0]?.made.promise ?? Promise.reject(new Error("not accepted")), "accepted");
    server.close();
    t.false(server.isServing());
    t.is(await refused(port), "ECONNREFUSED");
    let waited = false;
    const w = server.waitClosed().then(() => (waited = true));
    await sleep(50);
    t.false(waited, "a connection is still open");
    tr.write(Buffer.from("still works"));
    await within(5000, srv.list[0].waitBytes(11), "existing connection still served");
    tr.close();
    await within(5000, client.lost.promise, "client closed");
    await within(5000, w, "waitClosed after the last connection closed");
    t.true(waited);
    server.close();
  });
});

for (const how of ["closeClients", "abortClients"] as const) {
  backendTest(`streams: Server ${how}() ends every connection`, async (t, { loop }) => {
    await inLoop(loop, async () => {
      const srv = collectors();
      const server = await loop.createServer(srv.factory, "127.0.0.1", 0);
      const clients = [new Collector(), new Collector(), new Collector()];
      for (const c of clients) await loop.createConnection(() => c, "127.0.0.1", serverPort(server));
      await within(5000, (async () => { while (srv.list.length < 3) await sleep(5); })(), "3 accepted");
      server.close();
      server[how]();
      await within(5000, Promise.all(srv.list.map((c) => c.lost.promise)), "server side connectionLost");
      await within(5000, Promise.all(clients.map((c) => c.lost.promise)), "clients saw the end");
      t.true(srv.list.every((c) => c.lostCalls === 1 && c.transport.isClosing()));
      await within(5000, server.waitClosed(), "waitClosed");
    });
  });
}

backendTest("streams: startServing false, then startServing()", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const srv = collectors();
    const server = await loop.createServer(srv.factory, "127.0.0.1", 0, { startServing: false });
    t.false(server.isServing());
    await server.startServing();
    t.true(server.isServing());
    await server.startServing(); // already serving: nothing changes
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    tr.close();
    await within(5000, client.lost.promise, "client closed");
    await within(5000, (async () => { while (srv.list.length < 1) await sleep(5); })(), "accepted");
    await within(5000, srv.list[0].lost.promise, "server side closed");
    await shutdown(server);
  });
});

backendTest("streams: serveForever() ends cancelled when its Task is cancelled, server closed", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const server = await loop.createServer(() => new Collector(), "127.0.0.1", 0);
    const port = serverPort(server);
    const task = loop.createTask((signal) => server.serveForever({ signal }));
    await sleep(30);
    t.false(task.done());
    task.cancel();
    await t.throwsAsync(within(5000, Promise.resolve(task), "serveForever task"), { instanceOf: CancelledError });
    t.true(task.cancelled());
    t.false(server.isServing());
    t.is(await refused(port), "ECONNREFUSED");
    await within(5000, server.waitClosed(), "waitClosed");
  });
});

backendTest("streams: a cancelled serveForever() waits for open connections (asyncio 3.12 wait_closed)", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const srv = collectors();
    const server = await loop.createServer(srv.factory, "127.0.0.1", 0);
    const port = serverPort(server);
    const task = loop.createTask((signal) => server.serveForever({ signal }));
    const client = net.connect(port, "127.0.0.1");
    await within(5000, (async () => { while (srv.list.length < 1) await sleep(5); })(), "accepted");
    task.cancel();
    await sleep(50);
    t.false(task.done(), "serveForever still waits for the open connection");
    t.false(server.isServing());
    client.destroy();
    await t.throwsAsync(within(5000, Promise.resolve(task), "serveForever task"), { instanceOf: CancelledError });
    t.true(task.cancelled());
  });
});

backendTest("streams: createServer with host null listens on all interfaces, v4 and v6", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const server = await loop.createServer(() => new Collector(), null, 0);
    const families = server.sockets.map((s) => (s.getsockname() as { family: number }).family).sort();
    t.deepEqual(families, [4, 6]);
    // As asyncio: with port 0, each family gets its own ephemeral port.
    for (const sock of server.sockets) {
      const { host, port, family } = sock.getsockname() as { host: string; port: number; family: number };
      t.is(host, family === 4 ? "0.0.0.0" : "::");
      const c = new Collector();
      const [tr] = await loop.createConnection(() => c, family === 4 ? "127.0.0.1" : "::1", port);
      tr.close();
      await within(5000, c.lost.promise, `close via ${host}`);
    }
    server.closeClients();
    await shutdown(server);
  });
});

backendTest("streams: createServer on a port in use rejects with EADDRINUSE", async (t, { loop }) => {
  const port = await closedPort();
  await inLoop(loop, async () => {
    const first = await loop.createServer(() => new Collector(), "127.0.0.1", port);
    const err = await t.throwsAsync(loop.createServer(() => new Collector(), "127.0.0.1", port));
    t.is((err as NodeJS.ErrnoException).code, "EADDRINUSE");
    await shutdown(first);
  });
});
