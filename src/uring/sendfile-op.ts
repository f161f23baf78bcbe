// What the two native sendfile strategies (sendfile-splice.ts, sendfile-syscall.ts) share:
// the context they run in, how they report, the cancel rule, and their counters.
import type { OpHandler, Ring } from "./ring.js";
import type { PipePool } from "./sendfile-pipes.js";
import { OP_ASYNC_CANCEL, NO_OP_INDEX } from "./native.js";

/** What a file send needs from its loop. */
export interface FileSendContext {
  readonly ring: Ring;
  pipes(): PipePool;
}

/** `sent` bytes reached the socket; `err` null with sent < count = the file ended early. */
export type FileSendDone = (sent: number, err: Error | null) => void;

export interface FileSend {
  /** Cancels the op in flight; done() still runs, after its final CQE. */
  cancel(): void;
  /** As cancel(), but synchronously (kernel 6.0): the socket may be closed on return. */
  cancelNow(): void;
  /** Bytes that reached the socket so far. */
  readonly progress: number;
  /** The ring is closed (no op can still complete): release what is held, report nothing. */
  forceRelease(): void;
}

/** Counters for tests and profiling (process-wide). */
export const fileSendStats = { splice: 0, syscall: 0, splicePolls: 0, syscallPolls: 0, shortSplices: 0 };

/** One send with at most ONE op in flight (in `slot`). */
export abstract class FileSendOp implements FileSend, OpHandler {
  protected slot = -1;
  protected cancelled = false;
  protected sent = 0;
  protected error: Error | null = null;

  constructor(
    protected readonly ctx: FileSendContext,
    protected readonly sock: number,
    protected readonly file: number,
    protected offset: number,
    protected left: number,
    protected readonly done: FileSendDone,
  ) {}

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    if (this.slot >= 0) this.ctx.ring.stageTargeted(OP_ASYNC_CANCEL, NO_OP_INDEX, this.slot, 0);
  }

  get progress(): number {
    return this.sent;
  }

  cancelNow(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    if (this.slot >= 0 && !this.ctx.ring.cancelSync(this.slot)) this.ctx.ring.stageTargeted(OP_ASYNC_CANCEL, NO_OP_INDEX, this.slot, 0);
  }

  forceRelease(): void {
    this.slot = -1;
  }

  abstract _complete(res: number, flags: number, slot: number): void;
}
