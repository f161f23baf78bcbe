// tls-bench: TLS throughput, HTTPS req/s, HTTPS static files and TLS echo of ringloop's TLS
// layer (src/tls/) against node:tls / node:https (and nginx for static files), and node:http
// fed by a ringloop Server (feedNodeServer) against plain node:http, all in one run
// (perf/README.md, "tls-bench").
//
//   npm run build:ts && node perf/tls-bench.mjs [--rounds 5] [--bytes 268435456] [--duration 3]
//        [--connections 32] [--only download,upload,https,http,file1m,file4k,echo] [--quick] [--write]
//
// Servers: perf/servers/tls-server.mjs (bulk, https, http, echo), `ringloop serve --tls-cert`
// / nginx with ssl / perf/servers/static-node.mjs over node:https (static files); one process
// per variant and workload under `taskset -c 0`; load (perf/servers/tls-bulk-client.mjs,
// node:tls, or wrk) under `taskset -c 1`. Each round runs the variants of a point back to
// back, order rotated per round; the table gives medians over rounds and, for ratios, the
// median of the per-round ratios. Certificates: a throwaway CA and server certificate made
// by openssl in a temp dir. --quick: 1 round, 1 s, 16 MiB (a smoke run).
import { spawn, execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, median, have, freePort, startPinned, stopServer, nginxConf, parseWrk } from "./bench-util.mjs";
import { writeSection } from "./results-writer.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { flag, opt } = benchArgs();
const QUICK = flag("--quick");
const ROUNDS = Number(opt("--rounds", QUICK ? "1" : "5"));
const BYTES = Number(opt("--bytes", String((QUICK ? 16 : 256) * 1024 * 1024)));
const DURATION = Number(opt("--duration", QUICK ? "1" : "3"));
const CONNECTIONS = Number(opt("--connections", "32"));
const FILE_CONNECTIONS = 16;
const ECHO_CONNECTIONS = 100;
const ECHO_SIZE = 16 * 1024;

function makeCerts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-tls-bench-"));
  const ossl = (args) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ossl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bench CA"]);
  ossl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
  fs.writeFileSync(path.join(dir, "ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  ossl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-out", "server.crt", "-days", "2", "-extfile", "ext"]);
  // The static files; nginx's worker runs as another user.
  fs.mkdirSync(path.join(dir, "www"));
  for (const [name, size] of [["1m.bin", 1024 * 1024], ["4k.bin", 4096]]) fs.writeFileSync(path.join(dir, "www", name), crypto.randomBytes(size), { mode: 0o644 });
  for (const d of [dir, path.join(dir, "www")]) fs.chmodSync(d, 0o755);
  return dir;
}

/** Starts one server: VARIANT uring | fallback | node | nginx, WORKLOAD as in tls-server.mjs or "static". */
async function startServer(variant, workload) {
  const label = `${variant} ${workload} server`;
  if (workload !== "static") return startPinned([process.execPath, path.join(here, "servers/tls-server.mjs"), variant, workload, certDir], { label });
  if (variant === "node") return startPinned([process.execPath, path.join(here, "servers/static-node.mjs"), www, cert, key], { label });
  if (variant === "nginx") {
    const port = await freePort();
    return startPinned(["nginx", "-c", nginxConf(path.join(certDir, "nginx"), { port, root: www, ssl: { cert, key } })], { port, label });
  }
  return startPinned([process.execPath, path.join(here, "..", "bin", "ringloop.cjs"), "serve", www, "--port", "0", "--quiet", "--backend", variant, "--tls-cert", cert, "--tls-key", key], { label });
}

function runLoad(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn("taskset", ["-c", "1", cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")}: exit ${code}: ${err}`))));
  });
}

const client = (port, ...args) => runLoad(process.execPath, [path.join(here, "servers/tls-bulk-client.mjs"), String(port), ...args.map(String)]);

async function bulk(port, mode) {
  const r = JSON.parse(await client(port, mode, BYTES, path.join(certDir, "ca.crt")));
  if (!r.ok) throw new Error(`bulk ${mode}: wrong byte count`);
  return { value: BYTES / 1024 / 1024 / (r.ms / 1000) }; // MiB/s
}

async function echo(port) {
  const r = JSON.parse(await client(port, "E", ECHO_SIZE, path.join(certDir, "ca.crt"), ECHO_CONNECTIONS, DURATION));
  if (!r.ok) throw new Error("echo: more bytes back than sent");
  return { value: r.rps };
}

async function wrk(url, connections = CONNECTIONS, secs = DURATION) {
  const out = await runLoad("wrk", ["-t1", `-c${connections}`, `-d${secs}s`, url]);
  const r = parseWrk(out);
  if (r.errors) throw new Error(`wrk ${url}: errors\n${out}`);
  return { value: r.rps, mbps: r.mbps };
}

const LOCAL = ["uring", "fallback", "node"];
const file = (name) => (port, secs) => wrk(`https://127.0.0.1:${port}/${name}`, FILE_CONNECTIONS, secs);
const POINTS = [
  { key: "download", name: "TLS download (server sends), MiB/s", workload: "bulk", measure: (port) => bulk(port, "D"), baseline: "node:tls" },
  { key: "upload", name: "TLS upload (server receives), MiB/s", workload: "bulk", measure: (port) => bulk(port, "U"), baseline: "node:tls" },
  { key: "https", name: `HTTPS req/s (wrk -c${CONNECTIONS}, keep-alive)`, workload: "https", measure: (port) => wrk(`https://127.0.0.1:${port}/`), baseline: "node:https" },
  { key: "http", name: `HTTP req/s, node:http fed by ringloop (wrk -c${CONNECTIONS})`, workload: "http", measure: (port) => wrk(`http://127.0.0.1:${port}/`), baseline: "node:http" },
  { key: "file1m", name: `HTTPS 1 MiB file, req/s (MB/s) (wrk -c${FILE_CONNECTIONS}; ringloop serve)`, workload: "static", measure: file("1m.bin"), bytes: true, baseline: "node:https + createReadStream", nginx: true, target: ">= 0.9x nginx, >= 2x node:https" },
  { key: "file4k", name: `HTTPS 4 KiB file, req/s (MB/s) (wrk -c${FILE_CONNECTIONS}; ringloop serve)`, workload: "static", measure: file("4k.bin"), bytes: true, baseline: "node:https + createReadStream", nginx: true },
  { key: "echo", name: `TLS echo ${ECHO_SIZE / 1024} KiB x ${ECHO_CONNECTIONS} connections, round trips/s`, workload: "echo", measure: echo, baseline: "node:tls", target: ">= 1.3x node:tls" },
];
const only = opt("--only", null)?.split(",") ?? null;
for (const k of only ?? []) if (!POINTS.some((p) => p.key === k)) throw new RangeError(`--only: unknown workload ${k} (${POINTS.map((p) => p.key).join(", ")})`);
const points = POINTS.filter((p) => only === null || only.includes(p.key));
const notes = [];
if (points.some((p) => p.nginx) && !have("nginx")) notes.push("nginx: not installed (apt-get install -y nginx); not measured");

const certDir = makeCerts();
const cert = path.join(certDir, "server.crt");
const key = path.join(certDir, "server.key");
const www = path.join(certDir, "www");

const servers = new Map();
try {
  for (const p of points) {
    p.variants = [...LOCAL, ...(p.nginx && have("nginx") ? ["nginx"] : [])];
    for (const v of p.variants) {
      const id = `${v}/${p.workload}`;
      if (servers.has(id)) continue;
      try {
        servers.set(id, await startServer(v, p.workload));
      } catch (e) {
        if (v !== "nginx") throw e;
        notes.push(`nginx: could not start (${String(e.message).split("\n")[0]}); not measured`);
        servers.set(id, null);
      }
    }
    p.variants = p.variants.filter((v) => servers.get(`${v}/${p.workload}`) !== null);
    // Static files: 1 s of wrk per server first (file caches, JIT).
    if (p.workload === "static") for (const v of p.variants) await p.measure(servers.get(`${v}/${p.workload}`).port, 1);
  }
  const results = points.map((p) => Object.fromEntries(p.variants.map((v) => [v, { value: [], mbps: [] }])));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, p] of points.entries()) {
      const order = p.variants.map((_, k) => p.variants[(k + round) % p.variants.length]);
      for (const v of order) {
        const r = await p.measure(servers.get(`${v}/${p.workload}`).port, DURATION);
        results[i][v].value.push(r.value);
        results[i][v].mbps.push(r.mbps ?? NaN);
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${p.name} ${v}: ${r.value.toFixed(1)}${p.bytes ? ` (${r.mbps.toFixed(0)} MB/s)` : ""}\n`);
      }
    }
  }
  const fmt = (x) => (!Number.isFinite(x) ? "—" : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const cell = (p, r) => (r === undefined ? "—" : fmt(median(r.value)) + (p.bytes ? ` (${fmt(median(r.mbps))} MB/s)` : ""));
  const ratio = (a, b) => (a === undefined || b === undefined ? "—" : median(a.value.map((x, k) => x / b.value[k])).toFixed(2));
  const lines = [
    `Command: \`node perf/tls-bench.mjs --rounds ${ROUNDS} --bytes ${BYTES} --duration ${DURATION}${only === null ? "" : ` --only ${only.join(",")}`}\` (${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, OpenSSL ${process.versions.openssl}).`,
    `2 shared CPUs: servers on CPU 0, load (node:tls client / wrk -t1) on CPU 1; medians of ${ROUNDS} rounds, ratios are medians of per-round ratios (of req/s for files; higher is better for ringloop).`,
    "",
    "| workload | ringloop uring | ringloop fallback | baseline | nginx | uring / baseline | fallback / baseline | uring / nginx | fallback / nginx | target |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const [i, p] of points.entries()) {
    const r = results[i];
    lines.push(`| ${p.name} | ${cell(p, r.uring)} | ${cell(p, r.fallback)} | ${p.baseline} ${cell(p, r.node)} | ${cell(p, r.nginx)} | ${ratio(r.uring, r.node)} | ${ratio(r.fallback, r.node)} | ${ratio(r.uring, r.nginx)} | ${ratio(r.fallback, r.nginx)} | ${p.target ?? ""} |`);
  }
  if (notes.length) lines.push("", ...notes.map((n) => `- ${n}`));
  const text = lines.join("\n");
  process.stdout.write(text + "\n");
  if (flag("--write")) process.stderr.write(`written to ${writeSection("tls-bench", "perf/tls-bench.mjs", text)}\n`);
} finally {
  await Promise.all([...servers.values()].filter(Boolean).map(stopServer));
  fs.rmSync(certDir, { recursive: true, force: true });
}
