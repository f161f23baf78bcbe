// UringListener: a listening stream socket with ONE multishot ACCEPT (kernel >= 5.19).
//
// Rules:
//   - Every CQE with res >= 0 is a new fd we own: handed to the sink as an endpoint, or
//     closed at once when the listener is closed (a CQE that raced the cancel).
//   - A CQE without F_MORE ends the accept: re-armed while accepting, except after an
//     error other than ECANCELED / ECONNABORTED (EMFILE, ENFILE, ...): reported through
//     onAcceptError, then a relative TIMEOUT op (BACKOFF_MS) on the ring before re-arming,
//     so a full fd table never spins.
//   - close(): cancel the accept and the back-off timer synchronously (kernel 6.0) and close
//     the fd at once; where the kernel cannot confirm, close the fd after their final CQEs.
import type { Listener, ListenerSink } from "../proactor.js";
import type { SockAddr } from "../events.js";
import { systemError, errno } from "../system-error.js";
import { OP_ACCEPT, OP_TIMEOUT, OP_TIMEOUT_REMOVE, OP_ASYNC_CANCEL, NO_OP_INDEX, IORING_CQE_F_MORE, S_FLAGS, S_LEN } from "./native.js";
import type { OpHandler } from "./ring.js";
import { UringStreamEndpoint, type StreamContext } from "./stream.js";
import { nativeSockets } from "../addon.js";
import { toSockAddr, type FamilyCode } from "../sockaddr.js";

const { ECANCELED, ECONNABORTED } = errno;
/** Back-off after a resource error before accepting again. */
export const BACKOFF_MS = 100;

export class UringListener implements Listener, OpHandler {
  private sink: ListenerSink | null = null;
  private accepting = false;
  private acceptSlot = -1;
  private acceptCancelled = false;
  private backoffSlot = -1;
  private closed = false;
  private fdClosed = false;

  constructor(
    private readonly ctx: StreamContext,
    readonly fd: number,
    readonly family: FamilyCode,
  ) {
    ctx.track(fd, this);
  }

  sockname(): SockAddr {
    return toSockAddr(nativeSockets().sockName(this.fd)) ?? "";
  }

  startAccepting(sink: ListenerSink): void {
    if (this.closed) return;
    this.sink = sink;
    this.accepting = true;
    if (this.acceptSlot < 0 && this.backoffSlot < 0) this.arm();
  }

  stopAccepting(): void {
    this.accepting = false;
    this.cancelAccept();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.accepting = false;
    // Synchronous cancel: the kernel is done with the accept and the back-off timer when
    // it returns, so the fd is closed now (their CQEs still arrive; a stray accepted fd
    // among them is closed). If the kernel cannot confirm, fall back to waiting for them.
    const ring = this.ctx.ring;
    let done = true;
    if (this.acceptSlot >= 0 && !ring.cancelSync(this.acceptSlot)) {
      done = false;
      this.cancelAccept();
    }
    if (this.backoffSlot >= 0 && !ring.cancelSync(this.backoffSlot)) {
      done = false;
      ring.stageTargeted(OP_TIMEOUT_REMOVE, NO_OP_INDEX, this.backoffSlot, 0);
    }
    if (done) this.closeFd();
    else this.maybeCloseFd();
  }

  /** The proactor is closing: the ring is gone, so just release the fd. */
  _forceClose(): void {
    this.closed = true;
    if (!this.fdClosed) {
      this.fdClosed = true;
      nativeSockets().close(this.fd);
    }
  }

  private arm(): void {
    const ring = this.ctx.ring;
    this.acceptSlot = ring.alloc(this);
    this.acceptCancelled = false;
    ring.stageRecord(OP_ACCEPT, this.acceptSlot, this.fd);
  }

  private cancelAccept(): void {
    if (this.acceptSlot >= 0 && !this.acceptCancelled) {
      this.acceptCancelled = true;
      this.ctx.ring.stageTargeted(OP_ASYNC_CANCEL, NO_OP_INDEX, this.acceptSlot, 0);
    }
  }

  private maybeCloseFd(): void {
    if (!this.closed || this.fdClosed || this.acceptSlot >= 0 || this.backoffSlot >= 0) return;
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    this.ctx.released(this.fd);
    nativeSockets().close(this.fd);
  }

  _complete(res: number, flags: number, slot: number): void {
    if (slot === this.backoffSlot) {
      this.backoffSlot = -1;
      if (this.accepting && this.acceptSlot < 0) this.arm();
      this.maybeCloseFd();
      return;
    }
    const final = (flags & IORING_CQE_F_MORE) === 0;
    if (final) this.acceptSlot = -1;
    if (res >= 0) {
      if (this.closed || this.sink === null) nativeSockets().close(res);
      else this.sink.onAccept(new UringStreamEndpoint(this.ctx, res, this.family));
    } else if (res !== -ECANCELED && res !== -ECONNABORTED) {
      // EMFILE / ENFILE / ENOBUFS / ENOMEM and anything unexpected: report, and when the
      // accept ended, wait BACKOFF_MS before re-arming (never spin on a full fd table).
      if (final && !this.closed) this.startBackoff();
      if (!this.closed && this.sink !== null) this.sink.onAcceptError(systemError(res, "accept"));
      if (final) this.maybeCloseFd();
      return;
    }
    if (final) {
      if (this.accepting && this.acceptSlot < 0 && this.backoffSlot < 0) this.arm();
      this.maybeCloseFd();
    }
  }

  private startBackoff(): void {
    const ring = this.ctx.ring;
    this.backoffSlot = ring.alloc(this);
    const off = ring.stageRecord(OP_TIMEOUT, this.backoffSlot, -1);
    ring.setField(off, S_FLAGS, 0);
    ring.setField(off, S_LEN, 0);
    ring.setTimespec(off, 0, BACKOFF_MS * 1e6);
  }
}
