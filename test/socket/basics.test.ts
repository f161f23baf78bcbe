// Socket objects without waiting: create, bind, listen, names, options, fromFd, detach,
// close. They work on every backend (the addon loads on both in this suite).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { socket, Socket } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { tmpSockPath, runScript } from "./_socket.js";

backendTest("socket: IPv4 stream bind/listen/getsockname and option round trip", (t) => {
  const s = socket(4, "stream");
  try {
    t.is(s.family, 4);
    t.is(s.type, "stream");
    t.true(s.fileno() >= 0);
    t.is(s.getsockopt("SO_TYPE"), "stream");
    t.is(s.getsockopt("SO_ERROR"), 0);
    for (const name of ["SO_REUSEADDR", "SO_REUSEPORT", "SO_KEEPALIVE", "TCP_NODELAY"] as const) {
      s.setsockopt(name, true);
      t.is(s.getsockopt(name), true, name);
      s.setsockopt(name, false);
      t.is(s.getsockopt(name), false, name);
    }
    s.setsockopt("SO_RCVBUF", 65536);
    t.true((s.getsockopt("SO_RCVBUF") as number) >= 65536, "the kernel keeps at least the size asked for");
    s.setsockopt("SO_SNDBUF", 32768);
    t.true((s.getsockopt("SO_SNDBUF") as number) >= 32768);
    t.deepEqual(s.getsockopt("SO_LINGER"), { onoff: false, linger: 0 });
    s.setsockopt("SO_LINGER", { onoff: true, linger: 3 });
    t.deepEqual(s.getsockopt("SO_LINGER"), { onoff: true, linger: 3 });
    s.setsockopt("SO_REUSEADDR", true);
    s.bind({ host: "127.0.0.1", port: 0 });
    s.listen(16);
    const name = s.getsockname();
    t.like(name, { host: "127.0.0.1", family: 4 });
    t.true(typeof name === "object" && name.port > 0);
    const err = t.throws(() => s.getpeername());
    t.is((err as NodeJS.ErrnoException).code, "ENOTCONN");
  } finally {
    s.close();
  }
  t.is(s.fileno(), -1);
  t.true(s.closed);
  s.close(); // idempotent
  t.is((t.throws(() => s.getsockname()) as NodeJS.ErrnoException).code, "EBADF");
  t.is((t.throws(() => s.bind({ host: "127.0.0.1", port: 0 })) as NodeJS.ErrnoException).code, "EBADF");
});

backendTest("socket: IPv6 with IPV6_V6ONLY, UDP options", (t) => {
  const s6 = socket(6, "stream", 6);
  const u = socket(4, "dgram", 17);
  try {
    s6.setsockopt("IPV6_V6ONLY", true);
    t.is(s6.getsockopt("IPV6_V6ONLY"), true);
    s6.bind({ host: "::1", port: 0 });
    t.like(s6.getsockname(), { host: "::1", family: 6 });
    t.is(u.type, "dgram");
    t.is(u.getsockopt("SO_TYPE"), "dgram");
    u.setsockopt("SO_BROADCAST", true);
    t.is(u.getsockopt("SO_BROADCAST"), true);
    u.bind({ host: "127.0.0.1", port: 0 });
    t.like(u.getsockname(), { host: "127.0.0.1", family: 4 });
    t.is((t.throws(() => u.listen()) as NodeJS.ErrnoException).errno, -os.constants.errno.EOPNOTSUPP);
  } finally {
    s6.close();
    u.close();
  }
});

backendTest("socket: Unix stream and abstract dgram names", (t) => {
  const where = tmpSockPath("basics");
  const s = socket("unix", "stream");
  const d = socket("unix", "dgram");
  try {
    t.is(s.getsockname(), "", "unbound Unix socket: empty name");
    s.bind(where);
    s.listen();
    t.is(s.getsockname(), where);
    t.true(fs.statSync(where).isSocket());
    const abstract = `\0ringloop-basics-${process.pid}`;
    d.bind(abstract);
    t.is(d.getsockname(), abstract);
  } finally {
    s.close();
    d.close();
    fs.rmSync(where, { force: true });
  }
});

backendTest("socket: Socket.fromFd adopts a socket, refuses anything else", (t) => {
  const s = socket(6, "dgram");
  const fd = s.detach();
  t.is(s.fileno(), -1, "a detached Socket gives up its fd");
  const adopted = Socket.fromFd(fd);
  t.is(adopted.fileno(), fd);
  t.is(adopted.family, 6);
  t.is(adopted.type, "dgram");
  adopted.close();

  const file = path.join(os.tmpdir(), `ringloop-notsock-${process.pid}`);
  const ffd = fs.openSync(file, "w");
  try {
    const err = t.throws(() => Socket.fromFd(ffd)) as NodeJS.ErrnoException;
    t.is(err.code, "ENOTSOCK");
  } finally {
    fs.closeSync(ffd);
    fs.rmSync(file, { force: true });
  }
  t.is((t.throws(() => Socket.fromFd(-1)) as Error).name, "RangeError");
  t.is((t.throws(() => Socket.fromFd("3" as never)) as Error).name, "TypeError");
});

backendTest("socket: argument validation", (t) => {
  t.throws(() => socket(5 as never), { instanceOf: TypeError, message: /"family"/ });
  t.throws(() => socket(4, "raw" as never), { instanceOf: TypeError, message: /"type"/ });
  t.throws(() => socket(4, "stream", 17), { instanceOf: RangeError, message: /"proto"/ });
  t.throws(() => socket(4, "stream", 1.5), { instanceOf: TypeError, message: /"proto"/ });
  const s = socket(4, "stream");
  try {
    t.throws(() => s.setsockopt("SO_FOO" as never, true), { instanceOf: TypeError, message: /"name"/ });
    t.throws(() => s.getsockopt(7 as never), { instanceOf: TypeError, message: /"name"/ });
    t.throws(() => s.setsockopt("SO_RCVBUF", -1), { instanceOf: RangeError, message: /"value"/ });
    t.throws(() => s.setsockopt("SO_RCVBUF", "big" as never), { instanceOf: TypeError, message: /"value"/ });
    t.throws(() => s.setsockopt("TCP_NODELAY", "yes" as never), { instanceOf: TypeError, message: /"value"/ });
    t.throws(() => s.setsockopt("SO_LINGER", 3 as never), { instanceOf: TypeError, message: /SO_LINGER/ });
    t.throws(() => s.setsockopt("SO_TYPE", "dgram"), { instanceOf: TypeError, message: /read-only/ });
    t.throws(() => s.bind("/tmp/x.sock"), { instanceOf: TypeError, message: /"addr".*family/ });
    t.throws(() => s.bind({ host: "localhost", port: 1 }), { instanceOf: TypeError, message: /"addr.host"/ });
    t.throws(() => s.bind({ host: "127.0.0.1", port: 70000 }), { instanceOf: RangeError, message: /"addr.port"/ });
    t.throws(() => s.bind({ host: "::1", port: 0 }), { instanceOf: TypeError, message: /family/ });
    t.throws(() => s.listen("5" as never), { instanceOf: TypeError, message: /"backlog"/ });
  } finally {
    s.close();
  }
});

backendTest("socket: a Socket garbage-collected open closes its fd (warning in debug mode)", async (t) => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return t.fail("tests run with --expose-gc");
  const messages: string[] = [];
  const onWarning = (w: Error): void => void messages.push(w.message);
  process.on("warning", onWarning);
  let fd = -1;
  try {
    process.env.RINGLOOP_DEBUG = "1";
    (() => {
      fd = socket(4, "dgram").fileno();
    })();
    delete process.env.RINGLOOP_DEBUG;
    t.true(fs.existsSync(`/proc/self/fd/${fd}`));
    for (let i = 0; i < 20 && !messages.some((m) => m.startsWith("unclosed socket")); i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    delete process.env.RINGLOOP_DEBUG;
    process.off("warning", onWarning);
  }
  t.true(messages.some((m) => /^unclosed socket <fd=\d+ family=4 type=dgram>\nObject created at:/.test(m)), messages.join("\n"));
  // The fd number may be reused by then; the leak check of backendTest proves it was closed.
});

test("socket() without the native addon is a NotImplementedError naming what to use", async (t) => {
  const r = await runScript(`try { r.socket(4); console.log("created"); } catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, ok: e instanceof r.NotImplementedError })); }`, { RINGLOOP_ADDON: "/nonexistent/ringloop.node" });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { name: string; message: string; ok: boolean };
  t.true(out.ok);
  t.is(out.name, "NotImplementedError");
  t.regex(out.message, /native addon.*unavailable.*createConnection/);
});
