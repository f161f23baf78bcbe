// udp-bench: UDP echo of 64 B datagrams, 1 and 32 concurrent senders, on ringloop uring,
// ringloop fallback, node:dgram and a plain C recvmmsg/sendmmsg server (the physical
// reference), all in ONE run so the ratios compare like with like on a shared machine.
//
// Every server is its own process pinned to CPU 0 (taskset -c 0); the load generator
// (perf/udp-load.c, built by perf/build.sh) is pinned to CPU 1. Per round and row each
// variant gets a fresh server, 1 s of warm-up, then --secs of measurement: echoes per second
// and the server's CPU time (utime+stime from /proc) per echoed datagram. The table shows
// medians over --rounds rounds (variant order rotated per round) and ratios to node:dgram.
//
//   node perf/udp-bench.mjs [--rounds 5] [--secs 3] [--write]
// --write replaces the udp-bench section of perf/RESULTS.md.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, median, stopServer } from "./bench-util.mjs";
import { writeSection } from "./results-writer.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { flag, opt } = benchArgs();
const ROUNDS = Number(opt("--rounds", "5"));
const SECS = Number(opt("--secs", "3"));
const LOAD = path.join(HERE, "bin", "udp-load");
const CREF = path.join(HERE, "bin", "udp-echo-ref");
const SENDERS = [1, 32];
const VARIANTS = ["uring", "fallback", "node", "cref"];
const LABEL = { uring: "ringloop uring", fallback: "ringloop fallback", node: "node:dgram", cref: "C recvmmsg/sendmmsg" };

if (!existsSync(LOAD) || !existsSync(CREF)) {
  const r = spawnSync("sh", [path.join(HERE, "build.sh")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("perf/build.sh failed");
}

function serverCommand(variant) {
  if (variant === "cref") return [CREF];
  return [process.execPath, path.join(HERE, "servers", "udp-server.mjs"), variant];
}

async function startServer(variant) {
  const child = spawn("taskset", ["-c", "0", ...serverCommand(variant)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${variant} server printed no port within 10 s`)), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      resolve(JSON.parse(out.slice(0, nl)).port);
    });
    child.once("exit", (code) => reject(new Error(`${variant} server exited (${code})`)));
  });
  child.removeAllListeners("exit");
  return { child, port };
}

function load(port, senders, pid) {
  const args = ["-c", "1", LOAD, "--port", String(port), "--senders", String(senders), "--size", "64", "--duration", String(SECS), "--warmup", "1", "--stat-pid", String(pid)];
  const r = spawnSync("taskset", args, { encoding: "utf8", timeout: (SECS + 20) * 1000 });
  if (r.status !== 0) throw new Error(`udp-load failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

const results = {}; // `${variant}|${senders}` -> [{ pps, us }]
for (let round = 0; round < ROUNDS; round++) {
  const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
  for (const senders of SENDERS) {
    for (const variant of order) {
      const srv = await startServer(variant);
      // The server process is taskset's child exec: same pid.
      const r = load(srv.port, senders, srv.child.pid);
      await stopServer(srv, 3000);
      (results[`${variant}|${senders}`] ??= []).push({ pps: r.pps, us: r.server_us_per_dgram, lost: r.lost });
      process.stderr.write(`round ${round + 1}/${ROUNDS} ${senders} sender(s) ${LABEL[variant]}: ${Math.round(r.pps)} echoes/s, ${r.server_us_per_dgram.toFixed(2)} us CPU/datagram, lost ${r.lost}\n`);
    }
  }
}

const lines = [];
lines.push(`Linux ${os.release()}, Node ${process.version}, ${os.cpus().length} CPUs shared with other engineers' work. Servers pinned to CPU 0, udp-load to CPU 1 (taskset); 64 B datagrams, each sender one datagram in flight; medians of ${ROUNDS} rounds of ${SECS} s (after 1 s warm-up), variant order rotated per round.`);
lines.push("");
lines.push("Command: `sh perf/build.sh && npm run build:ts && node perf/udp-bench.mjs --rounds " + ROUNDS + " --secs " + SECS + " --write`");
lines.push("");
lines.push("| senders | variant | echoes/s | vs node:dgram | server CPU us/datagram | vs node:dgram | lost (median) |");
lines.push("|---|---|---|---|---|---|---|");
for (const senders of SENDERS) {
  const base = results[`node|${senders}`];
  const basePps = median(base.map((x) => x.pps));
  const baseUs = median(base.map((x) => x.us));
  for (const variant of VARIANTS) {
    const rs = results[`${variant}|${senders}`];
    const pps = median(rs.map((x) => x.pps));
    const us = median(rs.map((x) => x.us));
    lines.push(`| ${senders} | ${LABEL[variant]} | ${Math.round(pps)} | ${(pps / basePps).toFixed(2)}x | ${us.toFixed(2)} | ${(us / baseUs).toFixed(2)}x | ${median(rs.map((x) => x.lost))} |`);
  }
}
const table = lines.join("\n");
console.log(table);
if (flag("--write")) console.error(`wrote ${writeSection("udp-bench", "perf/udp-bench.mjs", table)}`);
