// tls-bench: TLS throughput and HTTPS req/s of ringloop's TLS layer (src/tls/) against
// node:tls / node:https, and node:http fed by a ringloop Server (feedNodeServer) against
// plain node:http, all in one run (perf/README.md, "tls-bench").
//
//   npm run build:ts && node perf/tls-bench.mjs [--rounds 5] [--bytes 268435456] [--duration 3] [--write]
//
// Servers (perf/servers/tls-server.mjs): one process per variant and workload under
// `taskset -c 0`; load (perf/servers/tls-bulk-client.mjs, node:tls, or wrk) under
// `taskset -c 1`. Each round runs the variants of a point back to back, order rotated per
// round; the table gives medians over rounds and, for ratios, the median of the per-round
// ratios. Certificates: a throwaway CA and server certificate made by openssl in a temp dir.
import { spawn, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { benchArgs, median } from "./bench-util.mjs";
import { writeSection } from "./results-writer.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { flag, opt } = benchArgs();
const ROUNDS = Number(opt("--rounds", "5"));
const BYTES = Number(opt("--bytes", String(256 * 1024 * 1024)));
const DURATION = Number(opt("--duration", "3"));
const CONNECTIONS = Number(opt("--connections", "32"));

function makeCerts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-tls-bench-"));
  const ossl = (args) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ossl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bench CA"]);
  ossl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
  fs.writeFileSync(path.join(dir, "ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  ossl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-out", "server.crt", "-days", "2", "-extfile", "ext"]);
  return dir;
}

function startServer(variant, workload, certDir) {
  const child = spawn("taskset", ["-c", "0", process.execPath, path.join(here, "servers/tls-server.mjs"), variant, workload, certDir], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ port: JSON.parse(out.slice(0, nl)).port, child });
    });
    child.once("exit", (code) => reject(new Error(`${variant} ${workload} server exited with ${code}`)));
  });
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

async function bulk(port, mode, certDir) {
  const out = await runLoad(process.execPath, [path.join(here, "servers/tls-bulk-client.mjs"), String(port), mode, String(BYTES), path.join(certDir, "ca.crt")]);
  const r = JSON.parse(out);
  if (!r.ok) throw new Error(`bulk ${mode}: wrong byte count`);
  return BYTES / 1024 / 1024 / (r.ms / 1000); // MiB/s
}

async function wrk(url) {
  const out = await runLoad("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${DURATION}s`, url]);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk ${url}: errors\n${out}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
}

const VARIANTS = ["uring", "fallback", "node"];
const POINTS = [
  { name: "TLS download (server sends), MiB/s", workload: "bulk", measure: (port, dir) => bulk(port, "D", dir), baseline: "node:tls" },
  { name: "TLS upload (server receives), MiB/s", workload: "bulk", measure: (port, dir) => bulk(port, "U", dir), baseline: "node:tls" },
  { name: `HTTPS req/s (wrk -c${CONNECTIONS}, keep-alive)`, workload: "https", measure: (port) => wrk(`https://127.0.0.1:${port}/`), baseline: "node:https" },
  { name: `HTTP req/s, node:http fed by ringloop (wrk -c${CONNECTIONS})`, workload: "http", measure: (port) => wrk(`http://127.0.0.1:${port}/`), baseline: "node:http" },
];

const certDir = makeCerts();
const servers = new Map();
try {
  for (const p of POINTS) for (const v of VARIANTS) if (!servers.has(`${v}/${p.workload}`)) servers.set(`${v}/${p.workload}`, await startServer(v, p.workload, certDir));
  const results = POINTS.map(() => Object.fromEntries(VARIANTS.map((v) => [v, []])));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, p] of POINTS.entries()) {
      const order = VARIANTS.map((_, k) => VARIANTS[(k + round) % VARIANTS.length]);
      for (const v of order) {
        const value = await p.measure(servers.get(`${v}/${p.workload}`).port, certDir);
        results[i][v].push(value);
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${p.name} ${v}: ${value.toFixed(1)}\n`);
      }
    }
  }
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const ratio = (xs, ys) => median(xs.map((x, k) => x / ys[k])).toFixed(2);
  const lines = [
    `Command: \`node perf/tls-bench.mjs --rounds ${ROUNDS} --bytes ${BYTES} --duration ${DURATION}\` (${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, OpenSSL ${process.versions.openssl}).`,
    `2 shared CPUs: servers on CPU 0, load (node:tls client / wrk -t1) on CPU 1; medians of ${ROUNDS} rounds, ratios are medians of per-round ratios (higher is better for ringloop).`,
    "",
    "| workload | ringloop uring | ringloop fallback | baseline | uring / baseline | fallback / baseline |",
    "|---|---|---|---|---|---|",
  ];
  for (const [i, p] of POINTS.entries()) {
    const r = results[i];
    lines.push(`| ${p.name} | ${fmt(median(r.uring))} | ${fmt(median(r.fallback))} | ${p.baseline} ${fmt(median(r.node))} | ${ratio(r.uring, r.node)} | ${ratio(r.fallback, r.node)} |`);
  }
  const text = lines.join("\n");
  process.stdout.write(text + "\n");
  if (flag("--write")) process.stderr.write(`written to ${writeSection("tls-bench", "perf/tls-bench.mjs", text)}\n`);
} finally {
  for (const { child } of servers.values()) child.kill("SIGKILL");
  fs.rmSync(certDir, { recursive: true, force: true });
}
