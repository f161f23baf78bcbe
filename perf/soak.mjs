// soak: `ringloop serve` under a churn of clients for a set time, one line of figures per
// period, and a verdict. Not a benchmark: no figure here is a speed, none is asserted as a
// timing.
//
//   npm run build:ts && node perf/soak.mjs [--minutes 10] [--period S] [--backend uring|fallback]
//        [--wrk-conns 8] [--write]          (npm run soak -- --minutes 1 in CI)
//
// Load, all at once for the whole run (perf/soak-clients.mjs says what each checks):
//   wrk -t1 -c<wrk-conns> keep-alive GETs (perf/soak-wrk.lua: 4 KiB, 64 KiB, 1 MiB files,
//   index.html, a quarter single ranges), restarted every period; 2 short-connection
//   loops (one request per connection, asked-for 404 and 416 among them); 1 keep-alive
//   range loop (single and two-part ranges, bytes checked); 2 slow readers of the 16 MiB
//   file (about 4 MB/s each); 2 reset loops (RST before the answer, in the head or
//   mid-body, so often mid-sendfile).
// The server: `node bin/ringloop.cjs serve DIR --port 0 --quiet --stats 1`, its stderr
// parsed for "ringloop serve: stats {json}" lines (requests, connections, openConnections,
// opsInFlight). RSS (VmRSS) and the fd count are read from /proc/<pid>.
//
// Phases: a warm-up period; a pause (clients stopped, connections drained) where the idle
// fds and RSS are taken; the measured periods; the same pause at the end; then SIGTERM.
//
// Pass rules (the verdict line states each with its figures; exit 1 on FAIL):
//   1. errors: 0 (a status not asked for, a wrong or short body, a client connection
//      error other than the resets asked for, wrk non-2xx/3xx or socket errors, a line on
//      the server's stderr that is not a stats or the stop line).
//   2. RSS flat: the last period's RSS is within max(15%, 16 MiB) of the first measured
//      period's (after the warm-up).
//   3. fds flat: the idle fd count at the end is at most the idle count after the warm-up
//      plus 4 (the open-file cache may hold a file it had not opened yet).
//   4. ops in flight: 0 in the server's last stats line (printed after its graceful stop),
//      and the server exits 0.
import { spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs } from "./bench-util.mjs";
import { writeSection } from "./results-writer.mjs";
import { Counters, runLoops, shortIteration, rangeIteration, slowIteration, resetIteration } from "./soak-clients.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);
const { flag, opt } = benchArgs();
const MINUTES = Number(opt("--minutes", "10"));
const PERIOD = Number(opt("--period", String(Math.min(60, (MINUTES * 60) / 6))));
const BACKEND = opt("--backend", null);
const WRK_CONNS = Number(opt("--wrk-conns", "8"));
for (const [name, v] of [["--minutes", MINUTES], ["--period", PERIOD], ["--wrk-conns", WRK_CONNS]]) {
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a positive number, got ${v}`);
}
if (BACKEND !== null && BACKEND !== "uring" && BACKEND !== "fallback") throw new RangeError(`--backend must be uring or fallback, got ${BACKEND}`);
const PERIODS = Math.max(2, Math.round((MINUTES * 60) / PERIOD));
const MiB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeDocroot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-soak-"));
  const files = {
    "4k.bin": crypto.randomBytes(4096),
    "64k.bin": crypto.randomBytes(64 * 1024),
    "1m.bin": crypto.randomBytes(MiB),
    "big.bin": crypto.randomBytes(16 * MiB),
    "index.html": Buffer.from("<h1>soak</h1>\n"),
  };
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data);
  return { dir, files };
}

/**
 * The server process and what its stderr said. A build without --stats (it exits 2 naming
 * the option) is started again without it: then requests and connections are the clients'
 * own counts and the ops in flight are not known (the verdict says so).
 */
async function startServer(dir) {
  try {
    return await startServerWith(dir, true);
  } catch (err) {
    if (!/unknown option "--stats"/.test(err.message)) throw err;
    console.log("soak: this build's serve has no --stats: requests and connections are the clients' counts, ops in flight unknown");
    return startServerWith(dir, false);
  }
}

function startServerWith(dir, withStats) {
  const args = [path.join(ROOT, "bin/ringloop.cjs"), "serve", dir, "--host", "127.0.0.1", "--port", "0", "--quiet", ...(withStats ? ["--stats", "1"] : [])];
  if (BACKEND !== null) args.push("--backend", BACKEND);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const server = { child, pid: child.pid, withStats, stats: null, statsLines: 0, unexpected: [], stopLine: null, banner: null };
  let err = "";
  child.stderr.on("data", (d) => {
    err += d.toString();
    let nl;
    while ((nl = err.indexOf("\n")) >= 0) {
      const line = err.slice(0, nl);
      err = err.slice(nl + 1);
      if (line.startsWith("ringloop serve: stats ")) {
        server.stats = JSON.parse(line.slice("ringloop serve: stats ".length));
        server.statsLines++;
      } else if (line.startsWith("ringloop serve: stopped after ")) server.stopLine = line;
      else if (line !== "") server.unexpected.push(line);
    }
  });
  const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d.toString();
      const m = /^ringloop serve: (http:\/\/\S+) \(backend (\w+)/m.exec(out);
      if (m !== null && server.banner === null) {
        server.banner = { url: m[1], backend: m[2], port: Number(new URL(m[1]).port) };
        resolve(server);
      }
    });
    exited.then(({ code }) => reject(new Error(`server exited (${code}) before its banner: ${server.unexpected.join("\n")}${err}`)));
  });
  server.exited = exited;
  return ready;
}

function procFigures(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return { rssMiB: rssKb / 1024, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

/** wrk for `secs` seconds: requests and its error counts. */
function runWrk(url, secs) {
  return new Promise((resolve) => {
    const args = ["-t1", `-c${WRK_CONNS}`, `-d${secs}s`, "--timeout", "10s", "-s", path.join(HERE, "soak-wrk.lua"), url];
    const p = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => {
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const socketErrors = sock === null ? 0 : sock.slice(1).reduce((n, x) => n + Number(x), 0);
      const broken = code !== 0 || !Number.isFinite(requests);
      resolve({ requests: broken ? 0 : requests, errors: non2xx + socketErrors + (broken ? 1 : 0), text: broken ? out.trim() : sock?.[0] ?? "" });
    });
  });
}

/** Waits until the server has no connection open (its stats say so), at most `ms`. */
async function drained(server, ms) {
  if (!server.withStats) {
    await sleep(3000);
    return null;
  }
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (server.stats !== null && server.stats.openConnections === 0 && server.stats.sending === 0) break;
    await sleep(200);
  }
  await sleep(1200); // one more stats line taken while idle
  return server.stats;
}

const fmtMiB = (x) => `${x.toFixed(1)} MiB`;

async function main() {
  if (spawnSync("sh", ["-c", "command -v wrk"]).status !== 0) throw new Error("wrk not found (apt-get install -y wrk)");
  const { dir, files } = makeDocroot();
  const server = await startServer(dir);
  const { port, url, backend } = server.banner;
  console.log(`soak: ${url} (backend ${backend}, pid ${server.pid}), ${MINUTES} min: ${PERIODS} periods of ${PERIOD} s, the first a warm-up; node ${process.version}, ${os.cpus().length} CPUs, kernel ${os.release()}`);
  const counters = new Counters();
  const state = { running: true };
  const ctx = { port, files, counters, state, timeoutMs: 30_000, seq: 0, slowBytesPerSec: 4 * MiB, bigHash: crypto.createHash("sha256").update(files["big.bin"]).digest("hex") };
  const startClients = () => {
    state.running = true;
    return Promise.all([
      runLoops(state, 2, () => shortIteration(ctx)),
      runLoops(state, 1, () => rangeIteration(ctx)),
      runLoops(state, 2, () => slowIteration(ctx)),
      runLoops(state, 2, () => resetIteration(ctx)),
    ]);
  };
  const rows = [];
  let idleAfterWarmup = null;
  let lastServer = { requests: 0, connections: 0 };
  let clients = startClients();
  for (let i = 0; i < PERIODS; i++) {
    const w = await runWrk(url, PERIOD);
    const clientRequests = counters.requests + w.requests;
    const s = server.withStats
      ? server.stats
      : { requests: lastServer.requests + clientRequests, connections: lastServer.connections + counters.connections + WRK_CONNS, openConnections: "?", opsInFlight: "?" };
    const proc = procFigures(server.pid);
    const row = {
      period: i + 1,
      warmup: i === 0,
      requests: s.requests - lastServer.requests,
      connections: s.connections - lastServer.connections,
      errors: counters.errors + w.errors,
      resets: counters.resets,
      asked: counters.asked,
      rssMiB: proc.rssMiB,
      fds: proc.fds,
      openConnections: s.openConnections,
      opsInFlight: s.opsInFlight,
      clientRequests,
      firstErrors: [...counters.firstErrors, ...(w.errors > 0 ? [`wrk: ${w.text}`] : [])],
    };
    lastServer = s;
    counters.reset();
    rows.push(row);
    console.log(
      `soak: ${row.warmup ? "warm-up" : "period"} ${row.period}/${PERIODS} (${PERIOD} s): requests ${row.requests} (clients counted ${row.clientRequests}), connections ${row.connections}, ` +
        `errors ${row.errors}, resets ${row.resets}, asked-for 404/416 ${row.asked}, RSS ${fmtMiB(row.rssMiB)}, fds ${row.fds}, open connections ${row.openConnections}, ops in flight ${row.opsInFlight}`,
    );
    for (const e of row.firstErrors) console.log(`soak:   error: ${e}`);
    if (i === 0) {
      state.running = false;
      await clients;
      const st = await drained(server, 20_000);
      idleAfterWarmup = { ...procFigures(server.pid), opsInFlight: st?.opsInFlight ?? "?", openConnections: st?.openConnections ?? "?" };
      console.log(`soak: idle after warm-up: RSS ${fmtMiB(idleAfterWarmup.rssMiB)}, fds ${idleAfterWarmup.fds}, open connections ${idleAfterWarmup.openConnections}, ops in flight ${idleAfterWarmup.opsInFlight}`);
      if (server.withStats) lastServer = server.stats;
      clients = startClients();
    }
  }
  state.running = false;
  await clients;
  const lateErrors = counters.errors;
  const st = await drained(server, 20_000);
  const idleEnd = { ...procFigures(server.pid), opsInFlight: st?.opsInFlight ?? "?", openConnections: st?.openConnections ?? "?" };
  console.log(`soak: idle at the end: RSS ${fmtMiB(idleEnd.rssMiB)}, fds ${idleEnd.fds}, open connections ${idleEnd.openConnections}, ops in flight ${idleEnd.opsInFlight}`);
  server.child.kill("SIGTERM");
  const killer = setTimeout(() => server.child.kill("SIGKILL"), 30_000);
  const exit = await server.exited;
  clearTimeout(killer);
  await sleep(50);
  const finalStats = server.stats;
  fs.rmSync(dir, { recursive: true, force: true });

  const measured = rows.filter((r) => !r.warmup);
  const first = measured[0];
  const last = measured[measured.length - 1];
  const errors = rows.reduce((n, r) => n + r.errors, 0) + lateErrors + server.unexpected.length;
  const rssLimit = first.rssMiB + Math.max(0.15 * first.rssMiB, 16);
  const fdLimit = idleAfterWarmup.fds + 4;
  const checks = [
    [`errors 0`, errors === 0, `${errors}${server.unexpected.length ? ` (server stderr: ${server.unexpected.slice(0, 3).join(" | ")})` : ""}`],
    [`RSS flat: last period <= first measured + max(15%, 16 MiB)`, last.rssMiB <= rssLimit, `${fmtMiB(last.rssMiB)} vs ${fmtMiB(first.rssMiB)} (limit ${fmtMiB(rssLimit)})`],
    [`fds flat: idle at the end <= idle after warm-up + 4`, idleEnd.fds <= fdLimit, `${idleEnd.fds} vs ${idleAfterWarmup.fds}`],
    server.withStats
      ? [`ops in flight 0 after the graceful stop`, finalStats !== null && finalStats.opsInFlight === 0, `${finalStats?.opsInFlight ?? "no stats line"}`]
      : [`ops in flight 0 after the graceful stop: NOT CHECKED (serve has no --stats in this build)`, true, "unknown"],
    [`server exit 0 on SIGTERM`, exit.code === 0, `code ${exit.code}, signal ${exit.signal}`],
  ];
  const pass = checks.every(([, ok]) => ok);
  for (const [rule, ok, figure] of checks) console.log(`soak: ${ok ? "ok  " : "FAIL"} ${rule}: ${figure}`);
  const ring = finalStats?.metrics?.[0]?.uring;
  if (ring !== undefined) {
    console.log(`soak: the server's ring over the run: ${ring.sqesSubmitted} SQEs, ${ring.cqesReaped} CQEs, ${ring.enterCalls} io_uring_enter, ${ring.wakeups} wake-ups, ${ring.cqOverflows} CQ overflows (${ring.cqDropped} dropped), ${ring.sqFull} SQ-full flushes, ${ring.enobufsRearms} ENOBUFS re-arms`);
  }
  const total = rows.reduce((n, r) => n + r.requests, 0);
  console.log(`soak: ${pass ? "PASS" : "FAIL"}: ${total} requests, ${rows.reduce((n, r) => n + r.connections, 0)} connections, ${rows.reduce((n, r) => n + r.resets, 0)} resets, ${server.stopLine ?? "no stop line"}`);
  if (flag("--write")) {
    const file = writeSection(`soak-${backend}`, "perf/soak.mjs", resultsText({ rows, idleAfterWarmup, idleEnd, finalStats, checks, pass, backend }));
    console.log(`soak: wrote ${file}`);
  }
  return pass ? 0 : 1;
}

/** The checkout's commit (with "+changes" when the tree differs from it), for RESULTS.md. */
function gitCommit() {
  const rev = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  if (rev.status !== 0) return "unknown";
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).stdout.trim() !== "";
  return `${rev.stdout.trim()}${dirty ? "+changes" : ""}`;
}

function resultsText({ rows, idleAfterWarmup, idleEnd, finalStats, checks, pass, backend }) {
  const lines = [
    `## soak: \`ringloop serve\` under churn (${MINUTES} min, backend ${backend})`,
    "",
    "```",
    `npm run build:ts && node perf/soak.mjs --minutes ${MINUTES}${BACKEND ? ` --backend ${BACKEND}` : ""} --write`,
    "```",
    "",
    `${new Date().toISOString().slice(0, 10)}, commit ${gitCommit()}, node ${process.version}, kernel ${os.release()}, ${os.cpus().length} CPUs (shared machine). Per period of ${PERIOD} s: requests and connections the server counted (its stats lines), errors, resets asked for, and the server's RSS, fds, open connections and ops in flight at the period's end.`,
    "",
    "| period | requests | connections | errors | resets | RSS | fds | open conns | ops in flight |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.period}${r.warmup ? " (warm-up)" : ""} | ${r.requests} | ${r.connections} | ${r.errors} | ${r.resets} | ${fmtMiB(r.rssMiB)} | ${r.fds} | ${r.openConnections} | ${r.opsInFlight} |`),
    "",
    `Idle (clients stopped, connections drained): after the warm-up RSS ${fmtMiB(idleAfterWarmup.rssMiB)}, ${idleAfterWarmup.fds} fds, ${idleAfterWarmup.opsInFlight} ops in flight; at the end RSS ${fmtMiB(idleEnd.rssMiB)}, ${idleEnd.fds} fds, ${idleEnd.opsInFlight} ops in flight. After SIGTERM: ${finalStats?.opsInFlight ?? "?"} ops in flight.`,
    "",
    ...checks.map(([rule, ok, figure]) => `- ${ok ? "ok" : "FAIL"}: ${rule}: ${figure}`),
    "",
    `Verdict: ${pass ? "PASS" : "FAIL"}.`,
    ...(finalStats?.metrics?.[0]?.uring ? ["", `The server's ring over the run (loop.metrics() in its last stats line): ${JSON.stringify(Object.fromEntries(Object.entries(finalStats.metrics[0].uring).filter(([, v]) => typeof v === "number")))}.`] : []),
  ];
  return lines.join("\n");
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`soak: ${err.stack ?? err}`);
    process.exit(1);
  },
);
