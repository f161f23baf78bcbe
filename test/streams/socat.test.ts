// A real peer: socat as client against a ringloop echo server (TCP and Unix socket) and
// against the `ringloop echo` CLI, and socat as an echo server (EXEC:cat) against
// createConnection. socat half-closes after its input ends, so these also check EOF
// handling against another implementation.
import * as crypto from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import test from "ava";
import { backendTest, sleep, BACKENDS, uringUnavailableReason, fixture } from "../helpers/backends.js";
import { inLoop, within, sha256, shutdown, startEchoServer, closedPort, runChild, EchoProtocol, TransferClient } from "./_streams.js";

backendTest("streams: socat client through a ringloop TCP echo server", async (t, { loop }) => {
  const payload = crypto.randomBytes(2 * 1024 * 1024);
  await inLoop(loop, async () => {
    const { server, port } = await startEchoServer(loop);
    const r = await runChild("socat", ["-t", "5", "-", `TCP:127.0.0.1:${port}`], payload, 20_000);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout.length, payload.length);
    t.is(sha256(r.stdout), sha256(payload));
    await shutdown(server);
  });
});

backendTest("streams: socat client through a ringloop Unix echo server", async (t, { loop }) => {
  const where = path.join(os.tmpdir(), `ringloop-socat-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
  const payload = crypto.randomBytes(512 * 1024);
  await inLoop(loop, async () => {
    const server = await loop.createUnixServer(() => new EchoProtocol(), where);
    const r = await runChild("socat", ["-t", "5", "-", `UNIX-CONNECT:${where}`], payload, 20_000);
    t.is(r.code, 0, r.stderr);
    t.is(sha256(r.stdout), sha256(payload));
    await shutdown(server);
  });
});

backendTest("streams: createConnection against a socat echo server", async (t, { loop }) => {
  const payload = crypto.randomBytes(2 * 1024 * 1024);
  const port = await closedPort();
  const socat = spawn("socat", ["-t", "5", `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, "EXEC:cat"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  socat.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => socat.once("exit", (code) => r(code)));
  try {
    await inLoop(loop, async () => {
      // socat needs a moment to listen: retry refused connects for up to 5 s.
      let client = new TransferClient(payload);
      for (let i = 0; ; i++) {
        try {
          await loop.createConnection(() => client, "127.0.0.1", port);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ECONNREFUSED" || i >= 100) throw e;
          client = new TransferClient(payload);
          await sleep(50);
        }
      }
      t.is(await within(20_000, client.lost.promise, "echo through socat"), null);
      t.true(client.eof);
      t.is(client.receivedBytes, payload.length);
      t.is(client.hash.digest("hex"), sha256(payload));
    });
    t.is(await within(10_000, exited, "socat exit"), 0, stderr);
  } finally {
    if (socat.exitCode === null) socat.kill("SIGKILL");
  }
});

// `ringloop echo` (the CLI) as the server, socat as the client; SIGTERM stops it cleanly.
for (const backend of BACKENDS) {
  const reason = backend === "uring" ? uringUnavailableReason() : null;
  const register = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;
  register(`[${backend}] streams: socat client through \`ringloop echo --port 0\``, async (t) => {
    const payload = crypto.randomBytes(1024 * 1024);
    const cli = spawn(process.execPath, [fixture("../../bin/ringloop.cjs"), "echo", "--port", "0", "--backend", backend], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    cli.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const listening = new Promise<string>((resolve) => cli.stdout.on("data", (d: Buffer) => (out += d.toString()).includes("\n") && resolve(out)));
    const exited = new Promise<number | null>((r) => cli.once("close", (code) => r(code)));
    try {
      const line = await within(10_000, listening, "ringloop echo listening line");
      const m = /listening on 127\.0\.0\.1:(\d+) \(backend (\w+)\)/.exec(line);
      t.truthy(m, line);
      t.is(m![2], backend);
      const r = await runChild("socat", ["-t", "5", "-", `TCP:127.0.0.1:${m![1]}`], payload, 20_000);
      t.is(r.code, 0, r.stderr);
      t.is(sha256(r.stdout), sha256(payload));
      cli.kill("SIGTERM");
      t.is(await within(10_000, exited, "ringloop echo exit after SIGTERM"), 0, err);
    } finally {
      if (cli.exitCode === null) cli.kill("SIGKILL");
    }
  });
}
