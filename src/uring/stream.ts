// UringStreamEndpoint: one connected stream socket (TCP or Unix) over the ring. It is the
// OpHandler of all its own ops (no closure, no Promise per op): a completion is routed by
// its slot to the recv / send / readInto / shutdown / close path and goes straight to the
// sink.
//
// Ops (at most one of each kind in flight):
//   recv      multishot RECV from the loop's buffer ring; re-armed on a CQE without F_MORE
//             while reading is wanted; stopReading() cancels it. On -ENOBUFS (the ring is
//             empty) ONE single-shot RECV into a private buffer takes its place: it waits in
//             the kernel for data instead of spinning on re-arms, then multishot resumes. What
//             the cancelled recv still delivers (data, EOF, error) goes to the sink as any
//             other completion does: the transport holds it (the seam's rule).
//   send      ONE SENDMSG for all chunks of a write() (SEND when there is one chunk) (<= SEND_MAX_IOV iovecs, the tail
//             merged); a short send re-issues the rest; the chunks stay referenced until
//             the final CQE.
//   readInto  single-shot RECV into the caller's buffer (kept referenced until the CQE).
//             A send that comes back with -EAGAIN (AF_UNIX with a full peer queue: io_uring
//             does not retry on an O_NONBLOCK socket there) waits for POLLOUT with a
//             POLL_ADD op in the send's place, then sends again.
//   shutdown  SHUTDOWN(SHUT_WR), issued after the write in flight.
//   sendfile  a FileSend (sendfile.ts: splice or sendfile(2)) in place of a write; its ops
//             are its own, and close() cancels them and waits for them like the others.
// States: open --close()/abort()--> closing (ASYNC_CANCEL of every op on the fd, waiting for
// their final CQEs; the sink hears nothing more but onClosed) --all CQEs in, fd closed,
// one NOP round trip--> closed (onClosed, once).
import type { StreamEndpoint, StreamSink } from "../proactor.js";
import type { SockAddr } from "../events.js";
import { systemError, errno } from "../system-error.js";
import {
  OP_RECV, OP_SENDMSG, OP_SEND, OP_SEND_ZC, OP_SENDMSG_ZC, OP_SHUTDOWN, OP_NOP, OP_ASYNC_CANCEL, OP_POLL_ADD, POLLOUT,
  S_BUF_GROUP, S_FLAGS, NO_OP_INDEX, SEND_MAX_IOV, MSG_NOSIGNAL, SHUT_WR,
  IORING_CQE_F_MORE, IORING_CQE_F_NOTIF, IORING_CQE_F_BUFFER, IORING_CQE_BUFFER_SHIFT,
  IORING_ASYNC_CANCEL_FD, IORING_ASYNC_CANCEL_ALL,
} from "./native.js";
import { nativeSockets, SOCKOPT_NODELAY, SOCKOPT_LINGER0, SOCKOPT_KEEPALIVE, SOCKOPT_KEEPIDLE } from "../addon.js";
import { toSockAddr, type FamilyCode } from "../sockaddr.js";
import type { OpHandler, Ring } from "./ring.js";
import type { BufRing } from "./bufring.js";
import { startFileSend, type FileSend } from "./sendfile.js";
import type { PipePool } from "./sendfile-pipes.js";
import { argRangeError, argTypeError } from "../validate.js";

const { ENOBUFS, ECANCELED, ENOTCONN, EAGAIN, EOPNOTSUPP } = errno;

/** What an endpoint needs from its proactor. */
export interface StreamContext {
  readonly ring: Ring;
  bufRing(): BufRing;
  /** An endpoint / listener now owns `fd` (the proactor releases it if it closes first). */
  track(fd: number, owner: { _forceClose(): void }): void;
  /** The owner closed `fd` (the proactor stops tracking it). */
  released(fd: number): void;
  /** The loop's pipes for sendfile's splice path. */
  pipes(): PipePool;
  /** Writes of at least this many bytes to a TCP socket go by SEND_ZC / SENDMSG_ZC (0: never). */
  readonly zeroCopyMin: number;
}

const enum State { Open, Closing, Closed }

/**
 * SEND_ZC from this many bytes by default (UringLoopOptions.zeroCopyMin; 0 = never): see
 * perf/RESULTS.md, zc-bench, for the measurement behind it.
 */
export const DEFAULT_ZERO_COPY_MIN = 0;

/** Counters for tests and profiling (process-wide). */
export const streamStats = { noBufs: 0, shortSends: 0, sendPolls: 0, zeroCopySends: 0, zeroCopyRefused: 0 };

function noopSink(): StreamSink {
  const nop = () => {};
  return { onData: nop, onReadInto: nop, onEof: nop, onReadError: nop, onWriteDone: nop, onShutdownDone: nop, onClosed: nop };
}

export class UringStreamEndpoint implements StreamEndpoint, OpHandler {
  private sink: StreamSink = noopSink();
  private state = State.Open;
  private wantRead = false;
  private recvSlot = -1;
  private recvCancelled = false;
  /** The private buffer of a plain (non-multishot) RECV in flight after -ENOBUFS. */
  private recvPlain: Buffer | null = null;
  private sendSlot = -1;
  private sendChunks: Uint8Array[] | null = null;
  private sendLeft = 0;
  /** The op in sendSlot is a POLL_ADD(POLLOUT) waiting to send sendChunks again. */
  private sendPolling = false;
  /** Zero copy for large writes (TCP only; off for good once the socket refuses it). */
  private zeroCopy: boolean;
  /** The op in sendSlot is a SEND_ZC / SENDMSG_ZC. */
  private sendZc = false;
  /** Its result, once its first CQE came with F_MORE: the pages stay lent until the F_NOTIF CQE. */
  private zcResult: number | null = null;
  /** The fd was closed early (a close whose zero-copy send only waits for its notification). */
  private fdClosed = false;
  private readSlot = -1;
  private readBuf: Uint8Array | null = null;
  private shutdownSlot = -1;
  private shutdownPending = false;
  private closeSlot = -1;
  /** EOF or a read error was seen: the recv is never re-armed. */
  private readEnded = false;
  private fileSend: FileSend | null = null;

  /** `fd` is owned from now on (closed by close()/abort()). TCP sockets get TCP_NODELAY. */
  constructor(
    private readonly ctx: StreamContext,
    readonly fd: number,
    readonly family: FamilyCode,
  ) {
    ctx.track(fd, this);
    if (family !== 0) nativeSockets().setOpt(fd, SOCKOPT_NODELAY, 1);
    this.zeroCopy = family !== 0 && ctx.zeroCopyMin > 0;
  }

  setSink(sink: StreamSink): void {
    this.sink = sink;
  }

  // ---- reading

  startReading(): void {
    if (this.state !== State.Open) return;
    this.wantRead = true;
    if (this.recvSlot < 0 && !this.readEnded) this.armRecv();
  }

  stopReading(): void {
    this.wantRead = false;
    if (this.recvSlot >= 0 && !this.recvCancelled) {
      this.recvCancelled = true;
      this.ctx.ring.stageTargeted(OP_ASYNC_CANCEL, NO_OP_INDEX, this.recvSlot, 0);
    }
  }

  /** After -ENOBUFS: one plain RECV into a fresh buffer the sink will own (see header). */
  private armPlainRecv(): void {
    const ring = this.ctx.ring;
    const buf = Buffer.allocUnsafe(this.ctx.bufRing().size);
    const slot = ring.alloc(this);
    ring.native.prepRecv(slot, buf);
    const off = ring.stageRecord(OP_RECV, slot, this.fd);
    ring.setField(off, S_BUF_GROUP, -1);
    this.recvSlot = slot;
    this.recvPlain = buf;
    this.recvCancelled = false;
  }

  private armRecv(): void {
    const ring = this.ctx.ring;
    const group = this.ctx.bufRing().group;
    const slot = ring.alloc(this);
    const off = ring.stageRecord(OP_RECV, slot, this.fd);
    ring.setField(off, S_BUF_GROUP, group);
    this.recvSlot = slot;
    this.recvCancelled = false;
  }

  readInto(buf: Uint8Array): void {
    if (!(buf instanceof Uint8Array)) throw argTypeError('The "buf" argument must be an instance of Uint8Array');
    if (buf.byteLength === 0) throw argRangeError('The "buf" argument must not be empty', "ERR_INVALID_ARG_VALUE");
    if (this.readSlot >= 0) throw new Error("readInto: a read is already in flight");
    if (this.state !== State.Open) return;
    const ring = this.ctx.ring;
    const slot = ring.alloc(this);
    ring.native.prepRecv(slot, buf);
    const off = ring.stageRecord(OP_RECV, slot, this.fd);
    ring.setField(off, S_BUF_GROUP, -1);
    this.readSlot = slot;
    this.readBuf = buf;
  }

  // ---- writing

  write(chunks: Uint8Array[]): void {
    if (this.sendSlot >= 0) throw new Error("write: a write is already in flight");
    if (this.state !== State.Open) return;
    let total = 0;
    for (let i = 0; i < chunks.length; i++) total += chunks[i].byteLength;
    this.sendLeft = total;
    this.issueSend(chunks);
  }

  private issueSend(chunks: Uint8Array[]): void {
    const ring = this.ctx.ring;
    const slot = ring.alloc(this);
    this.sendSlot = slot;
    if (this.sendLeft === 0) {
      this.sendChunks = null;
      ring.stageRecord(OP_NOP, slot, -1); // completes with 0: onWriteDone(null), never synchronously
      return;
    }
    if (chunks.length > SEND_MAX_IOV) chunks = mergeTail(chunks, SEND_MAX_IOV);
    this.sendChunks = chunks;
    // A refused prep (a chunk that is not a Uint8Array) leaves the slot's storage zeroed:
    // the op then completes with -EINVAL through onWriteDone.
    ring.native.prepSend(slot, chunks);
    // One chunk (the common case: the transport coalesces into staging) -> SEND, cheaper
    // in the kernel than SENDMSG's msghdr + iovec import. Large writes to TCP: zero copy.
    this.sendZc = this.zeroCopy && this.sendLeft >= this.ctx.zeroCopyMin;
    const op = this.sendZc ? (chunks.length === 1 ? OP_SEND_ZC : OP_SENDMSG_ZC) : chunks.length === 1 ? OP_SEND : OP_SENDMSG;
    const off = ring.stageRecord(op, slot, this.fd);
    ring.setField(off, S_FLAGS, MSG_NOSIGNAL);
  }

  // ---- sendfile

  sendfile(fd: number, offset: number, count: number): void {
    if (this.sendSlot >= 0 || this.fileSend !== null) throw new Error("sendfile: a write is already in flight");
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(count) || count <= 0) {
      throw argRangeError(`sendfile: offset (${offset}) must be >= 0 and count (${count}) > 0`);
    }
    if (this.state !== State.Open) return;
    this.fileSend = startFileSend(this.ctx, this.fd, fd, offset, count, this.onFileSent);
  }

  sendfileProgress(): number {
    return this.fileSend?.progress ?? 0;
  }

  private readonly onFileSent = (sent: number, err: Error | null): void => {
    this.fileSend = null;
    if (this.state !== State.Open) {
      this.maybeFinishClose();
      return;
    }
    this.sink.onSendfileDone?.(sent, err);
    if (this.shutdownPending && this.sendSlot < 0 && this.fileSend === null && this.state === State.Open) this.issueShutdown();
  };

  shutdownWrite(): void {
    if (this.state !== State.Open || this.shutdownSlot >= 0) return;
    if (this.sendSlot >= 0 || this.fileSend !== null) this.shutdownPending = true;
    else this.issueShutdown();
  }

  private issueShutdown(): void {
    this.shutdownPending = false;
    const ring = this.ctx.ring;
    const slot = ring.alloc(this);
    const off = ring.stageRecord(OP_SHUTDOWN, slot, this.fd);
    ring.setField(off, S_FLAGS, SHUT_WR);
    this.shutdownSlot = slot;
  }

  // ---- closing

  close(): void {
    if (this.state !== State.Open) return;
    this.state = State.Closing;
    this.wantRead = false;
    this.shutdownPending = false;
    if (this.recvSlot >= 0 || this.sendSlot >= 0 || this.readSlot >= 0 || this.shutdownSlot >= 0) {
      const off = this.ctx.ring.stageRecord(OP_ASYNC_CANCEL, NO_OP_INDEX, this.fd);
      this.ctx.ring.setField(off, S_FLAGS, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL);
    }
    this.fileSend?.cancel();
    this.maybeFinishClose();
  }

  abort(): void {
    if (this.state === State.Open) nativeSockets().setOpt(this.fd, SOCKOPT_LINGER0, 1);
    this.close();
  }

  /**
   * Every op has its final CQE: close the fd, then onClosed after one NOP round trip. A
   * zero-copy send that only waits for its notification does not hold the fd (the kernel
   * frees the pages when the socket lets go of them, which closing it may be what takes:
   * a peer that never reads), but it holds its chunks and onClosed until it arrives.
   */
  private maybeFinishClose(): void {
    if (this.state !== State.Closing || this.closeSlot >= 0) return;
    if (this.recvSlot >= 0 || this.readSlot >= 0 || this.shutdownSlot >= 0 || this.fileSend !== null) return;
    if (this.sendSlot >= 0) {
      if (this.zcResult !== null) this.closeFd();
      return;
    }
    this.closeFd();
    this.sendChunks = null;
    this.readBuf = null;
    this.closeSlot = this.ctx.ring.alloc(this);
    this.ctx.ring.stageRecord(OP_NOP, this.closeSlot, -1);
  }

  private closeFd(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    this.ctx.released(this.fd);
    nativeSockets().close(this.fd);
  }

  /**
   * The proactor is about to close the ring, which waits for every final CQE: a zero-copy
   * send's notification may wait on the socket (unsent data pins its pages), so such a
   * socket is reset and closed first (its data is dropped; the loop is going away).
   */
  _beforeRingClose(): void {
    if (this.state === State.Closed || this.fdClosed || !this.sendZc || this.sendSlot < 0) return;
    nativeSockets().setOpt(this.fd, SOCKOPT_LINGER0, 1);
    this.closeFd();
  }

  /** The proactor is closing: the ring is gone, so just release the fd. */
  _forceClose(): void {
    if (this.state === State.Closed) return;
    this.fileSend?.forceRelease();
    this.fileSend = null;
    if (this.closeSlot < 0 && !this.fdClosed) nativeSockets().close(this.fd);
    this.fdClosed = true;
    this.state = State.Closed;
  }

  // ---- addresses and options

  sockname(): SockAddr | null {
    return toSockAddr(nativeSockets().sockName(this.fd));
  }

  peername(): SockAddr | null {
    return toSockAddr(nativeSockets().peerName(this.fd));
  }

  setNoDelay(on: boolean): void {
    if (this.family !== 0 && this.state === State.Open) nativeSockets().setOpt(this.fd, SOCKOPT_NODELAY, on ? 1 : 0);
  }

  setKeepAlive(on: boolean, initialDelaySec: number): void {
    if (this.family === 0 || this.state !== State.Open) return;
    nativeSockets().setOpt(this.fd, SOCKOPT_KEEPALIVE, on ? 1 : 0);
    if (on && initialDelaySec > 0) nativeSockets().setOpt(this.fd, SOCKOPT_KEEPIDLE, initialDelaySec);
  }

  // ---- completions

  _complete(res: number, flags: number, slot: number): void {
    if (slot === this.recvSlot) this.onRecv(res, flags);
    else if (slot === this.sendSlot) this.onSendCqe(res, flags);
    else if (slot === this.readSlot) this.onReadIntoDone(res);
    else if (slot === this.shutdownSlot) this.onShutdown(res);
    else if (slot === this.closeSlot) {
      this.closeSlot = -1;
      this.state = State.Closed;
      this.sink.onClosed();
    }
  }

  private onRecv(res: number, flags: number): void {
    const final = (flags & IORING_CQE_F_MORE) === 0;
    if (final) this.recvSlot = -1;
    const open = this.state === State.Open;
    if (final && !open) this.maybeFinishClose();
    const plain = this.recvPlain;
    if (final) this.recvPlain = null;
    let item: Buffer | null | Error;
    if (res > 0) {
      if (plain !== null) item = plain.subarray(0, res);
      else if ((flags & IORING_CQE_F_BUFFER) === 0) return;
      else item = this.ctx.bufRing().take(flags >>> IORING_CQE_BUFFER_SHIFT, res);
    } else if (res === 0) {
      item = null;
      this.readEnded = true;
    } else if (res === -ENOBUFS || res === -ECANCELED) {
      const rearm = final && open && this.wantRead && this.recvSlot < 0;
      if (res === -ENOBUFS) {
        streamStats.noBufs++;
        if (rearm) this.armPlainRecv();
      } else if (rearm) {
        this.armRecv();
      }
      return;
    } else {
      item = systemError(res, "read");
      this.readEnded = true;
    }
    if (!open) return;
    if (final && this.wantRead && item !== null && !(item instanceof Error) && this.recvSlot < 0) this.armRecv();
    if (item === null) {
      this.wantRead = false;
      this.sink.onEof();
    } else if (item instanceof Error) {
      this.wantRead = false;
      this.sink.onReadError(item);
    } else {
      this.sink.onData(item);
    }
  }

  /**
   * A zero-copy send completes twice (ops/send.cc): its result with F_MORE, then F_NOTIF once
   * the pages are free; only then is the write done (the chunks were the kernel's until now).
   * A socket that refuses zero copy (EOPNOTSUPP) gets the plain send, from then on.
   */
  private onSendCqe(res: number, flags: number): void {
    if (this.sendZc) {
      if ((flags & IORING_CQE_F_MORE) !== 0) {
        this.zcResult = res;
        streamStats.zeroCopySends++;
        if (this.state !== State.Open) this.maybeFinishClose();
        return;
      }
      if ((flags & IORING_CQE_F_NOTIF) !== 0) res = this.zcResult ?? res;
      this.zcResult = null;
      this.sendZc = false;
      if (res === -EOPNOTSUPP && this.state === State.Open && this.sendChunks !== null) {
        streamStats.zeroCopyRefused++;
        this.zeroCopy = false;
        this.sendSlot = -1;
        this.issueSend(this.sendChunks);
        return;
      }
    }
    this.onSend(res);
  }

  private onSend(res: number): void {
    this.sendSlot = -1;
    const polled = this.sendPolling;
    this.sendPolling = false;
    if (this.state !== State.Open) {
      this.sendChunks = null;
      this.maybeFinishClose();
      return;
    }
    if (res === -EAGAIN && !polled && this.sendChunks !== null) {
      streamStats.sendPolls++;
      const ring = this.ctx.ring;
      this.sendSlot = ring.alloc(this);
      this.sendPolling = true;
      const off = ring.stageRecord(OP_POLL_ADD, this.sendSlot, this.fd);
      ring.setField(off, S_FLAGS, POLLOUT);
      return;
    }
    if (polled && res > 0 && this.sendChunks !== null) {
      this.issueSend(this.sendChunks);
      return;
    }
    if (res < 0) {
      this.sendChunks = null;
      this.shutdownPending = false;
      this.sink.onWriteDone(systemError(res, "write"));
      return;
    }
    this.sendLeft -= res;
    if (this.sendLeft > 0 && this.sendChunks !== null) {
      streamStats.shortSends++;
      this.issueSend(dropBytes(this.sendChunks, res));
      return;
    }
    this.sendChunks = null;
    this.sink.onWriteDone(null);
    if (this.shutdownPending && this.sendSlot < 0 && this.state === State.Open) this.issueShutdown();
  }

  private onReadIntoDone(res: number): void {
    this.readSlot = -1;
    this.readBuf = null;
    if (this.state !== State.Open) {
      this.maybeFinishClose();
      return;
    }
    if (res >= 0) this.sink.onReadInto(res);
    else if (res !== -ECANCELED) this.sink.onReadError(systemError(res, "read"));
  }

  private onShutdown(res: number): void {
    this.shutdownSlot = -1;
    if (this.state !== State.Open) {
      this.maybeFinishClose();
      return;
    }
    this.sink.onShutdownDone(res < 0 && res !== -ENOTCONN ? systemError(res, "shutdown") : null);
  }
}

/** At most `max` chunks: the ones beyond max - 1 merged into one (a copy). */
export function mergeTail(chunks: Uint8Array[], max: number): Uint8Array[] {
  const head = chunks.slice(0, max - 1);
  head.push(Buffer.concat(chunks.slice(max - 1)));
  return head;
}

/** The chunks after the first `n` bytes (views, no copy). */
export function dropBytes(chunks: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < chunks.length && n >= chunks[i].byteLength) n -= chunks[i++].byteLength;
  const rest = chunks.slice(i);
  if (n > 0 && rest.length > 0) rest[0] = rest[0].subarray(n);
  return rest;
}
