// One sendfile over splice (IORING_OP_SPLICE, kernel 5.7): file -> pipe -> socket through a
// pooled pipe (sendfile-pipes.ts). Each hop is started by the previous completion (linked
// SQEs would break the chain on every short splice, which is normal here):
//
//   Fill   splice file -> pipe, min(pipe size, left) bytes from `offset`
//            res > 0 -> Drain with res bytes in the pipe; 0 -> EOF: done (short)
//   Drain  splice pipe -> socket, all the pipe holds
//            res > 0 -> Drain the rest (short splice), else Fill, or done at count
//            -EAGAIN -> Poll (the socket is full: its send buffer, or a slow reader)
//   Poll   POLL_ADD(POLLOUT) on the socket -> Drain
//   Nop    reports a failure found before any op (no pipe) asynchronously
// At most ONE op in flight. cancel() cancels it; every op's final CQE arrives before the
// pipe is released and done() runs, so the caller may close the file only then (DESIGN.md,
// Ownership). The pipe goes back to the pool only when it is known to be empty.
import {
  OP_SPLICE, OP_POLL_ADD, OP_NOP, POLLOUT,
  S_FLAGS, S_LEN, S_OFF_LO, S_OFF_HI, S_SPLICE_FD_IN, SPLICE_F_MOVE, SPLICE_F_NONBLOCK,
} from "./native.js";
import type { Pipe } from "./sendfile-pipes.js";
import { systemError, errno } from "../system-error.js";
import { FileSendOp, fileSendStats, type FileSendContext, type FileSendDone } from "./sendfile-op.js";

const { EAGAIN, ECANCELED } = errno;

const enum Step { Idle, Fill, Drain, Poll, Nop }

const TWO_32 = 2 ** 32;

export class SpliceSend extends FileSendOp {
  private step = Step.Idle;
  private pipe: Pipe | null = null;
  private inPipe = 0;

  constructor(ctx: FileSendContext, sock: number, file: number, offset: number, left: number, done: FileSendDone) {
    super(ctx, sock, file, offset, left, done);
    const pipe = ctx.pipes().take();
    if (pipe instanceof Error) {
      this.error = pipe;
      this.issue(Step.Nop);
      return;
    }
    this.pipe = pipe;
    this.fill();
  }

  /** The ring is gone (every op has completed): release the pipe, report nothing. */
  override forceRelease(): void {
    super.forceRelease();
    this.releasePipe(false);
  }

  private issue(step: Step): number {
    const ring = this.ctx.ring;
    this.slot = ring.alloc(this);
    this.step = step;
    switch (step) {
      case Step.Fill: {
        const off = ring.stageRecord(OP_SPLICE, this.slot, this.pipe!.w);
        ring.setField(off, S_SPLICE_FD_IN, this.file);
        ring.setField(off, S_OFF_LO, this.offset % TWO_32);
        ring.setField(off, S_OFF_HI, Math.floor(this.offset / TWO_32));
        ring.setField(off, S_LEN, Math.min(this.pipe!.size, this.left));
        ring.setField(off, S_FLAGS, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        return off;
      }
      case Step.Drain: {
        const off = ring.stageRecord(OP_SPLICE, this.slot, this.sock);
        ring.setField(off, S_SPLICE_FD_IN, this.pipe!.r);
        ring.setField(off, S_OFF_LO, -1);
        ring.setField(off, S_OFF_HI, -1);
        ring.setField(off, S_LEN, this.inPipe);
        ring.setField(off, S_FLAGS, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        return off;
      }
      case Step.Poll: {
        const off = ring.stageRecord(OP_POLL_ADD, this.slot, this.sock);
        ring.setField(off, S_FLAGS, POLLOUT);
        return off;
      }
      default:
        return ring.stageRecord(OP_NOP, this.slot, -1);
    }
  }

  private fill(): void {
    if (this.left === 0) this.finish();
    else this.issue(Step.Fill);
  }

  _complete(res: number, _flags: number, slot: number): void {
    if (slot !== this.slot) return;
    this.slot = -1;
    const step = this.step;
    this.step = Step.Idle;
    if (step === Step.Nop) return this.finish();
    if (this.cancelled) {
      // The op may still have moved bytes before the cancel took effect: count them.
      if (res > 0 && step === Step.Fill) this.inPipe += res;
      else if (res > 0 && step === Step.Drain) this.drained(res);
      return this.finish();
    }
    if (step === Step.Poll) {
      if (res < 0) return this.fail(res, "poll");
      this.issue(Step.Drain);
      return;
    }
    if (step === Step.Fill) {
      if (res === 0) return this.finish(); // EOF before count: the caller sees sent < count
      if (res < 0) return this.fail(res, "splice");
      this.inPipe = res;
      this.offset += res;
      this.left -= res;
      this.issue(Step.Drain);
      return;
    }
    // Drain
    if (res === -EAGAIN) {
      fileSendStats.splicePolls++;
      this.issue(Step.Poll);
      return;
    }
    if (res <= 0) return this.fail(res === 0 ? -errno.EPIPE : res, "splice");
    this.drained(res);
    if (this.inPipe > 0) {
      fileSendStats.shortSplices++;
      this.issue(Step.Drain);
    } else this.fill();
  }

  private drained(n: number): void {
    this.inPipe -= n;
    this.sent += n;
  }

  private fail(res: number, syscall: string): void {
    if (res !== -ECANCELED) this.error = systemError(res, syscall);
    this.finish();
  }

  private finish(): void {
    this.releasePipe(this.error === null && !this.cancelled && this.inPipe === 0);
    this.done(this.sent, this.error);
  }

  private releasePipe(pool: boolean): void {
    const pipe = this.pipe;
    this.pipe = null;
    if (pipe === null) return;
    if (pool) this.ctx.pipes().give(pipe);
    else this.ctx.pipes().discard(pipe);
  }
}
