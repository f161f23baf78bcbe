// One sendfile over sendfile(2) issued on writability: a native loop of non-blocking
// sendfile() calls (NativeRing.sendfileNow, one N-API call per writability event) until the
// count, EOF or EAGAIN; on EAGAIN, POLL_ADD(POLLOUT) on the socket, then again.
//
//   start     sendfileNow at once (at most BUDGET bytes per event) (a fresh socket is nearly always writable); the result is
//             reported through a NOP completion, never synchronously
//   Poll      POLL_ADD(POLLOUT) -> sendfileNow -> done, or Poll again
// sendfile(2) reads the file on the loop's thread: a page not in the page cache blocks the
// loop for that read (the splice path reads in io_uring's workers instead).
// At most ONE op in flight; cancel() cancels it and done() runs after its final CQE.
import { OP_POLL_ADD, OP_NOP, POLLOUT, S_FLAGS } from "./native.js";
import { systemError, errno } from "../system-error.js";
import { FileSendOp, fileSendStats, type FileSendContext, type FileSendDone } from "./sendfile-op.js";

const { EAGAIN, ECANCELED } = errno;

/** Bytes per writability event at most: a fast reader must not keep the loop in one call. */
const BUDGET = 1024 * 1024;

/** result[0] of sendfileNow (one per process: calls never overlap, JS is single-threaded). */
const result = new Float64Array(1);

export class SyscallSend extends FileSendOp {
  private polling = false;

  constructor(ctx: FileSendContext, sock: number, file: number, offset: number, left: number, done: FileSendDone) {
    super(ctx, sock, file, offset, left, done);
    this.run();
  }

  /** Sends what the socket takes now; then waits for POLLOUT or reports through a NOP. */
  private run(): void {
    const asked = Math.min(this.left, BUDGET);
    const r = this.ctx.ring.native.sendfileNow(this.sock, this.file, this.offset, asked, result);
    const n = result[0];
    this.sent += n;
    this.offset += n;
    this.left -= n;
    const ring = this.ctx.ring;
    this.slot = ring.alloc(this);
    // Socket full, or the budget used up with more to send: wait for writability.
    if ((r === -EAGAIN || (r === 0 && n === asked)) && this.left > 0) {
      this.polling = true;
      fileSendStats.syscallPolls++;
      const off = ring.stageRecord(OP_POLL_ADD, this.slot, this.sock);
      ring.setField(off, S_FLAGS, POLLOUT);
      return;
    }
    if (r < 0 && r !== -EAGAIN) this.error = systemError(r, "sendfile");
    this.polling = false;
    ring.stageRecord(OP_NOP, this.slot, -1);
  }

  _complete(res: number, _flags: number, slot: number): void {
    if (slot !== this.slot) return;
    this.slot = -1;
    if (this.polling && !this.cancelled) {
      if (res >= 0) return this.run();
      if (res !== -ECANCELED) this.error = systemError(res, "poll");
    }
    this.done(this.sent, this.error);
  }
}
