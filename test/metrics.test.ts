// loop.metrics() (LoopMetrics in src/events.ts) and `ringloop serve --stats`: ops in flight
// by kind match pendingOps(), the ring counters move with the traffic, a CQ overflow is
// counted and loses no completion, ENOBUFS re-arms are counted, the buffer rings report
// their occupancy; the serve stats lines carry them and end with 0 ops in flight.
import test from "ava";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UringEventLoop, type AbstractEventLoop, type LoopMetrics } from "ringloop";
import { backendTest, uringOnlyTest, BACKENDS, uringUnavailableReason } from "./helpers/backends.js";
import { startCli } from "./helpers/cli.js";
import { inLoop, within, serverPort, shutdown, startEchoServer, Collector, deferred } from "./streams/_streams.js";
import { curl } from "./serve/_serve.js";

const metricsOf = (loop: AbstractEventLoop): LoopMetrics => loop.metrics();

backendTest("metrics: ops in flight by kind match pendingOps; nothing in flight once everything closed", async (t, { loop, backend }) => {
  await inLoop(loop, async () => {
    const { server, port } = await startEchoServer(loop);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", port);
    tr.write(Buffer.from("ping"));
    await within(5000, client.waitBytes(4), "echo");
    const m = metricsOf(loop);
    t.is(m.backend, backend);
    t.is(m.opsInFlight, (loop as unknown as { pendingOps(): number }).pendingOps());
    t.is(Object.values(m.opsInFlightByKind).reduce((a, b) => a + b, 0), m.opsInFlight);
    if (backend === "uring") {
      t.true((m.opsInFlightByKind.RECV ?? 0) >= 2, `two connections read: ${JSON.stringify(m.opsInFlightByKind)}`);
      t.true((m.opsInFlightByKind.ACCEPT ?? 0) >= 1, "the server accepts");
      t.truthy(m.uring);
    } else {
      t.deepEqual(m.opsInFlightByKind, {}, "node:net's own handles are not ours");
      t.is(m.uring, undefined);
    }
    tr.close();
    await within(5000, client.lost.promise, "closed");
    server.closeClients();
    await shutdown(server);
    const after = metricsOf(loop);
    t.is(after.opsInFlight, 0);
    t.deepEqual(after.opsInFlightByKind, {});
  });
});

backendTest("metrics: the fallback counts its fd waits as ops in flight", async (t, { loop, backend }) => {
  if (backend !== "fallback") {
    t.pass("io_uring: POLL_ADD, counted by opcode (the test above)");
    return;
  }
  const { socket } = await import("ringloop");
  const a = socket("unix", "dgram");
  a.bind(`\0ringloop-metrics-${process.pid}`);
  try {
    await inLoop(loop, async () => {
      const ac = new AbortController();
      const waiting = loop.sockRecv(a, 10, { signal: ac.signal });
      waiting.catch(() => {});
      await new Promise((r) => setTimeout(r, 20));
      t.deepEqual(metricsOf(loop).opsInFlightByKind, { fdWatch: 1 });
      ac.abort();
      await t.throwsAsync(waiting, { any: true, name: "AbortError" });
      t.is(metricsOf(loop).opsInFlight, 0);
    });
  } finally {
    a.close();
  }
});

uringOnlyTest("metrics: submissions, completions, syscalls and wake-ups move with the traffic; the buffer ring is full when idle", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { server, port } = await startEchoServer(loop);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", port);
    const before = metricsOf(loop).uring!;
    for (let i = 1; i <= 50; i++) {
      tr.write(Buffer.from("x"));
      await within(5000, client.waitBytes(i), "echo");
    }
    const after = metricsOf(loop).uring!;
    t.true(after.sqesSubmitted - before.sqesSubmitted >= 100, "a SEND and a RECV re-arm or more per echo");
    t.true(after.cqesReaped - before.cqesReaped >= 100);
    t.true(after.enterCalls > before.enterCalls);
    t.true(after.wakeups + after.busyPollHits > before.wakeups + before.busyPollHits, "completions were delivered by wake-ups or busy polls");
    t.is(after.cqDropped, 0);
    const group0 = after.bufRings.find((b) => b.group === 0)!;
    t.truthy(group0, "the stream buffer ring is reported");
    t.is(group0.inKernel, group0.count, "idle: every buffer is back in the ring");
    tr.close();
    await within(5000, client.lost.promise, "closed");
    server.closeClients();
    await shutdown(server);
  });
});

test.serial("metrics [uring]: a CQ overflow is counted and loses no completion (a ring of 4 entries, 300 NOPs at once)", async (t) => {
  const reason = uringUnavailableReason();
  if (reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1") return t.pass(`io_uring unavailable: ${reason}`);
  const loop = new UringEventLoop({ entries: 4 });
  try {
    const p = (loop as unknown as { _proactor: { nop(h: { _complete(): void }): number } })._proactor;
    const done = deferred<void>();
    let completed = 0;
    const handler = { _complete: () => ++completed === 300 && done.resolve() };
    await loop.runUntilComplete(
      loop.createTask(async () => {
        for (let i = 0; i < 300; i++) p.nop(handler);
        await within(10_000, done.promise, "300 completions");
      }),
    );
    t.is(completed, 300, "every completion arrived");
    const m = loop.metrics().uring!;
    t.true(m.sqFull > 0, `300 staged > 4 SQ entries: submitted part-way (sqFull ${m.sqFull})`);
    t.true(m.cqOverflows > 0, `the 8-entry CQ overflowed (cqOverflows ${m.cqOverflows})`);
    t.is(m.cqDropped, 0);
    t.is(loop.metrics().opsInFlight, 0);
  } finally {
    loop.close();
  }
});

test.serial("metrics [uring]: ENOBUFS re-arms are counted (2 receive buffers, 1 MiB through)", async (t) => {
  const reason = uringUnavailableReason();
  if (reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1") return t.pass(`io_uring unavailable: ${reason}`);
  const loop = new UringEventLoop({ bufCount: 2, bufSize: 4096 });
  try {
    const before = loop.metrics().uring!.enobufsRearms;
    await inLoop(loop, async () => {
      const sink = new Collector();
      const server = await loop.createServer(() => sink, "127.0.0.1", 0);
      const client = new Collector();
      const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
      await within(5000, sink.made.promise, "accepted");
      tr.write(Buffer.alloc(1 << 20, 1));
      await within(10_000, sink.waitBytes(1 << 20), "1 MiB");
      tr.close();
      await within(5000, sink.lost.promise, "closed");
      await shutdown(server);
    });
    const m = loop.metrics().uring!;
    t.true(m.enobufsRearms > before, `re-arms counted: ${m.enobufsRearms}`);
    t.true(m.fallbacks["RECV multishot -> single RECV (buffer ring empty: ENOBUFS)"] > 0);
  } finally {
    loop.close();
  }
});

const uringReason = uringUnavailableReason();
for (const backend of BACKENDS) {
  const reg = backend === "uring" && uringReason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;
  reg(`[${backend}] serve --stats: a stats line per interval with the counts and the loop's metrics; the last one after the stop shows 0 ops in flight`, async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-stats-"));
    fs.writeFileSync(path.join(root, "a.txt"), "hello\n");
    const cli = startCli(["serve", root, "--port", "0", "--quiet", "--stats", "1", "--backend", backend], 30_000);
    try {
      const url = /(http:\/\/\S+)/.exec(await cli.firstLine)![1];
      t.is((await curl(`${url}a.txt`)).status, 200);
      const statsLines = (): Array<Record<string, unknown>> =>
        cli
          .stderr()
          .split("\n")
          .filter((l) => l.startsWith("ringloop serve: stats "))
          .map((l) => JSON.parse(l.slice("ringloop serve: stats ".length)) as Record<string, unknown>);
      for (let i = 0; i < 100 && !statsLines().some((s) => (s.requests as number) >= 1); i++) await new Promise((r) => setTimeout(r, 50));
      const seen = statsLines().find((s) => (s.requests as number) >= 1);
      t.truthy(seen, cli.stderr());
      t.is((seen!.metrics as LoopMetrics[])[0].backend, backend);
      t.is(typeof seen!.opsInFlight, "number");
      cli.child.kill("SIGTERM");
      t.is(await cli.exited, 0, cli.stderr());
      const last = statsLines().at(-1)!;
      t.is(last.requests, 1);
      t.is(last.openConnections, 0);
      t.is(last.opsInFlight, 0, "nothing in flight after the graceful stop");
      t.regex(cli.stderr(), /stats .*\n.*stopped after 1 request/);
    } finally {
      cli.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}
