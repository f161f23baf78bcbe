// subprocess-bench: ringloop's subprocesses (uring, fallback) against node:child_process,
// and the pipe workload against a C program (the physical reference).
//
//   npm run build:ts && node perf/subprocess-bench.mjs [--rounds 5] [--quick] [--write]
//        [--gib 1] [--spawns 1000] [--only pipe,spawn] [--variants uring,fallback,node,cref,cref-pipe2]
//
// Workloads (one fresh process per variant and point: perf/subprocess-variant.mjs, or
// perf/bin/cat-ref; order rotated every round; medians over rounds, ratios the median of
// per-round ratios, since the machine is shared):
//   pipe   1 GiB through `cat` as a subprocess: written to its stdin from one reused 1 MiB
//          buffer with flow control, its stdout counted. MB/s (1e6 bytes/s, spawn to exit),
//          and CPU seconds per GiB of the variant's process and cat together (user + sys,
//          /usr/bin/time: cat is reaped by the variant, so its time is counted).
//   spawn  1,000 `true` children one after another, each awaited to its end (stdio pipes,
//          the default on both sides): microseconds per child.
// Variants: uring / fallback (loop.subprocessExec + pipe transports), node
// (child_process.spawn, the source stream.pipe()'d into child.stdin), cref (pipe only:
// perf/cat-ref.c, plain C: posix_spawn, poll, read/write with 1 MiB buffers, the child's
// stdio socket pairs as ringloop's and libuv's are), cref-pipe2 (the same over pipe(2)).
// No pinning: the child (cat) and the parent each need a CPU, and on this shared machine a
// pinned pair measured slower and noisier than the scheduler's placement.
import { spawnSync, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { writeSection } from "./results-writer.mjs";
import { benchArgs, median } from "./bench-util.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { argv, flag, opt } = benchArgs();
const QUICK = flag("--quick");
const ROUNDS = Number(opt("--rounds", QUICK ? "1" : "5"));
const BYTES = Math.round(Number(opt("--gib", QUICK ? "0.25" : "1")) * 1024 ** 3);
const SPAWNS = Number(opt("--spawns", QUICK ? "200" : "1000"));
const ONLY = opt("--only", "pipe,spawn").split(",");
const VARIANTS = opt("--variants", "uring,fallback,node,cref,cref-pipe2").split(",");
const C_VARIANTS = new Set(["cref", "cref-pipe2"]);
const CAT = ["cat"];

function buildC() {
  const bin = path.join(HERE, "bin", "cat-ref");
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(path.join(HERE, "cat-ref.c")).mtimeMs) {
    execFileSync("sh", [path.join(HERE, "build.sh")], { stdio: "inherit" });
  }
  return bin;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "ringloop-subprocess-bench-"));

/** Runs one point under /usr/bin/time; returns its JSON plus cpu (user + sys seconds). */
function point(variant, workload) {
  const timeFile = path.join(tmp, "time");
  const cmd = C_VARIANTS.has(variant)
      ? [buildC(), String(BYTES), ...CAT]
      : [process.execPath, path.join(HERE, "subprocess-variant.mjs"), variant, workload, String(workload === "pipe" ? BYTES : SPAWNS), JSON.stringify(CAT)];
  const env = { ...process.env, RINGLOOP_BACKEND: "" };
  if (variant === "cref-pipe2") env.CAT_REF_PIPE2 = "1";
  const r = spawnSync("/usr/bin/time", ["-o", timeFile, "-f", "%U %S", ...cmd], { encoding: "utf8", env });
  if (r.status !== 0) throw new Error(`${variant} ${workload} failed (${r.status}): ${r.stderr}`);
  const [user, sys] = readFileSync(timeFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
  return { ...JSON.parse(r.stdout.trim().split("\n").pop()), cpu: user + sys };
}

function rotate(list, k) {
  return list.map((_, i) => list[(i + k) % list.length]);
}

function measure(workload, variants) {
  const samples = Object.fromEntries(variants.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of rotate(variants, round)) {
      const s = point(v, workload);
      samples[v].push(s);
      process.stderr.write(`${workload} round ${round + 1} ${v}: ${JSON.stringify(s)}\n`);
    }
  }
  return samples;
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "—");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "—");

/** Median over rounds of ours / base of the same round (`higher`: the bigger number wins). */
function ratio(samples, ours, base, key, higher) {
  const n = Math.min(samples[ours]?.length ?? 0, samples[base]?.length ?? 0);
  const rs = [];
  for (let i = 0; i < n; i++) rs.push(higher ? samples[ours][i][key] / samples[base][i][key] : samples[base][i][key] / samples[ours][i][key]);
  return median(rs);
}

const lines = [];
const started = Date.now();
if (ONLY.includes("pipe")) {
  const variants = VARIANTS;
  const s = measure("pipe", variants);
  lines.push(`### pipe: ${BYTES / 1024 ** 3} GiB through cat (MB/s, higher is better)`, "");
  lines.push("| variant | MB/s (median) | CPU s per GiB (variant + cat) | vs node | vs cref | target |", "|---|---|---|---|---|---|");
  for (const v of variants) {
    const mbps = median(s[v].map((x) => x.mbps));
    const cpu = median(s[v].map((x) => (x.cpu * 1024 ** 3) / BYTES));
    const vsNode = v === "node" || !s.node ? "—" : `${f2(ratio(s, v, "node", "mbps", true))}x`;
    const vsC = C_VARIANTS.has(v) || !s.cref ? "—" : `${f2(ratio(s, v, "cref", "mbps", true))}x`;
    const target = v === "uring" ? ">= 1.5x node" : "—";
    lines.push(`| ${v} | ${f1(mbps)} | ${f2(cpu)} | ${vsNode} | ${vsC} | ${target} |`);
  }
  lines.push("", "Per-round MB/s:", "", "```");
  for (const v of variants) lines.push(`  ${v.padEnd(9)} ${s[v].map((x) => f1(x.mbps)).join("  ")}`);
  lines.push("```", "");
}
if (ONLY.includes("spawn")) {
  const variants = VARIANTS.filter((v) => !C_VARIANTS.has(v));
  const s = measure("spawn", variants);
  lines.push(`### spawn: ${SPAWNS} \`true\` children one after another (us per child, lower is better)`, "");
  lines.push("| variant | us per child (median) | CPU ms per child (variant + children) | time vs node | target |", "|---|---|---|---|---|");
  for (const v of variants) {
    const us = median(s[v].map((x) => x.usPerSpawn));
    const cpu = median(s[v].map((x) => (x.cpu * 1000) / SPAWNS));
    const vsNode = v === "node" ? "—" : `${f2(1 / ratio(s, v, "node", "usPerSpawn", false))}x`;
    lines.push(`| ${v} | ${f1(us)} | ${f2(cpu)} | ${vsNode} | ${v === "uring" ? "<= 1.0x (no slower)" : "—"} |`);
  }
  lines.push("", "Per-round us per child:", "", "```");
  for (const v of variants) lines.push(`  ${v.padEnd(9)} ${s[v].map((x) => f1(x.usPerSpawn)).join("  ")}`);
  lines.push("```", "");
}
rmSync(tmp, { recursive: true, force: true });

const load = os.loadavg().map((x) => x.toFixed(1)).join(", ");
const header = [
  "## subprocess-bench (generated)",
  "",
  "```",
  `cd /work/main && npm run build:ts && node perf/subprocess-bench.mjs ${argv.join(" ")}`.trimEnd(),
  "```",
  "",
  `Date: ${new Date().toISOString()}. Machine: ${os.cpus().length} x ${os.cpus()[0]?.model.trim()} (shared; load average at the end ${load}), Linux ${os.release()}, Node ${process.version}. ${ROUNDS} rounds, one fresh process per variant and point, order rotated per round; medians, ratios = median of per-round ratios. Wall time of the run: ${Math.round((Date.now() - started) / 1000)} s.`,
  "",
];
const text = [...header, ...lines].join("\n");
process.stdout.write(text + "\n");
if (flag("--write")) process.stderr.write(`written to ${writeSection("subprocess-bench", "perf/subprocess-bench.mjs", text)}\n`);
