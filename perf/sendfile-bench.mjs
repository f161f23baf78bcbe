// sendfile-bench: loop.sendfile's native strategies on io_uring (splice through a pipe,
// sendfile(2) on writability) against the generic read+write path and node's own
// net socket + fs.createReadStream().pipe(), over loopback TCP.
//
//   npm run build:ts && node perf/sendfile-bench.mjs [--rounds 5] [--secs 2]
//        [--sizes 4k,64k,1m,256m] [--variants splice,syscall,generic,node] [--conns 8]
//
// Every server is its own process pinned to CPU 0 (taskset -c 0), the load generator is
// pinned to CPU 1. Each connection is a closed loop: the client sends one byte, the server
// sends the whole file (offset 0, count = size), the client reads it all and discards it,
// then asks again. Reported: requests/s and MB/s (1 MB = 10^6 bytes), medians of the rounds;
// variants run back to back within a round, order rotated every round (shared machine).
// Prints a Markdown table; --write also puts it into its section of perf/RESULTS.md.
//
// --cold: then, per variant, single 256 MiB transfers with the file evicted from the page
// cache first (posix_fadvise DONTNEED through python3): transfer time and the worst delay
// of a 1 ms timer in the server's loop during the transfer (how long the loop was blocked).
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { writeSection } from "./results-writer.mjs";
import { benchArgs, median } from "./bench-util.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);
const { argv, opt } = benchArgs();
const UNITS = { k: 1024, m: 1024 * 1024 };
const parseSize = (s) => Number(s.slice(0, -1)) * UNITS[s.at(-1)];

if (argv[0] === "--serve") await serve(argv[1], argv[2], Number(argv[3]));
else if (argv[0] === "--load") await load(Number(argv[1]), Number(argv[2]), Number(argv[3]), Number(argv[4]));
else await main();

// ---------------------------------------------------------------- server (CPU 0)

/** Worst lateness of a 1 ms timer between start() and report() (printed on stdout). */
function lagMeter(later) {
  let worst = 0;
  let last = 0;
  let on = false;
  const tick = () => {
    const now = performance.now();
    if (on) worst = Math.max(worst, now - last - 1);
    last = now;
    later(tick);
  };
  later(tick);
  return {
    start() {
      worst = 0;
      on = true;
      last = performance.now();
    },
    report() {
      on = false;
      process.stdout.write(`lag ${worst.toFixed(2)}\n`);
    },
  };
}

async function serve(variant, file, size) {
  const fd = fs.openSync(file, "r");
  let lag;
  if (variant === "node") {
    lag = lagMeter((f) => setTimeout(f, 1).unref());
    const server = net.createServer((s) => {
      s.setNoDelay(true);
      let queue = 0;
      let busy = false;
      const pump = () => {
        if (busy || queue === 0) return;
        busy = true;
        queue--;
        lag.start();
        const rs = fs.createReadStream(null, { fd, start: 0, end: size - 1, autoClose: false });
        rs.pipe(s, { end: false });
        rs.on("end", () => {
          lag.report();
          busy = false;
          pump();
        });
      };
      s.on("data", (d) => {
        queue += d.length;
        pump();
      });
      s.on("error", () => {});
    });
    server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
    return;
  }
  const req = createRequire(import.meta.url);
  const rl = req(path.join(ROOT, "dist/cjs/src/index.js"));
  const { _setSendfileStrategy } = req(path.join(ROOT, "dist/cjs/src/uring/sendfile.js"));
  _setSendfileStrategy(variant === "generic" ? "auto" : variant);
  const loop = new rl.UringEventLoop();
  rl.setEventLoop(loop);
  lag = lagMeter((f) => loop.callLater(1, f));
  class Sender extends rl.Protocol {
    queue = 0;
    busy = false;
    connectionMade(t) {
      this.t = t;
    }
    dataReceived(d) {
      this.queue += d.length;
      this.pump();
    }
    pump() {
      if (this.busy || this.queue === 0) return;
      this.busy = true;
      this.queue--;
      lag.start();
      const p = variant === "generic" ? genericSend(this.t) : loop.sendfile(this.t, fd, 0, size);
      p.then(() => {
        lag.report();
        this.busy = false;
        this.pump();
      }, () => this.t.abort());
    }
    connectionLost() {}
  }
  const genericSend = (t) => {
    const native = t._hasNativeSendfile;
    t._hasNativeSendfile = () => false; // the generic path, as the fallback backend runs it
    try {
      return loop.sendfile(t, fd, 0, size);
    } finally {
      t._hasNativeSendfile = native;
    }
  };
  await loop.runUntilComplete(loop.createTask(async () => {
    const server = await loop.createServer(() => new Sender(), "127.0.0.1", 0);
    process.stdout.write(`${server.sockets[0].getsockname().port}\n`);
    await new Promise(() => {});
  }));
}

// ---------------------------------------------------------------- load (CPU 1)

async function load(port, size, conns, secs) {
  let reqs = 0;
  let bytes = 0;
  let measuring = false;
  let stop = false;
  const one = () =>
    new Promise((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1");
      s.setNoDelay(true);
      let got = 0;
      s.on("connect", () => s.write("x"));
      s.on("data", (d) => {
        got += d.length;
        if (measuring) bytes += d.length;
        while (got >= size) {
          got -= size;
          if (measuring) reqs++;
          if (stop) {
            s.destroy();
            resolve();
            return;
          }
          s.write("x");
        }
      });
      s.on("error", reject);
    });
  const all = Array.from({ length: conns }, one);
  await new Promise((r) => setTimeout(r, 300)); // warm-up
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, secs * 1000));
  measuring = false;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, 20000))]);
  process.stdout.write(JSON.stringify({ reqs: reqs / dt, mbs: bytes / dt / 1e6 }) + "\n");
  process.exit(0);
}

// ---------------------------------------------------------------- driver

function startServer(variant, file, size) {
  const child = spawn("taskset", ["-c", "0", process.execPath, fileURLToPath(import.meta.url), "--serve", variant, file, String(size)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const lags = [];
    let buf = "";
    let port = 0;
    child.stdout.on("data", (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith("lag ")) lags.push(Number(line.slice(4)));
        else if (port === 0) {
          port = Number(line);
          resolve({ child, port, lags });
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`server ${variant} exited (${code})`)));
  });
}

function runLoad(port, size, conns, secs) {
  return new Promise((resolve, reject) => {
    const child = spawn("taskset", ["-c", "1", process.execPath, fileURLToPath(import.meta.url), "--load", String(port), String(size), String(conns), String(secs)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`))));
  });
}

/** One request on a fresh connection; resolves to the seconds it took. */
function oneTransfer(port, size) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const s = net.connect(port, "127.0.0.1", () => s.write("x"));
    let got = 0;
    s.on("data", (d) => {
      got += d.length;
      if (got >= size) {
        s.destroy();
        resolve(Number(process.hrtime.bigint() - t0) / 1e9);
      }
    });
    s.on("error", reject);
  });
}

async function cold(variants, dir, rounds) {
  const size = 256 * 1024 * 1024;
  const file = path.join(dir, "cold");
  const block = Buffer.alloc(1024 * 1024, 0x62);
  const fd = fs.openSync(file, "w");
  for (let off = 0; off < size; off += block.length) fs.writeSync(fd, block, 0, block.length, off);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const evict = () => {
    const r = spawnSync("python3", ["-c", "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)", file]);
    if (r.status !== 0) throw new Error(`evict failed: ${r.stderr}`);
  };
  const out = {};
  for (const v of variants) {
    const server = await startServer(v, file, size);
    const times = [];
    for (let r = 0; r < rounds; r++) {
      evict();
      times.push(await oneTransfer(server.port, size));
      await new Promise((res) => setTimeout(res, 50));
    }
    server.child.kill("SIGKILL");
    out[v] = { mbs: median(times.map((s) => size / s / 1e6)), lag: median(server.lags), worstLag: Math.max(...server.lags) };
    process.stderr.write(`cold 256m ${v}: ${out[v].mbs.toFixed(0)} MB/s, loop lag median ${out[v].lag.toFixed(1)} ms, worst ${out[v].worstLag.toFixed(1)} ms\n`);
  }
  return [
    "",
    `Cold page cache, 256 MiB, one transfer at a time, ${rounds} rounds; medians`,
    "",
    "| variant | MB/s | worst 1 ms-timer delay in the server loop (median of rounds / worst) |",
    "|---|---|---|",
    ...variants.map((v) => `| ${v} | ${out[v].mbs.toFixed(0)} | ${out[v].lag.toFixed(1)} ms / ${out[v].worstLag.toFixed(1)} ms |`),
  ];
}

async function main() {
  const rounds = Number(opt("--rounds", "5"));
  const secs = Number(opt("--secs", "2"));
  const conns = Number(opt("--conns", "8"));
  const sizes = opt("--sizes", "4k,64k,1m,256m").split(",");
  const variants = opt("--variants", "splice,syscall,generic,node").split(",");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sendfile-bench-"));
  const rows = [];
  let coldLines = [];
  try {
    for (const label of sizes) {
      const size = parseSize(label);
      const file = path.join(dir, label);
      const block = Buffer.alloc(1024 * 1024, 0x61);
      const fd = fs.openSync(file, "w");
      for (let off = 0; off < size; off += block.length) fs.writeSync(fd, block, 0, Math.min(block.length, size - off), off);
      fs.closeSync(fd);
      const servers = {};
      for (const v of variants) servers[v] = await startServer(v, file, size);
      const results = Object.fromEntries(variants.map((v) => [v, []]));
      // Large files: fewer connections and a longer window (each transfer is long already).
      const big = size >= 64 * 1024 * 1024;
      const c = big ? 4 : conns;
      const window = big ? Math.max(secs, 4) : secs;
      for (let r = 0; r < rounds; r++) {
        const order = variants.map((_, i) => variants[(i + r) % variants.length]);
        for (const v of order) results[v].push(await runLoad(servers[v].port, size, c, window));
      }
      for (const v of variants) servers[v].child.kill("SIGKILL");
      const row = { size: label };
      for (const v of variants) row[v] = { reqs: median(results[v].map((x) => x.reqs)), mbs: median(results[v].map((x) => x.mbs)) };
      rows.push(row);
      process.stderr.write(`${label}: ${variants.map((v) => `${v} ${row[v].reqs.toFixed(0)} req/s ${row[v].mbs.toFixed(0)} MB/s`).join(", ")}\n`);
    }
    if (argv.includes("--cold")) coldLines = await cold(variants, dir, rounds);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const lines = [
    `sendfile-bench, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, kernel ${os.release()}: loopback TCP, server on CPU 0, reader on CPU 1, ` +
      `${rounds} rounds x ${secs} s, ${conns} connections (4 and >= 4 s for >= 64 MiB); medians; req/s \\| MB/s (10^6 B).`,
    "",
    `Command: \`npm run build:ts && node perf/sendfile-bench.mjs ${argv.filter((a) => a !== "--write").join(" ")}\``.replace(/ `$/, "`"),
    "",
    `| size | ${variants.join(" | ")} |`,
    `|---|${variants.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.size} | ${variants.map((v) => `${row[v].reqs.toFixed(0)} \\| ${row[v].mbs.toFixed(0)}`).join(" | ")} |`),
    ...coldLines,
  ];
  console.log(lines.join("\n"));
  if (argv.includes("--write")) process.stderr.write(`wrote ${writeSection("sendfile-bench", "perf/sendfile-bench.mjs", lines.join("\n"))}\n`);
}
