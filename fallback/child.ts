// Child processes on the fallback backend (the Proactor's spawnChild, src/proactor.ts "child
// processes"): node:child_process.spawn. Node (libuv) reaps the child and reports its exit;
// the parent ends of stdout/stderr pipes are the Sockets Node made (socketpairs), served by
// FallbackStreamEndpoint. The ChildProcess is unref'd (as the pipes are, fallback/pipe.ts):
// while the loop runs the proactor keeps Node alive.
//
// Two pipes are a connected Unix socket pair made here instead (socketPair: a listening
// socket, in the abstract namespace on Linux, else in os.tmpdir() and removed at once),
// the child getting one end as Node would give it its own socketpair end:
//   - stdin: Node opens its end of the stdin pipe write-only, so nothing would tell us the
//     child closed it; our end of a pair is readable, and its EOF is the pipe transport's
//     "reader gone" (src/proactor.ts "pipes").
//   - stderr "stdout" with stdout a pipe: Node cannot point the child's fd 2 at the fd 1
//     pipe it makes; both get the child's end of one pair.
// Spawn errors are Node's own ("spawn <file> ENOENT", code, errno, syscall, path, spawnargs).
import * as cp from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { ChildEndpoint, ChildSink, ChildStdio, SpawnRequest, StreamEndpoint } from "../src/proactor.js";
import { pipeEndpoint } from "./pipe.js";
import type { FallbackHost } from "./stream.js";

const SIGNALS = os.constants.signals as Record<string, number>;

/** What child processes need from the FallbackProactor beyond what streams do. */
export interface ChildHost extends FallbackHost {
  /** A child not yet exited (the proactor's close kills it); false once the proactor is closed. */
  trackChild(child: cp.ChildProcess): boolean;
  /** An error Node reports on a running child (a failed kill) goes to the exception handler. */
  reportError(err: Error): void;
}

function envObject(env: string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const entry of env) {
    const eq = entry.indexOf("=");
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

function nodeStdio(s: ChildStdio, stdout: ChildStdio): cp.IOType | number {
  if (typeof s === "number") return s;
  if (s === "devnull") return "ignore";
  if (s !== "stdout") return s;
  // fd 2 as the child's fd 1, which is not a pipe here (see the header for that case).
  return typeof stdout === "number" ? stdout : stdout === "devnull" ? "ignore" : 1;
}

/** A connected pair of Unix stream sockets, both paused: [ours, the child's]. */
function socketPair(): Promise<[net.Socket, net.Socket]> {
  const name = `ringloop-${process.pid}-${crypto.randomBytes(8).toString("hex")}`;
  const where = process.platform === "linux" ? `\0${name}` : path.join(os.tmpdir(), `${name}.sock`);
  return new Promise((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
    let ours: net.Socket | null = null;
    const done = (err: Error | null, theirs?: net.Socket): void => {
      server.close();
      if (where[0] !== "\0") fs.rmSync(where, { force: true });
      if (err === null) resolve([ours!, theirs!]);
      else {
        ours?.destroy();
        reject(err);
      }
    };
    server.once("error", (err) => done(err));
    server.once("connection", (theirs) => done(null, theirs));
    server.listen(where, () => {
      ours = net.connect({ path: where, allowHalfOpen: true });
      ours.pause();
      ours.once("error", (err) => done(err));
    });
  });
}

export async function spawnChild(host: ChildHost, req: SpawnRequest): Promise<ChildEndpoint> {
  const [inSpec, outSpec, errSpec] = req.stdio;
  const stdio: Array<cp.IOType | number | net.Socket> = [nodeStdio(inSpec, outSpec), nodeStdio(outSpec, outSpec), nodeStdio(errSpec, outSpec)];
  const stdin = inSpec === "pipe" ? await socketPair() : null;
  let merged: [net.Socket, net.Socket] | null = null;
  try {
    if (outSpec === "pipe" && errSpec === "stdout") merged = await socketPair();
  } catch (err) {
    stdin?.[0].destroy();
    stdin?.[1].destroy();
    throw err;
  }
  if (stdin !== null) stdio[0] = stdin[1];
  if (merged !== null) stdio[1] = stdio[2] = merged[1];
  return new Promise((resolve, reject) => {
    const child = cp.spawn(req.file, req.argv.slice(1), { argv0: req.argv[0], cwd: req.cwd ?? undefined, env: envObject(req.env), stdio, windowsHide: true });
    stdin?.[1].destroy();
    merged?.[1].destroy();
    const onError = (err: Error): void => {
      stdin?.[0].destroy();
      merged?.[0].destroy();
      reject(err);
    };
    child.once("error", onError);
    child.once("spawn", () => {
      child.removeListener("error", onError);
      if (host.trackChild(child)) {
        resolve(new FallbackChild(child, host, stdin?.[0] ?? null, merged?.[0] ?? null));
        return;
      }
      // The loop closed while Node was starting it: nobody will follow this child.
      child.kill("SIGKILL");
      for (const s of [child.stdin, child.stdout, child.stderr, stdin?.[0], merged?.[0]]) s?.destroy();
      reject(new Error("the fallback proactor is closed"));
    });
  });
}

class FallbackChild implements ChildEndpoint {
  readonly pid: number;
  readonly pipes: [StreamEndpoint | null, StreamEndpoint | null, StreamEndpoint | null];
  private sink: ChildSink | null = null;
  private returncode: number | null = null;
  private delivered = false;

  /** `stdin` / `stdout`: our ends of the socket pairs made for them (see the header), else Node's Sockets serve. */
  constructor(
    private readonly child: cp.ChildProcess,
    private readonly host: ChildHost,
    stdin: net.Socket | null,
    stdout: net.Socket | null,
  ) {
    this.pid = child.pid!;
    const endpoint = (s: unknown): StreamEndpoint | null => (s instanceof net.Socket ? pipeEndpoint(s, host) : null);
    this.pipes = [endpoint(stdin), endpoint(stdout ?? child.stdout), endpoint(child.stderr)];
    child.unref();
    // Node reports spawn errors before 'spawn'; a later one (a failed kill, EPERM) is reported.
    child.on("error", (err) => host.reportError(err));
    child.once("exit", (code, signal) => {
      this.returncode = code ?? -(SIGNALS[signal ?? ""] ?? 0);
      this.deliver();
    });
  }

  setSink(sink: ChildSink): void {
    this.sink = sink;
    if (this.returncode !== null) setImmediate(() => this.deliver());
  }

  signal(signal: number): boolean {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return false;
    return this.child.kill(signal);
  }

  private deliver(): void {
    if (this.sink === null || this.delivered) return;
    this.delivered = true;
    this.sink.onExit(this.returncode!);
    this.host.notify();
  }
}
