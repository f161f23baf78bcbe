// The `sock` paths, which take over an fd the program already has: connectAcceptedSocket(f,
// fd) and createUnixConnection(f, null, { sock }) on one end of a Unix socketpair a child
// inherits as fd 3; createServer/createUnixServer({ sock }) on a listening fd passed down
// the same way. Plus the argument checks.
import test from "ava";
import { spawn } from "node:child_process";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { BACKENDS, backendTest, fixture, uringUnavailableReason } from "./helpers/backends.js";
import { Protocol } from "ringloop";

for (const backend of BACKENDS) {
  const reason = backend === "uring" ? uringUnavailableReason() : null;
  const register = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;
  for (const mode of ["accepted", "unix-sock"] as const) {
    register(`[${backend}] ${mode === "accepted" ? "connectAcceptedSocket(f, fd)" : "createUnixConnection(f, null, { sock: fd })"} echoes over an inherited socketpair fd`, async (t) => {
      const child = spawn(process.execPath, [fixture("accepted-socket-echo.js"), mode], {
        env: { ...process.env, RINGLOOP_BACKEND: backend },
        stdio: ["ignore", "ignore", "pipe", "pipe"],
      });
      const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
      let err = "";
      child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      const sock = child.stdio[3] as Duplex;
      const chunks: Buffer[] = [];
      sock.on("data", (d: Buffer) => chunks.push(d));
      const payload = Buffer.alloc(300_000, "ab");
      sock.end(payload);
      const code = await new Promise<number | null>((r) => child.once("close", r));
      clearTimeout(kill);
      t.is(code, 0, err);
      t.true(Buffer.concat(chunks).equals(payload), `echoed ${Buffer.concat(chunks).length} of ${payload.length} bytes`);
    });
  }
}

backendTest("connectAcceptedSocket / createUnixConnection sock: bad fds are TypeError/RangeError naming the argument", async (t, { loop }) => {
  const l = loop as unknown as {
    connectAcceptedSocket(f: () => Protocol, sock: unknown, opts?: unknown): Promise<unknown>;
    createUnixConnection(f: () => Protocol, path: unknown, opts?: unknown): Promise<unknown>;
  };
  await t.throwsAsync(l.connectAcceptedSocket(() => new Protocol(), "3"), { instanceOf: TypeError, message: /"sock"/ });
  await t.throwsAsync(l.connectAcceptedSocket(() => new Protocol(), -1), { instanceOf: RangeError, message: /"sock"/ });
  await t.throwsAsync(l.connectAcceptedSocket(null as never, 3), { instanceOf: TypeError, message: /"protocolFactory"/ });
  await t.throwsAsync(l.createUnixConnection(() => new Protocol(), "/tmp/x", { sock: 3 }), { instanceOf: TypeError, message: /path and sock/ });
  await t.throwsAsync(l.createUnixConnection(() => new Protocol(), null, { sock: 1.5 }), { instanceOf: TypeError, message: /"opts.sock"/ });
  await t.throwsAsync(l.connectAcceptedSocket(() => new Protocol(), 3, { ssl: 42 }), { instanceOf: TypeError, message: /"opts.ssl"/ });
  await t.throwsAsync(l.connectAcceptedSocket(() => new Protocol(), 3, { serverHostname: "x" }), { instanceOf: TypeError, message: /"opts.serverHostname"/ });
});

/** A node:net server listening on `target`; its fd is handed to the child, then it is closed here. */
function listening(target: net.ListenOptions): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(target, () => resolve(s));
  });
}

for (const backend of BACKENDS) {
  const reason = backend === "uring" ? uringUnavailableReason() : null;
  const register = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;
  for (const kind of ["tcp", "unix"] as const) {
    register(`[${backend}] ${kind === "tcp" ? "createServer" : "createUnixServer"}({ sock: fd }) serves on a listening fd it was given`, async (t) => {
      const path = `\0ringloop-test-${process.pid}-${backend}`;
      const parentServer = await listening(kind === "tcp" ? { host: "127.0.0.1", port: 0 } : { path });
      const fd = (parentServer as unknown as { _handle: { fd: number } })._handle.fd;
      const child = spawn(process.execPath, [fixture("server-sock-echo.js"), kind], {
        env: { ...process.env, RINGLOOP_BACKEND: backend },
        stdio: ["ignore", "pipe", "pipe", fd],
      });
      await new Promise<void>((r) => parentServer.close(() => r()));
      const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
      try {
        let err = "";
        child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
        const line = await new Promise<string>((resolve, reject) => {
          let out = "";
          child.stdout!.on("data", (d: Buffer) => {
            out += d.toString();
            if (out.includes("\n")) resolve(out.split("\n")[0]);
          });
          child.once("close", () => reject(new Error(`child exited: ${err}`)));
        });
        const info = JSON.parse(line) as { sockname: { port: number } | string; fileno: number };
        t.is(info.fileno >= 0, true);
        const conn = kind === "tcp" ? net.connect((info.sockname as { port: number }).port, "127.0.0.1") : net.connect({ path });
        const chunks: Buffer[] = [];
        conn.on("data", (d: Buffer) => {
          chunks.push(d);
          if (Buffer.concat(chunks).length >= 5) conn.end();
        });
        conn.write("hello");
        await new Promise((r) => conn.once("close", r));
        t.is(Buffer.concat(chunks).toString(), "hello");
        t.is(await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once("close", r))), 0, err);
      } finally {
        clearTimeout(kill);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    });
  }
}
