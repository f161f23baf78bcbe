// net-bench: ringloop's stream servers (uring, fallback) against node:net and node:http, in ONE run.
//
//   npm run build:ts && node perf/net-bench.mjs [--rounds 5] [--quick] [--write]
//        [--only echo,http,rss] [--variants uring,ubuf,fallback,net,http,cref]
//        [--echo-secs 2] [--wrk-secs 10] [--idle 10000]
//        [--max-other 0.15] [--retries 2] [--budget 360] [--base DIR]
// A point during which other processes took more than --max-other of CPU 0 is run again.
// --base DIR adds the variant "base": the uring server of another checkout (built, e.g. a
// git worktree of an earlier commit), so a change is measured A/B in one run, each point
// of both builds seconds apart (rows "vs base" in the table).
//
// Every server is its own process pinned to CPU 0 (taskset -c 0); every load generator is
// pinned to CPU 1. Servers are perf/servers/*.mjs and use only public APIs, plus cref: the
// plain C liburing echo server perf/uring-echo-ref.c, the ceiling for the uring rows, and ubuf:
// the uring echo as a BufferedProtocol (reads land in the connection's own buffer, no Buffer
// per chunk; uvloop's echo benchmark has the same two modes). All servers of
// a workload stay up together (an idle server costs nothing); each point runs the variants
// back to back, order rotated every round. Reported values are medians over rounds; ratios
// are the median of the per-round ratios (ours / baseline measured seconds apart), since the
// machine is shared and absolute numbers drift.
//
// Workloads:
//   echo  perf/bin/echo-load (C, epoll, closed loop: one message outstanding per connection)
//         for 64 B and 16 KiB messages over 1 and 100 connections: rps, p50/p99 round trip,
//         server CPU (utime+stime from /proc/<server>/stat, all threads) per op, read by the
//         load generator at the edges of its measured window (after a 0.5 s warm-up).
//   http  wrk -t1 -c100 --latency against a keep-alive "hello world" responder: ringloop
//         transports and node:net run the same minimal parser (servers/http-common.mjs),
//         node:http its own; server CPU per request from /proc around the measured wrk run
//         (each server gets one 1 s wrk warm-up run first).
//   rss   VmRSS of the echo server before and after 10,000 idle connections (each has
//         round-tripped one byte, so the server has accepted and set it up): delta per
//         connection. The server is warmed with 1 s of echo load first.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, statSync, openSync, closeSync, mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { writeSection } from "./results-writer.mjs";
import { benchArgs, median } from "./bench-util.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);
const LOADGEN = path.join(HERE, "bin", "echo-load");

const { argv, flag, opt } = benchArgs();
const QUICK = flag("--quick");
const ROUNDS = Number(opt("--rounds", QUICK ? "1" : "5"));
const ECHO_SECS = Number(opt("--echo-secs", QUICK ? "1" : "2"));
const WRK_SECS = Number(opt("--wrk-secs", QUICK ? "2" : "10"));
const IDLE = Number(opt("--idle", QUICK ? "2000" : "10000"));
const ONLY = opt("--only", "echo,http,rss").split(",");
const BASE = opt("--base", "");
const VARIANTS = opt("--variants", "uring,ubuf,fallback,net,http,cref").split(",");
if (BASE !== "") {
  if (!existsSync(path.join(BASE, "perf", "servers", "ringloop-server.mjs"))) throw new Error(`--base ${BASE}: no perf/servers/ringloop-server.mjs there`);
  if (!VARIANTS.includes("base")) VARIANTS.push("base");
}
// A point during which other processes used more than MAX_OTHER of CPU 0 is run again (up to
// RETRIES more times, while the run is younger than BUDGET_S); the least disturbed attempt counts.
const MAX_OTHER = Number(opt("--max-other", "0.15"));
const RETRIES = Number(opt("--retries", QUICK ? "0" : "2"));
const BUDGET_S = Number(opt("--budget", "360"));
const T_START = Date.now();
for (const [name, v] of [["--rounds", ROUNDS], ["--echo-secs", ECHO_SECS], ["--wrk-secs", WRK_SECS], ["--idle", IDLE]]) {
  if (!(v > 0)) throw new RangeError(`${name} must be a positive number`);
}

const ECHO_CONFIGS = [
  { key: "64x1", size: 64, conns: 1, label: "echo 64 B x1" },
  { key: "64x100", size: 64, conns: 100, label: "echo 64 B x100" },
  { key: "16kx1", size: 16384, conns: 1, label: "echo 16 KiB x1" },
  { key: "16kx100", size: 16384, conns: 100, label: "echo 16 KiB x100" },
];
const VARIANT_LABEL = {
  uring: "ringloop uring",
  ubuf: "ringloop uring, BufferedProtocol",
  fallback: "ringloop fallback",
  net: "node:net",
  http: "node:http",
  cref: "C liburing reference",
  base: `ringloop uring, base build (${BASE})`,
};
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const NOFILE = Number(spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).stdout.trim()) || 4096;
const LOGDIR = mkdtempSync(path.join(os.tmpdir(), "net-bench-"));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs perf/build.sh when a C helper (load generator, C reference server) is missing or stale. */
function buildLoadgen() {
  const fresh = (bin, src) => existsSync(bin) && statSync(bin).mtimeMs >= statSync(path.join(HERE, src)).mtimeMs;
  if (fresh(LOADGEN, "echo-load.c") && fresh(path.join(HERE, "bin", "uring-echo-ref"), "uring-echo-ref.c")) return;
  const r = spawnSync("sh", [path.join(HERE, "build.sh")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("perf/build.sh failed");
}

function checkTools() {
  for (const tool of ["taskset", "prlimit", "wrk"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
      throw new Error(`${tool} is not installed (apt-get install -y ${tool === "wrk" ? "wrk" : "util-linux"})`);
    }
  }
}

/** utime+stime of a process in microseconds. */
function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK; // fields 14 and 15 of stat(5)
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

const node = (script, ...args) => [process.execPath, path.join(HERE, script), ...args];
/** Each variant's server command line; cref (perf/uring-echo-ref.c) serves echo only. */
const SERVER_ARGS = {
  uring: (mode) => node("servers/ringloop-server.mjs", "uring", mode),
  ubuf: () => node("servers/ringloop-server.mjs", "uring", "buffered"),
  fallback: (mode) => node("servers/ringloop-server.mjs", "fallback", mode),
  net: (mode) => node("servers/net-server.mjs", mode),
  http: () => node("servers/http-server.mjs"),
  cref: () => [path.join(HERE, "bin", "uring-echo-ref")],
  base: (mode) => [process.execPath, path.join(BASE, "perf", "servers", "ringloop-server.mjs"), "uring", mode],
};
/** Variants that have no HTTP server. */
const ECHO_ONLY = new Set(["cref", "ubuf"]);

/** Starts a server pinned to CPU 0; resolves { child, pid, port } or rejects with its stderr. */
async function startServer(variant, mode) {
  const log = path.join(LOGDIR, `${variant}-${mode}.stderr`);
  const errFd = openSync(log, "w");
  const script = SERVER_ARGS[variant](mode);
  const child = spawn(
    "prlimit",
    [`--nofile=${NOFILE}`, "taskset", "-c", "0", ...script],
    { cwd: HERE, stdio: ["ignore", "pipe", errFd] },
  );
  closeSync(errFd);
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const fail = (why) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      const lines = readFileSync(log, "utf8").trim().split("\n");
      const err = lines.find((l) => /^\w*Error\b|^Error:/.test(l)) ?? lines.slice(0, 3).join(" ");
      reject(new Error(`${VARIANT_LABEL[variant]} server ${why}${err ? `:\n${err}` : ""}`));
    };
    const timer = setTimeout(() => fail("did not print its port within 10 s"), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      try {
        resolve(JSON.parse(out.slice(0, nl)).port);
      } catch {
        fail(`printed ${JSON.stringify(out.slice(0, nl))}`);
      }
    });
    child.once("exit", (code, sig) => fail(`exited (${sig ?? code})`));
  });
  return { child, pid: child.pid, port };
}

async function stopServer(srv) {
  if (srv.child.exitCode !== null || srv.child.signalCode !== null) return;
  const exited = new Promise((r) => srv.child.once("exit", r));
  srv.child.kill("SIGTERM");
  const t = setTimeout(() => srv.child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(t);
}

function echoLoad(port, cfg, pid, secs, warmup = 1) {
  const args = ["-c", "1", LOADGEN, "--port", String(port), "--conns", String(cfg.conns), "--size", String(cfg.size),
    "--duration", String(secs), "--warmup", String(warmup)];
  if (pid) args.push("--stat-pid", String(pid));
  const r = spawnSync("taskset", args, { encoding: "utf8", timeout: (secs + warmup + 20) * 1000 });
  if (r.status !== 0) throw new Error(`echo-load ${cfg.key} failed (${r.status ?? r.signal}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

function parseDuration(s) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s);
  if (!m) return NaN;
  return Number(m[1]) * { us: 1, ms: 1e3, s: 1e6, m: 60e6 }[m[2]];
}

function wrk(port, secs) {
  const r = spawnSync("taskset", ["-c", "1", "wrk", "-t1", "-c100", `-d${secs}s`, "--latency", `http://127.0.0.1:${port}/`],
    { encoding: "utf8", timeout: (secs + 20) * 1000 });
  if (r.status !== 0) throw new Error(`wrk failed (${r.status ?? r.signal}): ${r.stderr.trim()}`);
  const out = r.stdout;
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : 0;
  };
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out);
    return m ? parseDuration(m[1]) : NaN;
  };
  const requests = num(/(\d+) requests in/);
  const errors = num(/Non-2xx or 3xx responses: (\d+)/) +
    (/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
  return { rps: num(/Requests\/sec:\s+([\d.]+)/), p50_us: pct(50), p99_us: pct(99), ops: requests, errors };
}

// ------------------------------------------------------------------ workloads

/** results[workload][variant] = array of per-round samples (null when the variant failed). */
const results = { echo: {}, http: {}, rss: {} };
const failures = {};
const push = (w, v, s) => ((results[w][v] ??= []).push(s));
const rotate = (xs, r) => xs.map((_, i) => xs[(i + r) % xs.length]);

/** Busy and total ticks of one CPU from /proc/stat (to show how much else ran there). */
function cpuTicks(cpu) {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(`cpu${cpu} `));
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  // Task time only: irq/softirq (loopback packet processing, charged to no task) is left out.
  return { busy: f[0] + f[1] + f[2] + f[7], total };
}

/** Runs fn() and adds `other_cpu0`: the share of CPU 0 used by anything but the server meanwhile. */
function withInterference(pid, fn) {
  const t0 = cpuTicks(0);
  const s0 = cpuMicros(pid);
  const s = fn();
  const t1 = cpuTicks(0);
  const serverTicks = ((cpuMicros(pid) - s0) * CLK_TCK) / 1e6;
  const total = t1.total - t0.total;
  s.other_cpu0 = total > 0 ? Math.max(0, (t1.busy - t0.busy - serverTicks) / total) : NaN;
  return s;
}

/** Runs a measuring point, again while it was disturbed (see MAX_OTHER); keeps the least disturbed sample. */
function leastDisturbed(pid, fn, retries = RETRIES) {
  let best = withInterference(pid, fn);
  for (let i = 0; i < retries && best.other_cpu0 > MAX_OTHER && (Date.now() - T_START) / 1000 < BUDGET_S; i++) {
    spawnSync("sleep", ["1"]);
    const s = withInterference(pid, fn);
    if (s.other_cpu0 < best.other_cpu0) best = s;
  }
  return best;
}

/** Starts one server per variant (all pinned to CPU 0; only the one under load is busy). */
async function startAll(variants, mode) {
  const servers = {};
  for (const v of variants) {
    if (failures[`${mode}/${v}`]) continue;
    try {
      servers[v] = await startServer(v, mode);
    } catch (e) {
      failures[`${mode}/${v}`] = e.message;
    }
  }
  return servers;
}

async function stopAll(servers) {
  for (const srv of Object.values(servers)) await stopServer(srv);
}

// Echo: every variant's server stays up for the whole workload; the points of one round and
// one config run back to back (variant order rotated), so each paired ratio compares
// measurements seconds apart.
async function echoWorkload() {
  const servers = await startAll(VARIANTS.filter((x) => x !== "http"), "echo");
  try {
    for (const [v, srv] of Object.entries(servers)) {
      try {
        for (const cfg of ECHO_CONFIGS) echoLoad(srv.port, cfg, 0, 1, 0);
      } catch (e) {
        failures[`echo/${v}`] = e.message;
      }
    }
    for (let r = 0; r < ROUNDS; r++) {
      const sample = {};
      ECHO_CONFIGS.forEach((cfg, ci) => {
        for (const v of rotate(Object.keys(servers), r + ci)) {
          if (failures[`echo/${v}`]) continue;
          const srv = servers[v];
          try {
            (sample[v] ??= {})[cfg.key] = leastDisturbed(srv.pid, () => echoLoad(srv.port, cfg, srv.pid, ECHO_SECS, 0.5));
          } catch (e) {
            failures[`echo/${v}`] = e.message;
          }
        }
      });
      for (const [v, smp] of Object.entries(sample)) {
        if (failures[`echo/${v}`]) continue;
        push("echo", v, smp);
        log(`echo round ${r + 1} ${v}: ` + ECHO_CONFIGS.map((c) => `${c.key} ${fmtK(smp[c.key].rps)} (${(smp[c.key].other_cpu0 * 100).toFixed(0)}% other)`).join(", "));
      }
    }
  } finally {
    await stopAll(servers);
  }
}

async function httpWorkload() {
  const servers = await startAll(VARIANTS.filter((x) => !ECHO_ONLY.has(x)), "http");
  try {
    for (const [v, srv] of Object.entries(servers)) {
      try {
        wrk(srv.port, 1);
      } catch (e) {
        failures[`http/${v}`] = e.message;
      }
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of rotate(Object.keys(servers), r)) {
        if (failures[`http/${v}`]) continue;
        const srv = servers[v];
        try {
          const s = leastDisturbed(srv.pid, () => {
            const c0 = cpuMicros(srv.pid);
            const w = wrk(srv.port, WRK_SECS);
            w.cpu_us_per_op = w.ops > 0 ? (cpuMicros(srv.pid) - c0) / w.ops : NaN;
            return w;
          }, Math.min(RETRIES, 1));
          push("http", v, s);
          log(`http round ${r + 1} ${v}: ${fmtK(s.rps)} rps, p99 ${fmtUs(s.p99_us)}, ${s.cpu_us_per_op.toFixed(2)} us CPU/req (${(s.other_cpu0 * 100).toFixed(0)}% other)`);
        } catch (e) {
          failures[`http/${v}`] = e.message;
        }
      }
    }
  } finally {
    await stopAll(servers);
  }
}

async function rssRound(r) {
  for (const v of rotate(VARIANTS.filter((x) => x !== "http" && !ECHO_ONLY.has(x)), r)) {
    if (failures[`rss/${v}`]) continue;
    let srv;
    let idle;
    try {
      srv = await startServer(v, "echo");
    } catch (e) {
      failures[`rss/${v}`] = e.message;
      continue;
    }
    try {
      echoLoad(srv.port, { conns: 10, size: 64, key: "warm" }, 0, 1, 0);
      await sleep(300);
      const before = rssKiB(srv.pid);
      idle = spawn("prlimit", [`--nofile=${NOFILE}`, "taskset", "-c", "1", LOADGEN, "--port", String(srv.port),
        "--idle", String(IDLE), "--hold", "60"], { stdio: ["pipe", "pipe", "pipe"] });
      await new Promise((resolve, reject) => {
        let out = "";
        let err = "";
        const t = setTimeout(() => reject(new Error(`idle client not ready in 30 s: ${err.trim()}`)), 30_000);
        idle.stderr.on("data", (d) => (err += d));
        idle.stdout.on("data", (d) => {
          out += d;
          if (out.includes("\n")) {
            clearTimeout(t);
            resolve();
          }
        });
        idle.once("exit", (code) => {
          clearTimeout(t);
          reject(new Error(`idle client exited (${code}): ${err.trim()}`));
        });
      });
      idle.removeAllListeners("exit");
      await sleep(1000);
      const after = rssKiB(srv.pid);
      const s = { before_kib: before, after_kib: after, per_conn_bytes: ((after - before) * 1024) / IDLE };
      push("rss", v, s);
      log(`rss round ${r + 1} ${v}: ${before} -> ${after} KiB, ${s.per_conn_bytes.toFixed(0)} B/conn`);
    } catch (e) {
      failures[`rss/${v}`] = e.message;
    } finally {
      if (idle && idle.exitCode === null) {
        const gone = new Promise((r2) => idle.once("exit", r2));
        idle.stdin.end();
        const t = setTimeout(() => idle.kill("SIGKILL"), 5000);
        await gone;
        clearTimeout(t);
      }
      await stopServer(srv);
    }
  }
}

// ------------------------------------------------------------------ report

function fmtK(x) {
  if (!Number.isFinite(x)) return "—";
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(1)}k`;
}
function fmtUs(x) {
  return Number.isFinite(x) ? (x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(1)} us`) : "—";
}
const fmtCpu = (x) => (Number.isFinite(x) ? `${x.toFixed(2)} us` : "—");
const fmtBytes = (x) => (Number.isFinite(x) ? `${(x / 1024).toFixed(1)} KiB` : "—");
function log(s) {
  process.stderr.write(s + "\n");
}

/** Median over rounds of ours/base, pairing the samples of the same round. */
function pairedRatio(w, ours, base, get) {
  const a = results[w][ours] ?? [];
  const b = results[w][base] ?? [];
  const rs = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) rs.push(get(a[i]) / get(b[i]));
  return median(rs);
}
const med = (w, v, get) => median((results[w][v] ?? []).map(get));

function row(name, w, ours, base, get, fmt, target) {
  const o = med(w, ours, get);
  const b = med(w, base, get);
  const ratio = pairedRatio(w, ours, base, get);
  let met = "—";
  if (target && Number.isFinite(ratio)) met = (target.ge ? ratio >= target.ge : ratio <= target.le) ? "yes" : "**no**";
  if (target && !Number.isFinite(ratio)) met = "not measured";
  const t = target ? (target.ge ? `>= ${target.ge}x` : `<= ${target.le}x`) : "— (info)";
  return `| ${name} [${ours}] | ${fmt(o)} | ${fmt(b)} (${VARIANT_LABEL[base]}) | ${Number.isFinite(ratio) ? ratio.toFixed(2) + "x" : "—"} | ${t} | ${met} |`;
}

function report(wallSecs, command) {
  const L = [];
  L.push("## net-bench (generated)", "", "```", command, "```", "");
  L.push(`Date: ${new Date().toISOString()}. Machine: ${os.cpus().length} x ${os.cpus()[0]?.model.trim() ?? "?"} (shared), ` +
    `Linux ${os.release()}, Node ${process.version}. Servers pinned to CPU 0, load generators to CPU 1 (taskset). ` +
    `${ROUNDS} round(s); all servers of a workload stay up, each point runs the variants back to back (order rotated). ` +
    `Echo: ${ECHO_SECS} s measured after 0.5 s warm-up per point (and 1 s per config per server at start); ` +
    `wrk -t1 -c100 -d${WRK_SECS}s (one 1 s warm-up run per server at start); RSS with ${IDLE} idle connections, ` +
    `${Math.min(ROUNDS, 3)} round(s). Values are medians over rounds; ratio = median of per-round ours/baseline. ` +
    `"other CPU 0" = share of CPU 0 used by other processes during the point (the machine is shared; high values ` +
    `mean the point is disturbed); a point above ${(MAX_OTHER * 100).toFixed(0)}% was run again up to ${RETRIES} more ` +
    `time(s) (wrk: ${Math.min(RETRIES, 1)}) within a ${BUDGET_S} s budget, keeping the least disturbed attempt. ` +
    `Wall time: ${wallSecs.toFixed(0)} s.`, "");
  L.push("| name | ringloop | baseline | ratio | target | met? |", "|---|---|---|---|---|---|");
  if (ONLY.includes("echo")) {
    for (const c of ECHO_CONFIGS) {
      const rps = (s) => s[c.key].rps;
      const rpsTarget = c.key === "64x100" ? { ge: 1.7 } : c.key === "16kx100" ? { ge: 3 } : undefined;
      L.push(row(`${c.label} rps`, "echo", "uring", "net", rps, fmtK, rpsTarget));
      L.push(row(`${c.label} rps`, "echo", "fallback", "net", rps, fmtK, { ge: 0.8 }));
      const p99 = (s) => s[c.key].p99_us;
      L.push(row(`${c.label} p99`, "echo", "uring", "net", p99, fmtUs, c.conns === 1 ? { le: 1.0 } : undefined));
      const cpu = (s) => s[c.key].cpu_us_per_op;
      L.push(row(`${c.label} server CPU/op`, "echo", "uring", "net", cpu, fmtCpu, c.key === "64x100" ? { le: 0.6 } : undefined));
      for (const info of ["ubuf", "cref"]) {
        if (!VARIANTS.includes(info)) continue;
        L.push(row(`${c.label} rps`, "echo", info, "net", rps, fmtK, undefined));
        L.push(row(`${c.label} server CPU/op`, "echo", info, "net", cpu, fmtCpu, undefined));
      }
    }
  }
  if (ONLY.includes("http")) {
    const rps = (s) => s.rps;
    L.push(row("HTTP plaintext rps", "http", "uring", "net", rps, fmtK, { ge: 1.1 }));
    L.push(row("HTTP plaintext rps", "http", "uring", "http", rps, fmtK, { ge: 2 }));
    L.push(row("HTTP plaintext rps", "http", "fallback", "net", rps, fmtK, { ge: 0.8 }));
    L.push(row("HTTP plaintext rps", "http", "net", "http", rps, fmtK, undefined));
    L.push(row("HTTP plaintext server CPU/req", "http", "uring", "net", (s) => s.cpu_us_per_op, fmtCpu, undefined));
  }
  if (VARIANTS.includes("base")) {
    if (ONLY.includes("echo")) {
      for (const c of ECHO_CONFIGS) {
        L.push(row(`${c.label} rps vs base`, "echo", "uring", "base", (s) => s[c.key].rps, fmtK, undefined));
        L.push(row(`${c.label} server CPU/op vs base`, "echo", "uring", "base", (s) => s[c.key].cpu_us_per_op, fmtCpu, undefined));
      }
    }
    if (ONLY.includes("http")) L.push(row("HTTP plaintext rps vs base", "http", "uring", "base", (s) => s.rps, fmtK, undefined));
    if (ONLY.includes("rss")) L.push(row(`RSS per idle connection (${IDLE}) vs base`, "rss", "uring", "base", (s) => s.per_conn_bytes, fmtBytes, undefined));
  }
  if (ONLY.includes("rss")) {
    const per = (s) => s.per_conn_bytes;
    L.push(row(`RSS per idle connection (${IDLE})`, "rss", "uring", "net", per, fmtBytes, { le: 1.0 }));
    L.push(row(`RSS per idle connection (${IDLE})`, "rss", "fallback", "net", per, fmtBytes, undefined));
  }
  L.push("");
  L.push("All variants (medians): rps / p50 / p99 / server CPU per op", "", "| workload | variant | rps | p50 | p99 | CPU/op | errors | other CPU 0 |", "|---|---|---|---|---|---|---|---|");
  const detail = (label, w, v, get) => {
    const xs = results[w][v];
    if (!xs?.length) return;
    const m = (f) => median(xs.map((s) => f(get(s))));
    const errs = xs.reduce((a, s) => a + (get(s).errors ?? 0), 0);
    L.push(`| ${label} | ${VARIANT_LABEL[v]} | ${fmtK(m((s) => s.rps))} | ${fmtUs(m((s) => s.p50_us))} | ${fmtUs(m((s) => s.p99_us))} | ${fmtCpu(m((s) => s.cpu_us_per_op))} | ${errs} | ${(m((s) => s.other_cpu0) * 100).toFixed(0)}% |`);
  };
  for (const c of ECHO_CONFIGS) for (const v of VARIANTS) detail(c.label, "echo", v, (s) => s[c.key]);
  for (const v of VARIANTS) detail("HTTP plaintext", "http", v, (s) => s);
  for (const v of VARIANTS) {
    const xs = results.rss[v];
    if (xs?.length) L.push(`| RSS ${IDLE} idle | ${VARIANT_LABEL[v]} | before ${median(xs.map((s) => s.before_kib))} KiB | after ${median(xs.map((s) => s.after_kib))} KiB | — | — | — | — |`);
  }
  const fails = Object.entries(failures);
  if (fails.length) {
    L.push("", "Not measured:", "");
    for (const [k, msg] of fails) L.push(`- ${k}: ${msg.split("\n")[0]}${msg.includes("\n") ? " — " + msg.split("\n").slice(1).join(" ").slice(0, 300) : ""}`);
  }
  return L.join("\n");
}

// ------------------------------------------------------------------ main

async function main() {
  checkTools();
  buildLoadgen();
  if (!existsSync(path.join(ROOT, "dist", "esm", "index.mjs"))) {
    throw new Error("dist/esm/index.mjs is missing: run `npm run build:ts` first");
  }
  const t0 = Date.now();
  if (ONLY.includes("echo")) await echoWorkload();
  if (ONLY.includes("http")) await httpWorkload();
  // Memory is not disturbed by CPU contention: up to 3 rounds, one server at a time.
  if (ONLY.includes("rss")) for (let r = 0; r < Math.min(ROUNDS, 3); r++) await rssRound(r);
  const command = `cd ${ROOT} && npm run build:ts && node perf/net-bench.mjs ${argv.filter((a) => a !== "--write").join(" ")}`.trim();
  const text = report((Date.now() - t0) / 1000, command);
  process.stdout.write(text + "\n");
  writeFileSync(path.join(LOGDIR, "raw.json"), JSON.stringify({ results, failures }, null, 1));
  log(`raw samples and server stderr: ${LOGDIR}`);
  if (flag("--write")) log(`wrote ${writeSection("net-bench", "perf/net-bench.mjs", text)}`);
}

main().catch((e) => {
  process.stderr.write(`net-bench: ${e.stack ?? e}\n`);
  process.exitCode = 1;
});
