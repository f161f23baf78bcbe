// Shared pieces of the pipe and subprocess suites: FIFOs (mkfifo), protocols that record
// what a pipe or a child did, bounded waits, and the zombie check.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { Protocol, SubprocessProtocol, type ReadTransport, type WriteTransport, type SubprocessTransport } from "ringloop";
import { deferred } from "../streams/_streams.js";

export { inLoop, within, sha256, deferred } from "../streams/_streams.js";

/** A FIFO in a fresh temp dir, opened both ways: [read fd, write fd]; `remove()` deletes it. */
export function openFifo(): { r: number; w: number; path: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-fifo-"));
  const p = path.join(dir, "fifo");
  const made = spawnSync("mkfifo", [p]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  // The reader first, non-blocking (it does not wait for a writer); then the writer, which
  // finds a reader and does not block.
  const r = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const w = fs.openSync(p, fs.constants.O_WRONLY);
  return { r, w, path: p, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `body` with a fresh FIFO (openFifo), removed after. */
export async function withFifo<T>(body: (fifo: ReturnType<typeof openFifo>) => Promise<T>): Promise<T> {
  const fifo = openFifo();
  try {
    return await body(fifo);
  } finally {
    fifo.remove();
  }
}

/** Reads a pipe to its end: hashes and counts, records the order of its calls. */
export class PipeReader extends Protocol {
  transport!: ReadTransport;
  readonly hash = crypto.createHash("sha256");
  chunks: Buffer[] = [];
  keep = false;
  bytes = 0;
  readonly events: string[] = [];
  readonly made = deferred<void>();
  readonly eof = deferred<void>();
  readonly lost = deferred<Error | null>();
  override connectionMade(t: ReadTransport): void {
    this.transport = t;
    this.events.push("made");
    this.made.resolve();
  }
  override dataReceived(data: Buffer): void {
    this.bytes += data.length;
    this.hash.update(data);
    if (this.keep) this.chunks.push(data);
    if (this.events[this.events.length - 1] !== "data") this.events.push("data");
  }
  override eofReceived(): boolean {
    this.events.push("eof");
    this.eof.resolve();
    return true; // ignored by a read pipe: it closes after EOF all the same
  }
  override connectionLost(exc: Error | null): void {
    this.events.push("lost");
    this.lost.resolve(exc);
  }
}

/** Writes `payload` in chunks while not paused, then writeEof() (or not, `eof` false). */
export class PipeWriter extends Protocol {
  transport!: WriteTransport;
  pauses = 0;
  resumes = 0;
  private offset = 0;
  private paused = false;
  readonly lost = deferred<Error | null>();
  constructor(
    private readonly payload: Buffer = Buffer.alloc(0),
    private readonly chunk = 256 * 1024,
    private readonly eof = true,
  ) {
    super();
  }
  override connectionMade(t: WriteTransport): void {
    this.transport = t;
    this.pump();
  }
  private pump(): void {
    while (!this.paused && this.offset < this.payload.length) {
      const end = Math.min(this.offset + this.chunk, this.payload.length);
      this.transport.write(this.payload.subarray(this.offset, end));
      this.offset = end;
    }
    if (this.offset === this.payload.length && this.eof && !this.transport.isClosing()) this.transport.writeEof();
  }
  override pauseWriting(): void {
    this.pauses++;
    this.paused = true;
  }
  override resumeWriting(): void {
    this.resumes++;
    this.paused = false;
    this.pump();
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

/** Records a child's calls in order, its output per fd, and settles `lost` at connectionLost. */
export class ChildRecorder extends SubprocessProtocol {
  transport!: SubprocessTransport;
  readonly events: string[] = [];
  readonly out: Record<number, Buffer[]> = { 1: [], 2: [] };
  readonly pipeErrors: Record<number, Error | null> = {};
  readonly made = deferred<void>();
  readonly exited = deferred<void>();
  readonly lost = deferred<Error | null>();
  pauses = 0;
  override connectionMade(t: SubprocessTransport): void {
    this.transport = t;
    this.events.push("made");
    this.made.resolve();
  }
  override pipeDataReceived(fd: number, data: Buffer): void {
    this.out[fd].push(data);
    const last = this.events[this.events.length - 1];
    if (last !== `data${fd}`) this.events.push(`data${fd}`);
  }
  override pipeConnectionLost(fd: number, exc: Error | null): void {
    this.pipeErrors[fd] = exc;
    this.events.push(`pipeLost${fd}`);
  }
  override processExited(): void {
    this.events.push("exited");
    this.exited.resolve();
  }
  override pauseWriting(): void {
    this.pauses++;
  }
  override connectionLost(exc: Error | null): void {
    this.events.push("lost");
    this.lost.resolve(exc);
  }
  text(fd: number): string {
    return Buffer.concat(this.out[fd]).toString();
  }
}

/** Pids of this process's children (any thread's) that still exist, zombies included. */
export function livingChildren(): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync("/proc/self/task")) {
    const text = fs.readFileSync(`/proc/self/task/${tid}/children`, "utf8").trim();
    if (text !== "") out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

/** Whether `pid` is still a child of this process (alive or a zombie nobody reaped). */
export function isOurChild(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return ppid === process.pid;
  } catch {
    return false;
  }
}
