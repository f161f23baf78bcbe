// Address families and extra info: IPv4 and IPv6 peername/sockname shapes, Unix sockets
// (the file goes with the server; a stale socket file is replaced, a regular file is not),
// and the Linux abstract namespace (a leading NUL: no file at all).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, startEchoServer, Collector, EchoProtocol, type StreamLoop } from "./_streams.js";

function tmpSocketPath(tag: string): string {
  return path.join(os.tmpdir(), `ringloop-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
}

backendTest("streams: getExtraInfo peername/sockname are {host, port, family} on IPv4", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const srv = new Collector();
    const server = await loop.createServer(() => srv, "127.0.0.1", 0);
    const port = serverPort(server);
    t.deepEqual(server.sockets[0].getsockname(), { host: "127.0.0.1", port, family: 4 });
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", port);
    await within(5000, srv.made.promise, "accepted");
    const sockname = tr.getExtraInfo("sockname") as { host: string; port: number; family: number };
    t.deepEqual(tr.getExtraInfo("peername"), { host: "127.0.0.1", port, family: 4 });
    t.is(sockname.host, "127.0.0.1");
    t.is(sockname.family, 4);
    t.true(sockname.port > 0);
    t.deepEqual(srv.transport.getExtraInfo("peername"), sockname);
    t.deepEqual(srv.transport.getExtraInfo("sockname"), { host: "127.0.0.1", port, family: 4 });
    t.truthy(tr.getExtraInfo("socket"), "the socket is there");
    t.is(tr.getExtraInfo("no-such-key", 42), 42);
    t.is(tr.getExtraInfo("no-such-key"), undefined);
    t.is(tr.getProtocol(), client);
    tr.close();
    await within(5000, srv.lost.promise, "server side closed");
    await shutdown(server);
  });
});

backendTest("streams: IPv6 ::1 server and connection echo", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { server, port } = await startEchoServer(loop, "::1");
    t.deepEqual(server.sockets[0].getsockname(), { host: "::1", port, family: 6 });
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "::1", port);
    t.deepEqual(tr.getExtraInfo("peername"), { host: "::1", port, family: 6 });
    tr.write(Buffer.from("over six"));
    await within(5000, client.waitBytes(8), "echo over IPv6");
    t.is(client.data().toString(), "over six");
    tr.close();
    await within(5000, client.lost.promise, "closed");
    await shutdown(server);
  });
});

async function unixEcho(t: { is(a: unknown, b: unknown): void }, s: StreamLoop, where: string): Promise<void> {
  const client = new Collector();
  const [tr] = await s.createUnixConnection(() => client, where);
  t.is(typeof tr.getExtraInfo("peername"), "string");
  tr.write(Buffer.from("unix hello"));
  tr.writeEof();
  await within(5000, client.lost.promise, "unix echo and close");
  t.is(client.data().toString(), "unix hello");
}

backendTest("streams: Unix socket server and connection; the file is removed on close", async (t, { loop }) => {
  const where = tmpSocketPath("unix");
  await inLoop(loop, async () => {
    const server = await loop.createUnixServer(() => new EchoProtocol(), where);
    t.true(fs.statSync(where).isSocket());
    t.is(server.sockets[0].getsockname(), where);
    await unixEcho(t, loop, where);
    await shutdown(server);
  });
  t.false(fs.existsSync(where), "socket file removed when the server closed");
});

backendTest("streams: a stale Unix socket file is replaced; a regular file is not", async (t, { loop }) => {
  const stale = tmpSocketPath("stale");
  const regular = tmpSocketPath("regular");
  // A process that exits while listening leaves its socket file behind.
  const left = spawnSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`], { timeout: 10_000 });
  t.is(left.status, 0);
  t.true(fs.statSync(stale).isSocket());
  fs.writeFileSync(regular, "not a socket");
  try {
    await inLoop(loop, async () => {
      const server = await loop.createUnixServer(() => new EchoProtocol(), stale);
      await unixEcho(t, loop, stale);
      await shutdown(server);
      const err = await t.throwsAsync(loop.createUnixServer(() => new EchoProtocol(), regular));
      t.is((err as NodeJS.ErrnoException).code, "EADDRINUSE");
    });
    t.is(fs.readFileSync(regular, "utf8"), "not a socket");
  } finally {
    fs.rmSync(regular, { force: true });
    fs.rmSync(stale, { force: true });
  }
});

backendTest("streams: abstract Unix socket (leading NUL) creates no file", async (t, { loop }) => {
  const name = `\0ringloop-abstract-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await inLoop(loop, async () => {
    const server = await loop.createUnixServer(() => new EchoProtocol(), name);
    t.is(server.sockets[0].getsockname(), name);
    await unixEcho(t, loop, name);
    await shutdown(server);
  });
  t.false(fs.readdirSync(os.tmpdir()).some((f) => f.includes("ringloop-abstract")));
});

backendTest("streams: Unix errors: no such path (ENOENT), a path a live server holds (EADDRINUSE)", async (t, { loop }) => {
  const where = tmpSocketPath("busy");
  await inLoop(loop, async () => {
    const missing = await loop
      .createUnixConnection(() => new Collector(), tmpSocketPath("missing"))
      .then(() => null, (e: NodeJS.ErrnoException) => e);
    t.is(missing?.code, "ENOENT");
    t.is(missing?.syscall, "connect");
    const server = await loop.createUnixServer(() => new EchoProtocol(), where);
    const busy = await loop
      .createUnixServer(() => new EchoProtocol(), where)
      .then(() => null, (e: NodeJS.ErrnoException) => e);
    t.is(busy?.code, "EADDRINUSE");
    await unixEcho(t, loop, where);
    await shutdown(server);
  });
  t.false(fs.existsSync(where));
});
