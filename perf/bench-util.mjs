// What the perf/ scripts share: their command-line options (`flag("--write")` is true when
// given, `opt("--rounds", "5")` is the word after the option, or the default), medians,
// pinned server processes, nginx's static config and wrk's summary.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export function benchArgs(argv = process.argv.slice(2)) {
  const flag = (name) => argv.includes(name);
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
  };
  return { argv, flag, opt };
}

/** The median of the finite values (NaN when there are none). */
export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** True when `cmd` is on PATH. */
export function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** A TCP port free on 127.0.0.1 right now (for servers that cannot report theirs: nginx). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `argv` pinned to CPU `cpu` (taskset); resolves { child, port }. Without `port` the
 * server reports its own on stdout ({"port":P} or a http(s)://127.0.0.1:P/ URL); with it
 * (nginx) the port is polled until it accepts.
 */
export async function startPinned(argv, { cpu = 0, port = null, label = argv[0] } = {}) {
  const child = spawn("taskset", ["-c", String(cpu), ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise((_, reject) => child.once("exit", (code) => reject(new Error(`${label} exited (${code}): ${err}`))));
  exited.catch(() => {});
  if (port === null) {
    let out = "";
    const found = new Promise((resolve) => {
      child.stdout.on("data", (d) => {
        out += d;
        const m = /"port":(\d+)/.exec(out) ?? /https?:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
        if (m) resolve(Number(m[1]));
      });
    });
    let timer;
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${label}: no port within 10 s: ${err}`)), 10_000)));
    port = await Promise.race([found, exited, late]).finally(() => clearTimeout(timer));
    return { child, port };
  }
  child.stdout.resume();
  for (let i = 0; ; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        r(true);
      });
      s.on("error", () => r(false));
    });
    if (ok) return { child, port };
    if (i > 100 || child.exitCode !== null) throw new Error(`${label} did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopServer({ child }, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await done;
  clearTimeout(t);
}

/**
 * Writes DIR/nginx.conf for a static server of `root` on 127.0.0.1:`port` (one worker,
 * sendfile on, access_log off, pid/error_log/temp paths in DIR; run it with
 * `nginx -c CONF`, it has `daemon off`). `ssl`: { cert, key } files for `listen ... ssl`.
 * `main`, `http`, `server`: extra directives for those blocks. Returns the file's path.
 */
export function nginxConf(dir, { port, root, ssl = null, main = "", http = "", server = "" }) {
  mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, "nginx.conf");
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/${t};`).join("\n");
  const tls = ssl === null ? "" : `\n    ssl_certificate ${ssl.cert};\n    ssl_certificate_key ${ssl.key};`;
  writeFileSync(
    conf,
    `${main}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  types { text/plain txt; }
${temps}
${http}
  server {
    listen 127.0.0.1:${port}${ssl === null ? "" : " ssl"} reuseport backlog=4096;${tls}
    root ${root};
${server}
  }
}
`,
  );
  return conf;
}

const SIZE_UNIT = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
const MS_UNIT = { us: 1e-3, ms: 1, s: 1000 };

/** wrk's summary: req/s, MB/s (10^6 bytes, from Transfer/sec), p99 in ms (with --latency), errors or null. */
export function parseWrk(out) {
  const size = /Transfer\/sec:\s+([\d.]+)([KMG]?B)\b/.exec(out);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    mbps: size ? (Number(size[1]) * SIZE_UNIT[size[2]]) / 1e6 : NaN,
    p99: p99 ? Number(p99[1]) * MS_UNIT[p99[2]] : NaN,
    errors: /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)?.[0] ?? null,
  };
}
