// One measurement of subprocess-bench.mjs in a fresh process (the driver runs it under
// taskset): prints one JSON line.
//
//   node perf/subprocess-variant.mjs <uring|fallback|node> pipe <bytes> <cat argv as JSON>
//     <bytes> through the cat command (its stdin written from one reused 1 MiB buffer with
//     flow control, its stdout counted): {"mbps", "secs"}
//   node perf/subprocess-variant.mjs <uring|fallback|node> spawn <count>
//     <count> `true` children one after another, each awaited to its end (exit and stdio
//     closed): ringloop's connectionLost, child_process's 'close': {"usPerSpawn", "secs"}
// ringloop: loop.subprocessExec and its pipe transports (stdin/stdout/stderr PIPE, the
// default); node: child_process.spawn with stdio 'pipe' (the default), the source piped into
// child.stdin with stream.pipe() (backpressure by the stream machinery).
import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { performance } from "node:perf_hooks";
import { run, getRunningLoop, UringEventLoopPolicy, FallbackEventLoopPolicy, setEventLoopPolicy, SubprocessProtocol } from "../dist/esm/index.mjs";

const [variant, workload, arg, catArgv] = process.argv.slice(2);
const CHUNK = 1024 * 1024;

function source(bytes) {
  const chunk = Buffer.alloc(CHUNK, 0x61);
  let left = bytes;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (left <= 0) return this.push(null);
      const n = Math.min(left, CHUNK);
      left -= n;
      this.push(n === CHUNK ? chunk : chunk.subarray(0, n));
    },
  });
}

function nodePipe(bytes, argv) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
    let got = 0;
    child.stdout.on("data", (d) => (got += d.length));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0 || got !== bytes) reject(new Error(`cat: code ${code}, ${got} bytes`));
      else resolve((performance.now() - t0) / 1000);
    });
    source(bytes).pipe(child.stdin);
  });
}

function nodeSpawn(count) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let left = count;
    const next = () => {
      if (left-- === 0) return resolve((performance.now() - t0) / 1000);
      const child = spawn("true");
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? next() : reject(new Error(`true exited ${code}`))));
    };
    next();
  });
}

class Feeder extends SubprocessProtocol {
  constructor(bytes, done) {
    super();
    this.left = bytes;
    this.got = 0;
    this.paused = false;
    this.done = done;
    this.chunk = Buffer.alloc(CHUNK, 0x61);
  }
  connectionMade(transport) {
    this.transport = transport;
    this.stdin = transport.getPipeTransport(0);
    this.pump();
  }
  pump() {
    while (!this.paused && this.left > 0) {
      const n = Math.min(this.left, CHUNK);
      this.stdin.write(n === CHUNK ? this.chunk : this.chunk.subarray(0, n));
      this.left -= n;
    }
    if (this.left === 0 && !this.stdin.isClosing()) this.stdin.writeEof();
  }
  pauseWriting() {
    this.paused = true;
  }
  resumeWriting() {
    this.paused = false;
    this.pump();
  }
  pipeDataReceived(fd, data) {
    this.got += data.length;
  }
  connectionLost() {
    this.done(this.got, this.transport.getReturncode());
  }
}

async function ringPipe(bytes, argv) {
  const loop = getRunningLoop();
  const t0 = performance.now();
  const finished = loop.createFuture();
  const [tr] = await loop.subprocessExec(() => new Feeder(bytes, (got, code) => finished.setResult([got, code])), argv[0], argv.slice(1), { stderr: null });
  const [got, code] = await finished;
  tr.close();
  if (code !== 0 || got !== bytes) throw new Error(`cat: code ${code}, ${got} bytes`);
  return (performance.now() - t0) / 1000;
}

async function ringSpawn(count) {
  const loop = getRunningLoop();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const finished = loop.createFuture();
    const [tr] = await loop.subprocessExec(() => Object.assign(new SubprocessProtocol(), { connectionLost: () => finished.setResult() }), "true");
    await finished;
    if (tr.getReturncode() !== 0) throw new Error(`true exited ${tr.getReturncode()}`);
    tr.close();
  }
  return (performance.now() - t0) / 1000;
}

async function measure() {
  if (workload === "pipe") {
    const bytes = Number(arg);
    const argv = JSON.parse(catArgv);
    const secs = variant === "node" ? await nodePipe(bytes, argv) : await run(() => ringPipe(bytes, argv));
    return { mbps: bytes / 1e6 / secs, secs };
  }
  const count = Number(arg);
  const secs = variant === "node" ? await nodeSpawn(count) : await run(() => ringSpawn(count));
  return { usPerSpawn: (secs * 1e6) / count, secs };
}

if (variant !== "node") setEventLoopPolicy(variant === "uring" ? new UringEventLoopPolicy() : new FallbackEventLoopPolicy());
measure().then(
  (r) => process.stdout.write(JSON.stringify(r) + "\n"),
  (err) => {
    process.stderr.write(`${variant} ${workload}: ${err.stack ?? err}\n`);
    process.exit(1);
  },
);
