// The pipes loop.sendfile's splice path goes through (file -> pipe -> socket), pooled per
// loop: creating a pipe and resizing it (F_SETPIPE_SZ) costs three syscalls, more than a
// small file's whole send.
//
// Rules: a pipe is taken by one sendfile at a time; only a pipe known to be EMPTY goes back
// to the pool (give): one left with unsent bytes after an error or a cancel is closed
// (discard), else its bytes would go out on the next connection. At most MAX_IDLE idle
// pipes are kept; the rest are closed. close() (the loop closes) closes the idle ones; a
// pipe in use is closed by its sendfile when it ends.
import type { NativeRing } from "./native.js";
import { nativeSockets } from "../addon.js";
import { systemError } from "../system-error.js";

/** Requested pipe capacity: 1 MiB (the default pipe-max-size; F_SETPIPE_SZ is capped to it). */
export const PIPE_SIZE = 1024 * 1024;
/** Idle pipes kept per loop (2 fds each). */
const MAX_IDLE = 8;

export interface Pipe {
  readonly r: number;
  readonly w: number;
  /** Capacity in bytes (what F_SETPIPE_SZ granted). */
  readonly size: number;
}

export class PipePool {
  private idle: Pipe[] = [];
  private closed = false;
  /** Pipes created (tests check reuse). */
  created = 0;

  constructor(private readonly native: NativeRing) {}

  /** An empty pipe, or the system error of pipe2. */
  take(): Pipe | Error {
    if (this.closed) return new Error("the io_uring proactor is closed");
    const p = this.idle.pop();
    if (p !== undefined) return p;
    const r = this.native.openPipe(PIPE_SIZE);
    if (typeof r === "number") return systemError(r, "pipe2");
    this.created++;
    return { r: r[0], w: r[1], size: r[2] };
  }

  /** `pipe` is empty: keep it for the next sendfile. */
  give(pipe: Pipe): void {
    if (this.closed || this.idle.length >= MAX_IDLE) this.discard(pipe);
    else this.idle.push(pipe);
  }

  /** `pipe` may hold bytes (or is not wanted): close it. */
  discard(pipe: Pipe): void {
    nativeSockets().close(pipe.r);
    nativeSockets().close(pipe.w);
  }

  get idleCount(): number {
    return this.idle.length;
  }

  close(): void {
    this.closed = true;
    for (const p of this.idle) this.discard(p);
    this.idle = [];
  }
}
