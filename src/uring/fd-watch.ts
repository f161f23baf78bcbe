// The io_uring FdWatch (src/proactor.ts, "fd readiness"): one IORING_OP_POLL_ADD (single
// shot, kernel >= 5.1) per wait. A poll op owns nothing (the kernel holds its own file
// reference), so only the slot has to wait for the final CQE.
// States: waiting --CQE--> done (callback once) | waiting --cancel()--> cancelled (slot freed
// by the CQE that still comes; IORING_REGISTER_SYNC_CANCEL makes the kernel let go at once,
// so the fd may be closed right after) | waiting --proactor close--> done (callback with
// the close error).
import type { FdWatch, FdWatchCallback } from "../proactor.js";
import type { OpHandler, Ring } from "./ring.js";
import { OP_POLL_ADD, S_FLAGS } from "./native.js";
import { systemError } from "../system-error.js";

export interface FdWatchContext {
  readonly ring: Ring;
  /** Fire-and-forget IORING_OP_ASYNC_CANCEL of the op in `slot`. */
  cancel(slot: number): void;
  /** Watches waiting, ended by the proactor's close(). */
  readonly watches: Set<UringFdWatch>;
}

export class UringFdWatch implements OpHandler, FdWatch {
  private readonly slot: number;
  private callback: FdWatchCallback | null;

  constructor(
    private readonly ctx: FdWatchContext,
    fd: number,
    events: number,
    callback: FdWatchCallback,
  ) {
    this.slot = ctx.ring.alloc(this);
    const off = ctx.ring.stageRecord(OP_POLL_ADD, this.slot, fd);
    ctx.ring.setField(off, S_FLAGS, events);
    this.callback = callback;
    ctx.watches.add(this);
  }

  /** @internal OpHandler: res = revents (> 0) or -errno. */
  _complete(res: number): void {
    this.finish(res < 0 ? systemError(res, "poll") : null);
  }

  cancel(): void {
    if (this.callback === null) return;
    this.callback = null;
    this.ctx.watches.delete(this);
    if (!this.ctx.ring.cancelSync(this.slot)) this.ctx.cancel(this.slot);
  }

  /** @internal The proactor closed: the ring has already reaped the op. */
  _abandon(err: Error): void {
    this.finish(err);
  }

  private finish(err: Error | null): void {
    const cb = this.callback;
    if (cb === null) return;
    this.callback = null;
    this.ctx.watches.delete(this);
    cb(err);
  }
}
