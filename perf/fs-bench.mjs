// fs-bench: ringloop's fs module (uring and fallback loops) against node:fs/promises.
//
//   npm run build:ts && node perf/fs-bench.mjs [--rounds 7] [--quick] [--write]
//        [--random-ops 20000] [--dir /tmp]
//
// HOT CACHE: both files are read once before timing, so every number measures the path
// from the page cache to JS memory (syscalls, completions, copies, Promise hops), not the
// disk. Workloads, all in this one process, variants back to back with the order rotated
// every round; values are medians over rounds, ratios the median of per-round ratios
// (ours / node:fs/promises measured moments apart: the machine is shared):
//   seq 64 MiB  readFile of a 64 MiB file, and a loop of 1 MiB FileHandle.read()s into one
//               reused buffer until EOF: MiB/s.
//   floor       no I/O: a fresh 64 MiB Buffer .fill(1): the first-touch page-fault cost of
//               the fresh buffer any readFile returns, with 4 KiB pages (node) and with the
//               buffer advised MADV_HUGEPAGE (ringloop uring's readFile).
//   rand 4 KiB  4 KiB reads at random 4 KiB-aligned offsets of a 256 MiB file, 32 in flight
//               (32 workers, each awaiting its own reads): reads/s.
// ringloop variants time inside a task of one loop per backend that lives for the whole run.
import { mkdtempSync, openSync, writeSync, closeSync, readFileSync, rmSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { randomFillSync } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { fs, getRunningLoop, UringEventLoopPolicy, FallbackEventLoopPolicy } from "../dist/esm/index.mjs";
import { writeSection } from "./results-writer.mjs";
import { benchArgs, median } from "./bench-util.mjs";

const { argv, flag, opt } = benchArgs();
const QUICK = flag("--quick");
const ROUNDS = Number(opt("--rounds", QUICK ? "2" : "7"));
const RANDOM_OPS = Number(opt("--random-ops", QUICK ? "5000" : "20000"));
const DIR = opt("--dir", os.tmpdir());
const MiB = 1024 * 1024;
const SEQ_SIZE = 64 * MiB;
const RAND_SIZE = 256 * MiB;
const CHUNK = MiB;
/** Node's default stream chunk (fs.createReadStream highWaterMark). */
const SMALL_CHUNK = 64 * 1024;
const DEPTH = 32;

function makeFile(file, size) {
  const fd = openSync(file, "w");
  const block = Buffer.allocUnsafe(4 * MiB);
  for (let at = 0; at < size; at += block.length) writeSync(fd, randomFillSync(block), 0, Math.min(block.length, size - at));
  closeSync(fd);
  readFileSync(file); // into the page cache
}

// Random offsets shared by every variant of a round (same work for all).
function offsets(n, seed) {
  const out = new Float64Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) % (RAND_SIZE / 4096)) * 4096;
  }
  return out;
}

// ---- the measured bodies; `api` is ringloop's fs or node:fs/promises (same shapes)

async function seqReadFile(api, file) {
  const t0 = performance.now();
  const buf = await api.readFile(file);
  const ms = performance.now() - t0;
  if (buf.length !== SEQ_SIZE) throw new Error(`readFile returned ${buf.length} bytes`);
  return ms;
}

async function seqReadLoop(api, file, chunk) {
  const t0 = performance.now();
  const h = await api.open(file, "r");
  const buf = Buffer.allocUnsafe(chunk);
  let total = 0;
  for (;;) {
    const { bytesRead } = await h.read(buf, 0, chunk, null);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  await h.close();
  const ms = performance.now() - t0;
  if (total !== SEQ_SIZE) throw new Error(`read loop read ${total} bytes`);
  return ms;
}

async function randomReads(api, file, offs) {
  const h = await api.open(file, "r");
  let next = 0;
  const worker = async () => {
    const buf = Buffer.allocUnsafe(4096);
    while (next < offs.length) {
      const { bytesRead } = await h.read(buf, 0, 4096, offs[next++]);
      if (bytesRead !== 4096) throw new Error(`short random read ${bytesRead}`);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: DEPTH }, worker));
  const ms = performance.now() - t0;
  await h.close();
  return ms;
}

/**
 * One loop per backend for the whole run, as in a server: every measurement is a task on
 * it. (A fresh loop per measurement would time io_uring's worker threads being created on
 * first use; node:fs/promises' thread pool is warm after its first call.)
 */
const loops = new Map();
async function inLoop(kind, body) {
  let loop = loops.get(kind);
  if (loop === undefined) {
    loop = (kind === "uring" ? new UringEventLoopPolicy() : new FallbackEventLoopPolicy()).newEventLoop();
    loops.set(kind, loop);
  }
  return loop.runUntilComplete(loop.createTask(() => body()));
}

/**
 * Reference, no I/O: what a fresh 64 MiB Buffer costs to fill once (every readFile pays
 * it), with 4 KiB pages (node's readFile) and advised MADV_HUGEPAGE (ringloop's uring
 * readFile: FileOps.freshBuffer) for the same single-threaded fill.
 */
async function faultFloor(huge) {
  const t0 = performance.now();
  const buf = huge ? await inLoop("uring", async () => getRunningLoop()._proactor.files.freshBuffer(SEQ_SIZE)) : Buffer.allocUnsafeSlow(SEQ_SIZE);
  buf.fill(1);
  return performance.now() - t0;
}

const VARIANTS = [
  { name: "ringloop uring", run: (b) => inLoop("uring", () => b(fs)) },
  { name: "ringloop fallback", run: (b) => inLoop("fallback", () => b(fs)) },
  { name: "node:fs/promises", run: (b) => b(fsp) },
];

const WORKLOADS = [
  { key: "seq-readFile", label: "64 MiB readFile", unit: "MiB/s", value: (ms) => (SEQ_SIZE / MiB) / (ms / 1000), body: (api, f) => seqReadFile(api, f.seq) },
  { key: "seq-loop", label: "64 MiB read loop (1 MiB reads)", unit: "MiB/s", value: (ms) => (SEQ_SIZE / MiB) / (ms / 1000), body: (api, f) => seqReadLoop(api, f.seq, CHUNK) },
  { key: "seq-loop-64k", label: "64 MiB read loop (64 KiB reads: createReadStream's chunk)", unit: "MiB/s", value: (ms) => (SEQ_SIZE / MiB) / (ms / 1000), body: (api, f) => seqReadLoop(api, f.seq, SMALL_CHUNK) },
  { key: "rand", label: `4 KiB random reads, QD ${DEPTH}, 256 MiB file`, unit: "reads/s", value: (ms) => RANDOM_OPS / (ms / 1000), body: (api, f, r) => randomReads(api, f.rand, offsets(RANDOM_OPS, r + 1)) },
];

const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(2));

async function main() {
  const dir = mkdtempSync(path.join(DIR, "ringloop-fs-bench-"));
  try {
    const files = { seq: path.join(dir, "seq-64m"), rand: path.join(dir, "rand-256m") };
    makeFile(files.seq, SEQ_SIZE);
    makeFile(files.rand, RAND_SIZE);
    const floor = [];
    const hugeFloor = [];
    const samples = {}; // workload -> variant -> values[]
    for (const w of WORKLOADS) {
      samples[w.key] = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
      for (const v of VARIANTS) await v.run((api) => w.body(api, files, 0)); // warm-up
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const w of WORKLOADS) {
        for (let i = 0; i < VARIANTS.length; i++) {
          const v = VARIANTS[(i + r) % VARIANTS.length];
          const ms = await v.run((api) => w.body(api, files, r));
          samples[w.key][v.name].push(w.value(ms));
        }
      }
      floor.push(WORKLOADS[0].value(await faultFloor(false)));
      hugeFloor.push(WORKLOADS[0].value(await faultFloor(true)));
      process.stderr.write(`round ${r + 1}/${ROUNDS} done\n`);
    }
    const lines = [
      `fs-bench, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} CPUs, kernel ${os.release()}, ` +
        `${ROUNDS} rounds (median), HOT page cache (files read once before timing). Ratio = median of per-round ours / node:fs/promises.`,
      "",
      `Command: \`npm run build:ts && node perf/fs-bench.mjs ${argv.filter((a) => a !== "--write").join(" ")}\``.replace(/ `$/, "`"),
      "",
      "| workload | variant | median | ratio vs node:fs/promises |",
      "|---|---|---:|---:|",
    ];
    for (const w of WORKLOADS) {
      const base = samples[w.key]["node:fs/promises"];
      for (const v of VARIANTS) {
        const vals = samples[w.key][v.name];
        const ratio = median(vals.map((x, i) => x / base[i]));
        lines.push(`| ${w.label} | ${v.name} | ${fmt(median(vals))} ${w.unit} | ${v.name === "node:fs/promises" ? "1" : ratio.toFixed(2)}x |`);
      }
      if (w.key === "seq-readFile") {
        lines.push(`| 64 MiB fresh Buffer, first touch only (no I/O), 4 KiB pages: node's readFile floor | reference | ${fmt(median(floor))} MiB/s | - |`);
        lines.push(`| 64 MiB fresh Buffer, first touch only (no I/O), MADV_HUGEPAGE, one thread | reference | ${fmt(median(hugeFloor))} MiB/s | - |`);
      }
    }
    const text = lines.join("\n");
    process.stdout.write(text + "\n");
    if (flag("--write")) process.stderr.write(`wrote ${writeSection("fs-bench", "perf/fs-bench.mjs", text)}\n`);
  } finally {
    for (const loop of loops.values()) loop.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`fs-bench: ${e.stack ?? e}\n`);
  process.exitCode = 1;
});
