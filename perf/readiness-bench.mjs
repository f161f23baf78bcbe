// readiness-bench: sock_* ping-pong (sockRecv / sockSendall, readiness waits) on the uring
// and fallback backends against node:net, in ONE run.
//
//   npm run build:ts && node perf/readiness-bench.mjs [--rounds 5] [--secs 2] [--quick] [--write]
//
// Each point is a ping-pong: a client sends a message, the server echoes it, the client waits
// for all of it before the next (closed loop), over 1 or 10 connections at once. Both ends
// run the variant under test, each in its own process: the server pinned to CPU 0, the
// client to CPU 1 (taskset). ringloop: the server sockAccepts and loops sockRecv ->
// sockSendall per connection; the client sockConnects and loops sockSendall -> sockRecv
// until the whole echo is back; every sockRecv that finds nothing waits for readiness
// (io_uring POLL_ADD on uring, the addon's libuv poll on fallback). node:net: the same
// exchange with socket.write and 'data' events (TCP_NODELAY on every side).
// Reported: round trips per second over --secs after a 0.5 s warm-up; medians over rounds
// (variants run back to back, order rotated each round); ratio = median of the per-round
// ratios ours / node:net (the machine is shared: absolute numbers drift, ratios hold).
import { spawn } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, median } from "./bench-util.mjs";
import { writeSection } from "./results-writer.mjs";

const HERE = fileURLToPath(import.meta.url);
const { flag, opt } = benchArgs();
const ROLE = opt("--role", "driver");

if (ROLE === "server") await server(opt("--variant", ""));
else if (ROLE === "client") await client(opt("--variant", ""), Number(opt("--port", "0")), Number(opt("--size", "64")), Number(opt("--conns", "1")), Number(opt("--secs", "2")));
else await driver();

// ---------------------------------------------------------------- ringloop / node:net ends

async function loadLoop(variant) {
  const r = await import("ringloop");
  const loop = variant === "uring" ? new r.UringEventLoop() : new r.FallbackEventLoop();
  if (loop.backend !== variant) throw new Error(`asked for ${variant}, got ${loop.backend}`);
  return { r, loop };
}

async function server(variant) {
  if (variant === "net") {
    const net = await import("node:net");
    const srv = net.createServer({ noDelay: true }, (s) => s.on("data", (d) => s.write(d)));
    srv.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: srv.address().port })));
    return;
  }
  const { r, loop } = await loadLoop(variant);
  const listener = r.socket(4, "stream");
  listener.setsockopt("SO_REUSEADDR", true);
  listener.bind({ host: "127.0.0.1", port: 0 });
  listener.listen(128);
  console.log(JSON.stringify({ port: listener.getsockname().port }));
  const echo = async (s) => {
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = await loop.sockRecvInto(s, buf);
      if (n === 0) return s.close();
      await loop.sockSendall(s, buf.subarray(0, n));
    }
  };
  await loop.runUntilComplete(
    (async () => {
      for (;;) {
        const [s] = await loop.sockAccept(listener);
        s.setsockopt("TCP_NODELAY", true);
        echo(s).catch(() => s.close());
      }
    })(),
  );
}

/**
 * Round trips per second over `secs` after a 0.5 s warm-up, and this process's CPU time
 * (user + system) per round trip in us; then sets w.stop.
 */
async function measure(secs, w) {
  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
  await sleep(500);
  w.counting = true;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(secs * 1000);
  const cpu = process.cpuUsage(cpu0);
  const n = w.count;
  const rps = n / ((performance.now() - t0) / 1000);
  w.stop = true;
  return { rps, cpuUs: (cpu.user + cpu.system) / n };
}

async function client(variant, port, size, conns, secs) {
  const msg = Buffer.alloc(size, 0x61);
  const w = { counting: false, stop: false, count: 0 };
  if (variant === "net") {
    const net = await import("node:net");
    const ends = Array.from(
      { length: conns },
      () =>
        new Promise((resolve) => {
          const s = net.connect({ port, host: "127.0.0.1", noDelay: true }, () => s.write(msg));
          let got = 0;
          s.on("data", (d) => {
            got += d.length;
            if (got < size) return;
            got = 0;
            if (w.counting) w.count++;
            if (w.stop) s.end(resolve);
            else s.write(msg);
          });
        }),
    );
    const result = await measure(secs, w);
    await Promise.all(ends);
    return console.log(JSON.stringify(result));
  }
  const { r, loop } = await loadLoop(variant);
  const pingPong = async () => {
    const s = r.socket(4, "stream");
    s.setsockopt("TCP_NODELAY", true);
    await loop.sockConnect(s, { host: "127.0.0.1", port });
    const buf = Buffer.allocUnsafe(64 * 1024);
    while (!w.stop) {
      await loop.sockSendall(s, msg);
      for (let got = 0; got < size; ) {
        const n = await loop.sockRecvInto(s, buf);
        if (n === 0) throw new Error("server closed");
        got += n;
      }
      if (w.counting) w.count++;
    }
    s.close();
  };
  const result = await loop.runUntilComplete(
    (async () => {
      const all = Promise.all(Array.from({ length: conns }, pingPong));
      const result = await measure(secs, w);
      await all;
      return result;
    })(),
  );
  loop.close();
  console.log(JSON.stringify(result));
}

// ---------------------------------------------------------------- driver

function runJson(args, cpu, onFirstLine) {
  const child = spawn("taskset", ["-c", String(cpu), process.execPath, HERE, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  return {
    child,
    first: new Promise((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        const nl = out.indexOf("\n");
        if (nl >= 0 && onFirstLine) resolve(JSON.parse(out.slice(0, nl)));
      });
      child.once("exit", (code) => (code === 0 && out ? resolve(JSON.parse(out.trim().split("\n").pop())) : reject(new Error(`${args.join(" ")} exited ${code}`))));
    }),
  };
}

async function point(variant, size, conns, secs) {
  const srv = runJson(["--role", "server", "--variant", variant], 0, true);
  try {
    const { port } = await srv.first;
    const cli = runJson(["--role", "client", "--variant", variant, "--port", String(port), "--size", String(size), "--conns", String(conns), "--secs", String(secs)], 1, false);
    return await cli.first;
  } finally {
    srv.child.kill("SIGKILL");
  }
}

async function driver() {
  const quick = flag("--quick");
  const rounds = Number(opt("--rounds", quick ? "1" : "5"));
  const secs = Number(opt("--secs", quick ? "1" : "2"));
  const variants = ["uring", "fallback", "net"];
  const points = [
    { size: 64, conns: 1 },
    { size: 64, conns: 10 },
    { size: 16 * 1024, conns: 1 },
  ];
  const started = Date.now();
  const results = new Map(); // "variant size conns" -> [{ rps, cpuUs } per round]
  for (let round = 0; round < rounds; round++) {
    for (const p of points) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const v of order) {
        const key = `${v} ${p.size} ${p.conns}`;
        const value = await point(v, p.size, p.conns, secs);
        (results.get(key) ?? results.set(key, []).get(key)).push(value);
        process.stderr.write(`round ${round + 1}/${rounds} ${key}: ${Math.round(value.rps)} rt/s, ${value.cpuUs.toFixed(1)} us CPU/rt\n`);
      }
    }
  }
  const fmt = (x) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
  const of = (key, field) => results.get(key).map((r) => r[field]);
  const ratio = (a, b) => median(a.map((x, i) => x / b[i]));
  const rows = [];
  for (const p of points) {
    const label = `${p.size >= 1024 ? `${p.size / 1024} KiB` : `${p.size} B`} x${p.conns}`;
    const net = `net ${p.size} ${p.conns}`;
    for (const v of ["uring", "fallback"]) {
      const ours = `${v} ${p.size} ${p.conns}`;
      const r = of(ours, "rps").map((x, i) => x / of(net, "rps")[i]);
      rows.push(
        `| ${label} [${v}] | ${fmt(median(of(ours, "rps")))} | ${fmt(median(of(net, "rps")))} | ${median(r).toFixed(2)}x | ${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}x | ` +
          `${median(of(ours, "cpuUs")).toFixed(1)} | ${median(of(net, "cpuUs")).toFixed(1)} | ${ratio(of(ours, "cpuUs"), of(net, "cpuUs")).toFixed(2)}x |`,
      );
    }
    const u = `uring ${p.size} ${p.conns}`;
    const f = `fallback ${p.size} ${p.conns}`;
    rows.push(`| ${label} fallback / uring | | | ${ratio(of(f, "rps"), of(u, "rps")).toFixed(2)}x | | | | ${ratio(of(f, "cpuUs"), of(u, "cpuUs")).toFixed(2)}x |`);
  }
  const cpus = os.cpus();
  const text = [
    "## readiness-bench (generated)",
    "",
    "```",
    "npm run build:ts && node perf/readiness-bench.mjs --write",
    "```",
    "",
    `Date: ${new Date().toISOString()}. Machine: ${cpus.length} x ${cpus[0]?.model.trim().split(" ").slice(0, 2).join(" ")} (shared with other work), Linux ${os.release()}, Node ${process.version}. Server pinned to CPU 0, client to CPU 1.`,
    "",
    `Method: ${rounds} rounds of ${secs} s per point after a 0.5 s warm-up; both ends of a point run the variant (sockRecvInto / sockSendall ping-pong; node:net: write / 'data'), one message outstanding per connection. Round trips per second: medians over rounds; ratio = median of the per-round ratios ours / node:net (range: lowest-highest round). CPU: the client process's user + system time per round trip (process.cpuUsage over the window), medians; CPU ratio = median of per-round ratios (lower is better). Load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(" / ")}. Wall time: ${Math.round((Date.now() - started) / 1000)} s.`,
    "",
    "| point | ours rt/s | node:net rt/s | ratio | rounds | ours CPU us/rt | node:net CPU us/rt | CPU ratio |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
  console.log(text);
  if (flag("--write")) console.log(`written to ${writeSection("readiness-bench", "perf/readiness-bench.mjs", text)}`);
}
