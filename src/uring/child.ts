// Child processes on the io_uring backend (the Proactor's spawnChild, src/proactor.ts "child
// processes"): native spawn (native/spawn.cc: clone + execve, then a pidfd),
// the parent ends of the pipes as UringPipeEndpoints, and the exit watched through the ring.
//
// Exit watch, one op in flight until the child is reaped:
//   WAITID(P_PIDFD, WEXITED) (kernel 6.7, optional): completes once the child exited and
//   was reaped by the kernel for us; the status is read from the op's storage
//   (ring.waitidResult). Without the opcode: POLL_ADD(POLLIN) on the pidfd (it polls
//   readable once the child exits), then waitid(P_PIDFD, WNOHANG) (children.wait).
//   waitid failing (-ECHILD: someone else reaped it, e.g. a waitpid(-1) elsewhere in the
//   process): returncode 255, as asyncio reports an unknown child, with a warning.
// Only our child's pidfd is ever waited on: libuv's SIGCHLD handler waits for its own pids
// only, so Node's child_process and we never reap each other's children.
// Ownership: the pidfd is ours until the child is reaped (then closed at once), and the op
// keeps it open while in flight; signals go through it (pidfd_send_signal), so a reused pid
// is never hit. States: running --exit CQE--> reaped (pidfd closed, onExit once)
//   running --proactor close--> killed (SIGKILL, reaped with a bounded wait, pidfd closed;
//   no onExit). An exit reaped before setSink() is delivered after one NOP round trip.
import type { ChildEndpoint, ChildSink, ChildStdio, SpawnRequest, StreamEndpoint } from "../proactor.js";
import { systemError, errno } from "../system-error.js";
import { logger } from "../log.js";
import { OP_WAITID, OP_POLL_ADD, OP_NOP, S_FLAGS, S_LEN, P_PIDFD, WEXITED, POLLIN } from "./native.js";
import { nativeChildren, nativeSockets, STDIO_PIPE, STDIO_STDOUT, STDIO_DEVNULL, STDIO_INHERIT } from "../addon.js";
import type { OpHandler } from "./ring.js";
import { UringPipeEndpoint, type PipeContext } from "./pipe.js";

const { ECHILD, ESRCH } = errno;
const SIGKILL = 9;
/** How long the proactor's close waits for a child it killed to be reaped. */
const REAP_ON_CLOSE_MS = 1000;

export interface ChildContext extends PipeContext {
  /** WAITID is there (kernel 6.7) and not turned off (opcodes.ts). */
  readonly waitid: boolean;
  /** `child` owns `pidfd` until it is reaped (the proactor's close kills and reaps it). */
  trackChild(child: UringChild, pidfd: number): void;
  /** Called BEFORE the child closes its pidfd. */
  releasedChild(child: UringChild, pidfd: number): void;
}

const STDIO_CODES: Record<string, number> = { pipe: STDIO_PIPE, stdout: STDIO_STDOUT, devnull: STDIO_DEVNULL, inherit: STDIO_INHERIT };

/** Node's spawn error: "spawn <file> ENOENT" with code, errno, syscall, path, spawnargs. */
function spawnError(res: number, req: SpawnRequest): Error {
  const err: Error & { path?: string; spawnargs?: string[] } = systemError(res, `spawn ${req.file}`);
  err.path = req.file;
  err.spawnargs = req.argv.slice(1);
  return err;
}

export function spawnChild(ctx: ChildContext, req: SpawnRequest): Promise<ChildEndpoint> {
  const stdio = Int32Array.from(req.stdio, (s: ChildStdio) => (typeof s === "number" ? s : STDIO_CODES[s]));
  const out = new Int32Array(5);
  const r = nativeChildren().spawn(req.file, req.argv, req.env, req.cwd, stdio, out);
  if (r < 0) return Promise.reject(spawnError(r, req));
  const [pid, pidfd] = out;
  const pipes: [StreamEndpoint | null, StreamEndpoint | null, StreamEndpoint | null] = [null, null, null];
  for (let i = 0; i < 3; i++) {
    const fd = out[2 + i];
    if (fd >= 0) pipes[i] = new UringPipeEndpoint(ctx, fd, i === 0 ? "write" : "read");
  }
  return Promise.resolve(new UringChild(ctx, pid, pidfd, pipes));
}

export class UringChild implements ChildEndpoint, OpHandler {
  private sink: ChildSink | null = null;
  private returncode: number | null = null;
  private delivered = false;
  /** -1 once reaped (or killed by the proactor's close) and closed. */
  private pidfd: number;
  private slot = -1;
  /** The op in `slot` is a POLL_ADD on the pidfd (no WAITID), or the NOP of a late setSink. */
  private polling: boolean;
  private readonly status = new Int32Array(1);

  constructor(
    private readonly ctx: ChildContext,
    readonly pid: number,
    pidfd: number,
    readonly pipes: [StreamEndpoint | null, StreamEndpoint | null, StreamEndpoint | null],
  ) {
    this.pidfd = pidfd;
    this.polling = !ctx.waitid;
    ctx.trackChild(this, pidfd);
    this.watch();
  }

  setSink(sink: ChildSink): void {
    this.sink = sink;
    if (this.returncode !== null && !this.delivered && this.slot < 0) {
      this.slot = this.ctx.ring.alloc(this);
      this.ctx.ring.stageRecord(OP_NOP, this.slot, -1);
    }
  }

  signal(signal: number): boolean {
    if (this.pidfd < 0) return false;
    const r = nativeChildren().signal(this.pidfd, signal);
    if (r === -ESRCH) return false;
    if (r < 0) throw systemError(r, "kill");
    return true;
  }

  private watch(): void {
    const ring = this.ctx.ring;
    this.slot = ring.alloc(this);
    if (this.polling) {
      const off = ring.stageRecord(OP_POLL_ADD, this.slot, this.pidfd);
      ring.setField(off, S_FLAGS, POLLIN);
    } else {
      const off = ring.stageRecord(OP_WAITID, this.slot, this.pidfd);
      ring.setField(off, S_LEN, P_PIDFD);
      ring.setField(off, S_FLAGS, WEXITED);
    }
  }

  _complete(res: number, _flags: number, slot: number): void {
    this.slot = -1;
    if (this.returncode !== null) {
      this.deliver();
      return;
    }
    if (this.pidfd < 0) return;
    let rc: number | null = null;
    let failed = 0;
    if (!this.polling) {
      if (res === 0) rc = this.ctx.ring.native.waitidResult(slot);
      else if (res === -ECHILD) failed = res;
      else this.polling = true; // WAITID refused this id: watch the pidfd by polling instead
    } else {
      const w = nativeChildren().wait(this.pidfd, this.status);
      if (w === 1) rc = this.status[0];
      else if (w < 0) failed = w;
    }
    if (failed !== 0) {
      logger.warning(`child process pid ${this.pid}: waitid failed (${systemError(failed, "waitid").code}); it was reaped elsewhere, its returncode is reported as 255`);
      rc = 255;
    }
    if (rc === null) this.watch();
    else this.reaped(rc);
  }

  private reaped(returncode: number): void {
    this.returncode = returncode;
    this.releasePidfd();
    this.deliver();
  }

  private deliver(): void {
    if (this.sink === null || this.delivered) return;
    this.delivered = true;
    this.sink.onExit(this.returncode!);
  }

  private releasePidfd(): void {
    this.ctx.releasedChild(this, this.pidfd);
    nativeSockets().close(this.pidfd);
    this.pidfd = -1;
  }

  /** The proactor is closing (the ring is closed, the watch op gone): kill, reap, release. */
  _forceClose(): void {
    if (this.pidfd < 0) return;
    killAndReap(this.pidfd);
    this.releasePidfd();
  }
}

/** SIGKILL through the pidfd, then a bounded wait for the exit (no zombie left behind). */
function killAndReap(pidfd: number): void {
  const children = nativeChildren();
  children.signal(pidfd, SIGKILL);
  children.reap(pidfd, REAP_ON_CLOSE_MS, new Int32Array(1));
}
