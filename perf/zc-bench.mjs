// zc-bench: io_uring SEND against SEND_ZC (UringLoopOptions.zeroCopyMin) by write size, in
// ONE run: where zero copy starts to pay is the default zeroCopyMin (README).
//
//   sh perf/build.sh && npm run build:ts && node perf/zc-bench.mjs [--rounds 5] [--mib 512]
//        [--sizes 4096,16384,65536,262144,1048576] [--write]
//
// A ringloop server (perf/servers/zc-server.mjs, taskset -c 0) sends --mib MiB per point in
// writes of SIZE to a C reader (perf/bin/tcp-sink, taskset -c 1) over loopback TCP, once
// with zero copy off (zeroCopyMin 0) and once on (zeroCopyMin 1), order alternating per
// round. Per point: MB/s at the reader, and the server's CPU time (utime+stime from /proc)
// per MiB. Medians over rounds; ratios = median of per-round zc/copy.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, median } from "./bench-util.mjs";
import { writeSection } from "./results-writer.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { argv, flag, opt } = benchArgs();
const ROUNDS = Number(opt("--rounds", "5"));
const MIB = Number(opt("--mib", "512"));
const SIZES = opt("--sizes", "4096,16384,65536,262144,1048576").split(",").map(Number);
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
}

async function startServer(zeroCopyMin) {
  const child = spawn("taskset", ["-c", "0", process.execPath, path.join(HERE, "servers", "zc-server.mjs"), String(zeroCopyMin)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)).port);
    });
    child.once("exit", (code) => reject(new Error(`zc-server exited ${code}`)));
  });
  return { child, port };
}

function point(server, size) {
  const bytes = MIB * 1024 * 1024;
  const c0 = cpuMicros(server.child.pid);
  const r = spawnSync("taskset", ["-c", "1", path.join(HERE, "bin", "tcp-sink"), String(server.port), String(bytes), String(size)], { encoding: "utf8" });
  const c1 = cpuMicros(server.child.pid);
  if (r.status !== 0) throw new Error(`tcp-sink: ${r.stderr || r.stdout}`);
  const { secs } = JSON.parse(r.stdout);
  return { mbps: bytes / 1e6 / secs, cpuPerMiB: (c1 - c0) / MIB };
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "—");

async function main() {
  const servers = { copy: await startServer(0), zc: await startServer(1) };
  const samples = {};
  try {
    for (const size of SIZES) point(servers.copy, size), point(servers.zc, size); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const size of SIZES) {
        const order = r % 2 === 0 ? ["copy", "zc"] : ["zc", "copy"];
        for (const mode of order) (samples[`${size}.${mode}`] ??= []).push(point(servers[mode], size));
      }
    }
  } finally {
    for (const s of Object.values(servers)) s.child.kill("SIGKILL");
  }
  const L = ["## zc-bench (generated)", "", "```", `sh perf/build.sh && npm run build:ts && node perf/zc-bench.mjs ${argv.filter((a) => a !== "--write").join(" ")}`.trim(), "```", ""];
  L.push(`Date: ${new Date().toISOString()}. ${os.cpus().length} x ${os.cpus()[0]?.model.trim()} (shared), Linux ${os.release()}, Node ${process.version}. Loopback TCP; sender pinned to CPU 0, reader (C) to CPU 1; ${MIB} MiB per point, ${ROUNDS} rounds, medians; ratio = median of per-round zc / copy.`, "");
  L.push("| write size | copy MB/s | zero copy MB/s | MB/s zc/copy | copy CPU us/MiB | zc CPU us/MiB | CPU/MiB zc/copy |", "|---|---|---|---|---|---|---|");
  for (const size of SIZES) {
    const c = samples[`${size}.copy`];
    const z = samples[`${size}.zc`];
    const ratio = (get) => median(c.map((s, i) => get(z[i]) / get(s)));
    L.push(`| ${size >= 1048576 ? `${size / 1048576} MiB` : `${size / 1024} KiB`} | ${fmt(median(c.map((s) => s.mbps)))} | ${fmt(median(z.map((s) => s.mbps)))} | ${ratio((s) => s.mbps).toFixed(2)}x | ${fmt(median(c.map((s) => s.cpuPerMiB)))} | ${fmt(median(z.map((s) => s.cpuPerMiB)))} | ${ratio((s) => s.cpuPerMiB).toFixed(2)}x |`);
  }
  const text = L.join("\n");
  process.stdout.write(text + "\n");
  if (flag("--write")) process.stderr.write(`wrote ${writeSection("zc-bench", "perf/zc-bench.mjs", text)}\n`);
}

main().catch((e) => {
  process.stderr.write(`zc-bench: ${e.stack ?? e}\n`);
  process.exitCode = 1;
});
