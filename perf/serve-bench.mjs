// serve-bench: `ringloop serve` against nginx, node:http + fs.createReadStream and (when it
// installs here) Bun.serve + Bun.file, in ONE run.
//
//   npm run build:ts && node perf/serve-bench.mjs [--rounds 3] [--secs 10] [--quick] [--write]
//        [--variants uring,uring-nocache,fallback,uring-compress,nginx,node,bun] [--big-mb 256] [--big-downloads 10]
//        [--base DIR]
//
// Every server is its own process pinned to CPU 0 (taskset -c 0; nginx's worker inherits
// it); wrk and curl are pinned to CPU 1. Workloads:
//   4 KiB and 1 MiB files: wrk -t1 -c16 -d<secs>s --latency (req/s, MB/s, p99), after a
//     1 s warm-up run per server and file.
//   1 MiB text file with "Accept-Encoding: br" (the same wrk run): precompressed siblings
//     1m.txt.br / 1m.txt.gz (brotli quality 11 and gzip -9, as a build step makes them),
//     served by ringloop's default and nginx's brotli_static + gzip_static (Debian
//     libnginx-mod-http-brotli-static; without it nginx is not measured on this row).
//   The same text file without siblings, "Accept-Encoding: gzip": compressed on the fly,
//     by ringloop serve --compress (uring-compress: compressed once, then from memory) and
//     by nginx's gzip filter (gzip on, its default level 1, per response).
//   Only servers that answered a row's request in the coding asked (checked with curl
//   first) are measured on it.
//   256 MiB file: curl -o /dev/null, --big-downloads (10) downloads per round: MB/s and
//     server CPU (utime+stime of the server and its children from /proc) per MiB sent.
// Each round runs all servers back to back (order rotated per round). Values are medians
// over rounds; ratios are medians of the per-round ratios (the machine is shared). During
// each wrk point: "server CPU" is the server's own share of CPU 0 (from /proc/<pid>),
// "wrk's CPU 1" how busy CPU 1 was (/proc/stat; near 100% with the server well below means
// the load generator is the bound), "other CPU 0" the rest of CPU 0's busy time (a high
// value means a disturbed point).
//
// Variants: uring = `ringloop serve --backend uring` (small-file memory cache on, the
// default), uring-nocache = the same with --no-memory-cache (every body by loop.sendfile),
// fallback = --backend fallback (info), base = with --base DIR, `ringloop serve --backend
// uring` of another built checkout (a change measured A/B in one run: column "vs base"),
// uring-compress = uring with --compress (measured on
// the on-the-fly row only), nginx = Debian nginx (worker_processes 1, sendfile
// on, access_log off), node = perf/servers/static-node.mjs, bun = perf/servers/static-bun.mjs
// under a bun binary installed with npm into a temp dir (never into the repo).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdtempSync, mkdirSync, chmodSync, openSync, writeSync, closeSync, rmSync } from "node:fs";
import * as zlib from "node:zlib";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, median, have, freePort, startPinned, stopServer, parseWrk, nginxConf as nginxStaticConf } from "./bench-util.mjs";
import { writeSection } from "./results-writer.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);

const { argv, flag, opt } = benchArgs();
const QUICK = flag("--quick");
const ROUNDS = Number(opt("--rounds", QUICK ? "1" : "3"));
const SECS = Number(opt("--secs", QUICK ? "2" : "10"));
const BASE = opt("--base", null);
const VARIANTS = [...opt("--variants", "uring,uring-nocache,fallback,uring-compress,nginx,node,bun").split(","), ...(BASE === null ? [] : ["base"])];
const BIG_MB = Number(opt("--big-mb", "256"));
/** Downloads per round of the big file (one download lasts ~0.1 s: few of them are noise). */
const BIG_DOWNLOADS = Number(opt("--big-downloads", QUICK ? "3" : "10"));
for (const [name, v] of [["--rounds", ROUNDS], ["--secs", SECS], ["--big-mb", BIG_MB], ["--big-downloads", BIG_DOWNLOADS]]) {
  if (!(v > 0)) throw new RangeError(`${name} must be a positive number`);
}

const LABEL = {
  uring: "ringloop serve (uring)",
  "uring-nocache": "ringloop serve (uring, --no-memory-cache)",
  fallback: "ringloop serve (fallback)",
  base: "ringloop serve (uring, base checkout)",
  "uring-compress": "ringloop serve (uring, --compress)",
  nginx: "nginx",
  node: "node:http + createReadStream",
  bun: "Bun.serve + Bun.file",
};
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const WORK = mkdtempSync(path.join(os.tmpdir(), "serve-bench-"));
const DOCROOT = path.join(WORK, "www");
const notes = [];

function makeDocroot() {
  mkdirSync(DOCROOT, { recursive: true });
  chmodSync(WORK, 0o755); // nginx's worker runs as another user
  chmodSync(DOCROOT, 0o755);
  const pattern = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 131 + (i >> 10)) & 0xff;
  writeFileSync(path.join(DOCROOT, "4k.bin"), pattern.subarray(0, 4096));
  writeFileSync(path.join(DOCROOT, "1m.bin"), pattern);
  const fd = openSync(path.join(DOCROOT, "big.bin"), "w");
  for (let i = 0; i < BIG_MB; i++) writeSync(fd, pattern);
  closeSync(fd);
  const text = benchText(1024 * 1024);
  writeFileSync(path.join(DOCROOT, "1m.txt"), text);
  writeFileSync(path.join(DOCROOT, "1m.txt.br"), zlib.brotliCompressSync(text, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(path.join(DOCROOT, "1m.txt.gz"), zlib.gzipSync(text, { level: 9 }));
  mkdirSync(path.join(DOCROOT, "otf"));
  chmodSync(path.join(DOCROOT, "otf"), 0o755);
  writeFileSync(path.join(DOCROOT, "otf", "1m.txt"), text);
  for (const f of ["4k.bin", "1m.bin", "big.bin", "1m.txt", "1m.txt.br", "1m.txt.gz", "otf/1m.txt"]) chmodSync(path.join(DOCROOT, f), 0o644);
}

/**
 * `size` bytes of word-like text from a fixed seed (800 pseudo-words, skewed frequencies,
 * some numbers): brotli -q11 makes it 3.9x smaller and gzip -9 3.2x, about what minified
 * JavaScript or CSS gives, so the .br sibling (264 KiB) goes by sendfile.
 */
function benchText(size) {
  let a = 0x9e3779b9;
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const letters = "etaoinshrdlucmfwypvbgkjqxz";
  const vocab = Array.from({ length: 800 }, () => Array.from({ length: 2 + Math.floor(rand() * 9) }, () => letters[Math.floor(rand() * rand() * 26)]).join(""));
  let out = "";
  while (out.length < size) {
    const n = 5 + Math.floor(rand() * 12);
    const line = [];
    for (let i = 0; i < n; i++) line.push(rand() < 0.05 ? String(Math.floor(rand() * 1e4)) : vocab[Math.floor(vocab.length * rand() * rand() * rand())]);
    out += line.join(" ") + (rand() < 0.3 ? ";\n" : ",\n");
  }
  return Buffer.from(out.slice(0, size));
}

/** A bun binary: on PATH, or installed with npm into a temp dir (kept for later runs). */
function findBun() {
  if (have("bun")) return "bun";
  const dir = path.join(os.tmpdir(), "ringloop-bench-bun");
  const bin = path.join(dir, "node_modules", "bun", "bin", "bun.exe");
  const alt = path.join(dir, "node_modules", ".bin", "bun");
  for (const b of [bin, alt]) if (existsSync(b) && spawnSync(b, ["--version"]).status === 0) return b;
  const version = spawnSync("npm", ["view", "bun", "version"], { encoding: "utf8" });
  if (version.status !== 0) {
    notes.push(`Bun: not measured (npm view bun failed: ${version.stderr.trim().split("\n").pop()})`);
    return null;
  }
  mkdirSync(dir, { recursive: true });
  const inst = spawnSync("npm", ["install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", `bun@${version.stdout.trim()}`], { encoding: "utf8" });
  for (const b of [bin, alt]) if (existsSync(b) && spawnSync(b, ["--version"]).status === 0) return b;
  notes.push(`Bun: not measured (npm install bun@${version.stdout.trim()} ${inst.status === 0 ? "installed but the binary does not run here" : "failed: " + inst.stderr.trim().split("\n").pop()})`);
  return null;
}

/** Debian's brotli_static module for nginx (libnginx-mod-http-brotli-static), or null. */
const NGINX_BROTLI_STATIC = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so";

function nginxConf(port) {
  const brotli = existsSync(NGINX_BROTLI_STATIC);
  if (!brotli) notes.push(`nginx: no brotli_static (apt-get install -y libnginx-mod-http-brotli-static); not measured on the br row`);
  return nginxStaticConf(path.join(WORK, "nginx"), {
    port,
    root: DOCROOT,
    main: brotli ? `load_module ${NGINX_BROTLI_STATIC};\n` : "",
    http: `  gzip_static on;\n  ${brotli ? "brotli_static on;" : ""}\n  gzip_vary on;`,
    server: `    location /otf/ {
      gzip_static off;
      ${brotli ? "brotli_static off;" : ""}
      gzip on;
      gzip_types text/plain;
      gzip_min_length 256;
    }`,
  });
}

/** Starts one server pinned to CPU 0; resolves { child, port }. */
async function startServer(variant, bunBin) {
  let cmd;
  let port = null;
  const ringloop = (extra) => [process.execPath, path.join(ROOT, "bin", "ringloop.cjs"), "serve", DOCROOT, "--port", "0", "--quiet", ...extra];
  if (variant === "uring") cmd = ringloop(["--backend", "uring"]);
  else if (variant === "uring-nocache") cmd = ringloop(["--backend", "uring", "--no-memory-cache"]);
  else if (variant === "fallback") cmd = ringloop(["--backend", "fallback"]);
  else if (variant === "uring-compress") cmd = ringloop(["--backend", "uring", "--compress"]);
  else if (variant === "base") cmd = [process.execPath, path.join(path.resolve(BASE), "bin", "ringloop.cjs"), "serve", DOCROOT, "--port", "0", "--quiet", "--backend", "uring"];
  else if (variant === "node") cmd = [process.execPath, path.join(HERE, "servers", "static-node.mjs"), DOCROOT];
  else if (variant === "bun") cmd = [bunBin, path.join(HERE, "servers", "static-bun.mjs"), DOCROOT];
  else if (variant === "nginx") {
    port = await freePort();
    cmd = ["nginx", "-c", nginxConf(port)];
  } else throw new Error(`unknown variant ${variant}`);
  return startPinned(cmd, { port, label: LABEL[variant] });
}

/** CPU time (µs) of a process and its descendants (nginx's worker is a child of taskset's exec). */
function cpuMicros(pid) {
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
      for (const t of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/)) if (t) stack.push(Number(t));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** Jiffies of one CPU from /proc/stat: busy (everything but idle and iowait) and total. */
function cpuTicks(cpu) {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(`cpu${cpu} `));
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/**
 * Runs fn() and returns [its result, shares of the time: { server: the server's own CPU
 * (of CPU 0), other: the rest of CPU 0's busy time, client: CPU 1 busy (wrk/curl) }].
 * A server near 100% is server-bound; a client near 100% with the server below is bound
 * by the load generator.
 */
function measured(pid, fn) {
  const c0 = cpuTicks(0);
  const k0 = cpuTicks(1);
  const s0 = cpuMicros(pid);
  const result = fn();
  const c1 = cpuTicks(0);
  const k1 = cpuTicks(1);
  const serverTicks = ((cpuMicros(pid) - s0) * CLK_TCK) / 1e6;
  const total = c1.total - c0.total;
  const clientTotal = k1.total - k0.total;
  return [result, {
    server: total > 0 ? serverTicks / total : NaN,
    other: total > 0 ? Math.max(0, (c1.busy - c0.busy - serverTicks) / total) : NaN,
    client: clientTotal > 0 ? (k1.busy - k0.busy) / clientTotal : NaN,
  }];
}

function wrk(port, file, secs, header = null) {
  const extra = header === null ? [] : ["-H", header];
  const r = spawnSync("taskset", ["-c", "1", "wrk", "-t1", "-c16", `-d${secs}s`, "--latency", ...extra, `http://127.0.0.1:${port}/${file}`], { encoding: "utf8", timeout: (secs + 30) * 1000 });
  return parseWrk(r.stdout ?? "");
}

/** The workloads (wrk); `variants` is filled with the servers that answer each as asked. */
const WORKLOADS = [
  { key: "4k", label: "4 KiB file", file: "4k.bin", header: null, coding: null },
  { key: "1m", label: "1 MiB file", file: "1m.bin", header: null, coding: null },
  { key: "1mbr", label: "1 MiB text, precompressed .br, Accept-Encoding: br", file: "1m.txt", header: "Accept-Encoding: br", coding: "br" },
  { key: "otf", label: "1 MiB text, compressed on the fly, Accept-Encoding: gzip", file: "otf/1m.txt", header: "Accept-Encoding: gzip", coding: "gzip" },
];

/** The Content-Encoding a server answers workload `w` with (null for none). */
function codingOf(port, w) {
  const args = ["-s", "-o", "/dev/null", "-D", "-", ...(w.header === null ? [] : ["-H", w.header]), `http://127.0.0.1:${port}/${w.file}`];
  const r = spawnSync("curl", args, { encoding: "utf8", timeout: 30_000 });
  if (!/^HTTP\/1\.1 200 /.test(r.stdout ?? "")) return "failed";
  return /^content-encoding:\s*(\S+)/im.exec(r.stdout)?.[1] ?? null;
}

function bigDownload(port, pid) {
  const cpu0 = cpuMicros(pid);
  let bytes = 0;
  let secs = 0;
  for (let i = 0; i < BIG_DOWNLOADS; i++) {
    const r = spawnSync("taskset", ["-c", "1", "curl", "-s", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", `http://127.0.0.1:${port}/big.bin`], { encoding: "utf8", timeout: 120_000 });
    const [size, time] = (r.stdout ?? "").trim().split(" ").map(Number);
    if (r.status !== 0 || size !== BIG_MB * 1024 * 1024) return { mbps: NaN, cpuPerMiB: NaN };
    bytes += size;
    secs += time;
  }
  const cpu = cpuMicros(pid) - cpu0;
  return { mbps: bytes / secs / 1e6, cpuPerMiB: cpu / (bytes / 1024 / 1024) };
}

function fmt(v, digits = 0) {
  if (!Number.isFinite(v)) return "—";
  if (Math.abs(v) >= 1000 && digits === 0) return `${(v / 1000).toFixed(1)}k`;
  return v.toFixed(digits);
}
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : "—");

async function main() {
  for (const tool of ["taskset", "wrk", "curl"]) if (!have(tool)) throw new Error(`${tool} is not installed`);
  const variants = VARIANTS.filter((v) => {
    if (v === "nginx" && !have("nginx")) {
      notes.push("nginx: not installed (apt-get install -y nginx); not measured");
      return false;
    }
    return true;
  });
  const bunBin = variants.includes("bun") ? findBun() : null;
  const active = variants.filter((v) => v !== "bun" || bunBin !== null);
  makeDocroot();
  const servers = {};
  for (const v of active) {
    try {
      servers[v] = await startServer(v, bunBin);
    } catch (e) {
      notes.push(`${LABEL[v]}: could not start (${String(e.message).split("\n")[0]})`);
    }
  }
  const names = active.filter((v) => servers[v]);
  const samples = {}; // key -> variant -> [values per round]
  const add = (key, v, value) => ((samples[key] ??= {})[v] ??= []).push(value);
  try {
    for (const w of WORKLOADS) {
      w.variants = names.filter((v) => (v !== "uring-compress" || w.key === "otf") && codingOf(servers[v].port, w) === w.coding);
      if (names.includes("nginx") && !w.variants.includes("nginx")) notes.push(`nginx did not answer ${w.file} as asked (${w.header ?? "no Accept-Encoding"}); not measured on "${w.label}"`);
      for (const v of w.variants) wrk(servers[v].port, w.file, 1, w.header);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const { key, file, header, variants } of WORKLOADS) {
        const order = variants.map((_, i) => variants[(i + round) % variants.length]);
        for (const v of order) {
          const [r, cpu] = measured(servers[v].child.pid, () => wrk(servers[v].port, file, SECS, header));
          add(`${key}.other`, v, cpu.other);
          add(`${key}.server`, v, cpu.server);
          add(`${key}.client`, v, cpu.client);
          if (r.errors) notes.push(`${LABEL[v]} ${key} round ${round + 1}: ${r.errors}`);
          add(`${key}.rps`, v, r.rps);
          add(`${key}.mbps`, v, r.mbps);
          add(`${key}.p99`, v, r.p99);
          process.stderr.write(`round ${round + 1} ${key} ${LABEL[v]}: ${fmt(r.rps)} req/s, ${fmt(r.mbps)} MB/s, p99 ${fmt(r.p99, 2)} ms, server CPU ${(cpu.server * 100).toFixed(0)}%, wrk's CPU 1 ${(cpu.client * 100).toFixed(0)}%, other CPU 0 ${(cpu.other * 100).toFixed(0)}%\n`);
        }
      }
      for (const v of names.filter((n) => n !== "uring-compress").map((_, i, a) => a[(i + round) % a.length])) {
        const r = bigDownload(servers[v].port, servers[v].child.pid);
        add("big.mbps", v, r.mbps);
        add("big.cpu", v, r.cpuPerMiB);
        process.stderr.write(`round ${round + 1} ${BIG_MB} MiB ${LABEL[v]}: ${fmt(r.mbps)} MB/s, ${fmt(r.cpuPerMiB, 1)} us CPU/MiB\n`);
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map(stopServer));
    rmSync(WORK, { recursive: true, force: true });
  }
  const perRoundRatio = (key, v, base) => {
    const a = samples[key]?.[v] ?? [];
    const b = samples[key]?.[base] ?? [];
    return median(a.map((x, i) => x / b[i]));
  };
  const lines = [];
  lines.push(`serve-bench: ${ROUNDS} round(s), wrk -t1 -c16 -d${SECS}s --latency; servers on CPU 0, clients on CPU 1; Node ${process.versions.node}, ${os.release()}, ${new Date().toISOString().slice(0, 10)}`);
  lines.push("");
  const vsBase = (key, v, variants) => (BASE === null ? "" : ` ${v === "base" || !variants.includes("base") ? "—" : ratio(perRoundRatio(key, v, "base"))} |`);
  lines.push(`| workload | server | req/s | MB/s | p99 | req/s vs nginx | req/s vs node:http |${BASE === null ? "" : " req/s vs base |"} server CPU | wrk's CPU 1 | other CPU 0 |`);
  lines.push(`|---|---|---|---|---|---|---|${BASE === null ? "" : "---|"}---|---|---|`);
  for (const { key, label, variants } of WORKLOADS) {
    for (const v of variants) {
      lines.push(`| ${label} | ${LABEL[v]} | ${fmt(median(samples[`${key}.rps`][v]))} | ${fmt(median(samples[`${key}.mbps`][v]))} | ${fmt(median(samples[`${key}.p99`][v]), 2)} ms | ${v === "nginx" || !variants.includes("nginx") ? "—" : ratio(perRoundRatio(`${key}.rps`, v, "nginx"))} | ${v === "node" || !variants.includes("node") ? "—" : ratio(perRoundRatio(`${key}.rps`, v, "node"))} |${vsBase(`${key}.rps`, v, variants)} ${fmt(median(samples[`${key}.server`][v]) * 100)}% | ${fmt(median(samples[`${key}.client`][v]) * 100)}% | ${fmt(median(samples[`${key}.other`][v]) * 100)}% |`);
    }
  }
  lines.push("");
  const bigNames = names.filter((n) => n !== "uring-compress");
  lines.push(`| workload | server | MB/s | server CPU per MiB | MB/s vs nginx | CPU/MiB vs nginx |${BASE === null ? "" : " MB/s vs base |"}`);
  lines.push(`|---|---|---|---|---|---|${BASE === null ? "" : "---|"}`);
  for (const v of names.filter((n) => n !== "uring-compress")) {
    lines.push(`| ${BIG_MB} MiB file (curl) | ${LABEL[v]} | ${fmt(median(samples["big.mbps"][v]))} | ${fmt(median(samples["big.cpu"][v]), 1)} us | ${v === "nginx" ? "—" : ratio(perRoundRatio("big.mbps", v, "nginx"))} | ${v === "nginx" ? "—" : ratio(perRoundRatio("big.cpu", v, "nginx"))} |${vsBase("big.mbps", v, bigNames)}`);
  }
  if (notes.length) {
    lines.push("");
    for (const n of notes) lines.push(`- ${n}`);
  }
  const table = lines.join("\n");
  process.stdout.write(table + "\n");
  if (flag("--write")) {
    process.stderr.write(`wrote ${writeSection("serve-bench", "perf/serve-bench.mjs", table)}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`serve-bench: ${e.stack ?? e}\n`);
  process.exit(1);
});
