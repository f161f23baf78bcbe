// UringPipeEndpoint: one end of a pipe (or of a FIFO, a socket or a character device used as
// one) over the ring, in one direction (the Proactor's adoptPipe, src/proactor.ts "pipes").
// It is the OpHandler of its own ops, as UringStreamEndpoint is; reads and writes use the
// file opcodes (READ, WRITE, WRITEV), since RECV/SEND work on sockets only.
//
// Ops (at most one read-side and one write-side op in flight):
//   read     ("read" endpoints) READ_MULTISHOT from the loop's pipe buffer ring (kernel 6.7,
//            optional; group PIPE_GROUP, PIPE_BUF_COUNT x PIPE_BUF_SIZE, apart from the sockets'
//            16 KiB buffers): re-armed on a CQE without F_MORE while reading is wanted;
//            stopReading() cancels it. A single-shot READ into a private READ_SIZE buffer
//            takes its place where the kernel lacks the opcode, for a file that cannot be
//            polled (-EBADFD: the endpoint reads single-shot from then on), and once after
//            -ENOBUFS (the buffer ring ran dry), as the stream endpoint does. A chunk filling
//            at least half the private buffer is handed over (a fresh buffer for the next
//            read), a smaller one is copied out.
//   readInto single-shot READ into the caller's buffer (BufferedProtocol).
//   watch    ("write" endpoints) POLL_ADD for POLLERR/POLLHUP, armed by startReading(): the
//            kernel reports POLLERR on a pipe's write end once no reader is left (POLLHUP for
//            a socket) -> onEof(). Any other outcome ends the watch for good (see onRead).
//   write    ("write" endpoints) WRITE for one chunk, WRITEV for several (<= PIPE_MAX_IOV,
//            the tail merged); a short write re-issues the rest; the chunks stay referenced
//            until the final CQE. EPIPE completes the write with the error (the kernel also
//            raises SIGPIPE, which Node ignores). Over a socket (a subprocess's stdin is one
//            end of a socket pair) SEND / SENDMSG with MSG_WAITALL | MSG_NOSIGNAL instead:
//            the kernel keeps sending as the reader drains the socket and completes once,
//            where each short WRITE (one socket buffer, ~200 KiB) cost a round trip through
//            JS while the reader went idle (1 GiB into `cat > /dev/null`: see
//            perf/RESULTS.md, subprocess-bench notes).
//   -EAGAIN  (an O_NONBLOCK file the kernel cannot retry, e.g. some character devices): a
//            POLL_ADD for POLLIN / POLLOUT in the op's place, then the read / write again.
// States: open --close()/abort()--> closing (ASYNC_CANCEL of every op on the fd, waiting for
// their final CQEs; the sink hears nothing more but onClosed) --all CQEs in, fd closed,
// one NOP round trip--> closed (onClosed, once). The fd is owned from construction on.
import type { PipeMode, StreamEndpoint, StreamSink } from "../proactor.js";
import { systemError, errno } from "../system-error.js";
import * as fs from "node:fs";
import {
  OP_READ, OP_READ_MULTISHOT, OP_WRITE, OP_WRITEV, OP_SEND, OP_SENDMSG, MSG_NOSIGNAL, MSG_WAITALL, OP_NOP, OP_ASYNC_CANCEL, OP_POLL_ADD,
  S_BUF_GROUP, S_FLAGS, S_OFF_LO, S_OFF_HI, S_FILE_FLAGS, NO_OP_INDEX, POLLIN, POLLOUT, POLLERR, POLLHUP,
  IORING_CQE_F_MORE, IORING_CQE_F_BUFFER, IORING_CQE_BUFFER_SHIFT,
  IORING_ASYNC_CANCEL_FD, IORING_ASYNC_CANCEL_ALL,
} from "./native.js";
import { check, nativeFds, nativeSockets } from "../addon.js";
import type { OpHandler } from "./ring.js";
import type { BufRing } from "./bufring.js";
import { dropBytes, mergeTail, type StreamContext } from "./stream.js";
import { argRangeError, argTypeError } from "../validate.js";

const { ENOBUFS, ECANCELED, EAGAIN, EINVAL } = errno;
/** Linux's EBADFD (not in os.constants.errno): READ_MULTISHOT of a file it cannot poll. */
const EBADFD = 77;

/** What a pipe endpoint needs from its proactor beyond a stream endpoint's. */
export interface PipeContext extends StreamContext {
  /** READ_MULTISHOT is there (kernel 6.7) and not turned off (opcodes.ts). */
  readonly readMultishot: boolean;
  /** The provided buffers of pipe reads (PIPE_BUF_COUNT x PIPE_BUF_SIZE), made on first use. */
  pipeBufRing(): BufRing;
}

/**
 * Pipe reads pick 64 KiB buffers (a pipe's default capacity): 1 GiB through cat measured
 * 0.82 s of CPU with them against 0.90 s with the sockets' 16 KiB ones, a quarter of the
 * completions and protocol calls (perf/RESULTS.md, subprocess-bench notes). 64 of them: 4 MiB
 * per loop, mapped at the first pipe read.
 */
export const PIPE_BUF_SIZE = 64 * 1024;
export const PIPE_BUF_COUNT = 64;
/** Its buffer group (0: the sockets' ring, 1: datagrams', src/uring/datagram.ts). */
export const PIPE_GROUP = 2;

/** Bytes per single-shot READ (a pipe holds 64 KiB by default). */
const READ_SIZE = 64 * 1024;
/** iovecs per WRITEV; JS merges chunks beyond it. */
const PIPE_MAX_IOV = 16;
const IOVEC_BYTES = 16;

const enum State { Open, Closing, Closed }

/** What the op in the read-side slot is. */
const enum ReadOp { None, Multishot, Plain, Into, PollIn, Watch }

function noopSink(): StreamSink {
  const nop = () => {};
  return { onData: nop, onReadInto: nop, onEof: nop, onReadError: nop, onWriteDone: nop, onShutdownDone: nop, onClosed: nop };
}

export class UringPipeEndpoint implements StreamEndpoint, OpHandler {
  private sink: StreamSink = noopSink();
  private state = State.Open;
  private wantRead = false;
  private readSlot = -1;
  private readOp = ReadOp.None;
  private readCancelled = false;
  /** Plain: the private buffer; Into (and PollIn before one): the caller's. */
  private readBuf: Uint8Array | null = null;
  /** The PollIn in flight re-issues a readInto (else a plain/multishot read). */
  private pollForInto = false;
  /** A private buffer whose last chunk was copied out, reused by the next plain read. */
  private spareBuf: Buffer | null = null;
  /** EOF or a read error was seen: reading is never re-armed. */
  private readEnded = false;
  private multishot: boolean;
  private writeSlot = -1;
  private writeChunks: Uint8Array[] | null = null;
  private writeLeft = 0;
  /** The op in writeSlot is a POLL_ADD(POLLOUT) waiting to write writeChunks again. */
  private writePolling = false;
  private iovStore: Uint8Array | null = null;
  /** Writes go out as SEND/SENDMSG with MSG_WAITALL (the fd is a socket). */
  private readonly sends: boolean;
  private closeSlot = -1;

  /** `fd` is owned from now on (closed by close()/abort()); set O_NONBLOCK and FD_CLOEXEC. */
  constructor(
    private readonly ctx: PipeContext,
    readonly fd: number,
    readonly mode: PipeMode,
  ) {
    this.multishot = mode === "read" && ctx.readMultishot;
    check(nativeFds()!.setNonBlocking(fd), "fcntl");
    this.sends = mode === "write" && fs.fstatSync(fd).isSocket();
    ctx.track(fd, this);
  }

  setSink(sink: StreamSink): void {
    this.sink = sink;
  }

  // ---- reading (a "write" endpoint: the watch for the reader going away)

  startReading(): void {
    if (this.state !== State.Open) return;
    this.wantRead = true;
    if (this.readSlot < 0 && !this.readEnded) this.armRead();
  }

  stopReading(): void {
    this.wantRead = false;
    if (this.readSlot >= 0 && !this.readCancelled && this.readOp !== ReadOp.Into) {
      this.readCancelled = true;
      this.ctx.ring.stageTargeted(OP_ASYNC_CANCEL, NO_OP_INDEX, this.readSlot, 0);
    }
  }

  readInto(buf: Uint8Array): void {
    if (!(buf instanceof Uint8Array)) throw argTypeError('The "buf" argument must be an instance of Uint8Array');
    if (buf.byteLength === 0) throw argRangeError('The "buf" argument must not be empty', "ERR_INVALID_ARG_VALUE");
    if (this.mode !== "read") throw new Error("readInto: a write pipe has nothing to read");
    if (this.readSlot >= 0) throw new Error("readInto: a read is already in flight");
    if (this.state !== State.Open) return;
    this.stageRead(ReadOp.Into, buf);
  }

  private armRead(): void {
    if (this.mode === "write") this.stagePoll(ReadOp.Watch, POLLERR | POLLHUP);
    else if (this.multishot) this.stageRead(ReadOp.Multishot, null);
    else this.stageRead(ReadOp.Plain, this.spareBuf ?? Buffer.allocUnsafeSlow(READ_SIZE));
  }

  private stageRead(op: ReadOp, buf: Uint8Array | null): void {
    const ring = this.ctx.ring;
    const slot = this.takeReadSlot(op);
    if (op === ReadOp.Multishot) {
      const off = ring.stageRecord(OP_READ_MULTISHOT, slot, this.fd);
      ring.setField(off, S_BUF_GROUP, this.ctx.pipeBufRing().group);
      return;
    }
    if (op === ReadOp.Plain) this.spareBuf = null;
    this.readBuf = buf;
    ring.native.prepFile(slot, null, buf);
    this.stageFileRecord(OP_READ, slot);
  }

  private stagePoll(op: ReadOp.PollIn | ReadOp.Watch, events: number): void {
    const off = this.ctx.ring.stageRecord(OP_POLL_ADD, this.takeReadSlot(op), this.fd);
    this.ctx.ring.setField(off, S_FLAGS, events);
  }

  private takeReadSlot(op: ReadOp): number {
    this.readSlot = this.ctx.ring.alloc(this);
    this.readOp = op;
    this.readCancelled = false;
    return this.readSlot;
  }

  /** READ / WRITE / WRITEV record: no offset (-1: a pipe has none), inline in the loop thread. */
  private stageFileRecord(opcode: number, slot: number): void {
    const ring = this.ctx.ring;
    const off = ring.stageRecord(opcode, slot, this.fd);
    ring.setField(off, S_OFF_LO, -1);
    ring.setField(off, S_OFF_HI, -1);
    ring.setField(off, S_FILE_FLAGS, 0);
  }

  // ---- writing

  write(chunks: Uint8Array[]): void {
    if (this.mode !== "write") throw new Error("write: a read pipe cannot be written");
    if (this.writeSlot >= 0) throw new Error("write: a write is already in flight");
    if (this.state !== State.Open) return;
    let total = 0;
    for (let i = 0; i < chunks.length; i++) total += chunks[i].byteLength;
    this.writeLeft = total;
    this.issueWrite(chunks);
  }

  private issueWrite(chunks: Uint8Array[]): void {
    const ring = this.ctx.ring;
    const slot = ring.alloc(this);
    this.writeSlot = slot;
    if (this.writeLeft === 0) {
      this.writeChunks = null;
      ring.stageRecord(OP_NOP, slot, -1); // completes with 0: onWriteDone(null), never synchronously
      return;
    }
    if (chunks.length > PIPE_MAX_IOV) chunks = mergeTail(chunks, PIPE_MAX_IOV);
    this.writeChunks = chunks;
    // A refused prep leaves the slot's storage zeroed: the op then completes with -EINVAL.
    if (this.sends) {
      if (chunks.length === 1) ring.native.prepSend(slot, chunks);
      else ring.native.prepSendVec(slot, chunks, (this.iovStore ??= new Uint8Array(PIPE_MAX_IOV * IOVEC_BYTES)));
      const off = ring.stageRecord(chunks.length === 1 ? OP_SEND : OP_SENDMSG, slot, this.fd);
      ring.setField(off, S_FLAGS, MSG_NOSIGNAL | MSG_WAITALL);
    } else if (chunks.length === 1) {
      ring.native.prepFile(slot, null, chunks[0]);
      this.stageFileRecord(OP_WRITE, slot);
    } else {
      ring.native.prepFileVec(slot, chunks, (this.iovStore ??= new Uint8Array(PIPE_MAX_IOV * IOVEC_BYTES)));
      this.stageFileRecord(OP_WRITEV, slot);
    }
  }

  /** Pipe transports never half-close: a write pipe's writeEof() closes it (src/transports/stream.ts). */
  shutdownWrite(): void {
    throw new Error("shutdownWrite: a pipe has no half-close; close it");
  }

  // ---- closing

  close(): void {
    if (this.state !== State.Open) return;
    this.state = State.Closing;
    this.wantRead = false;
    if (this.readSlot >= 0 || this.writeSlot >= 0) {
      const off = this.ctx.ring.stageRecord(OP_ASYNC_CANCEL, NO_OP_INDEX, this.fd);
      this.ctx.ring.setField(off, S_FLAGS, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL);
    }
    this.maybeFinishClose();
  }

  abort(): void {
    this.close();
  }

  /** Every op has its final CQE: close the fd, then onClosed after one NOP round trip. */
  private maybeFinishClose(): void {
    if (this.state !== State.Closing || this.closeSlot >= 0 || this.readSlot >= 0 || this.writeSlot >= 0) return;
    this.ctx.released(this.fd);
    nativeSockets().close(this.fd);
    this.writeChunks = null;
    this.readBuf = null;
    this.spareBuf = null;
    this.closeSlot = this.ctx.ring.alloc(this);
    this.ctx.ring.stageRecord(OP_NOP, this.closeSlot, -1);
  }

  /** The proactor is closing: the ring is gone, so just release the fd. */
  _forceClose(): void {
    if (this.state === State.Closed) return;
    if (this.closeSlot < 0) nativeSockets().close(this.fd);
    this.state = State.Closed;
  }

  sockname(): null {
    return null;
  }

  peername(): null {
    return null;
  }

  setNoDelay(): void {}

  // ---- completions

  _complete(res: number, flags: number, slot: number): void {
    if (slot === this.readSlot) this.onRead(res, flags);
    else if (slot === this.writeSlot) this.onWrite(res);
    else if (slot === this.closeSlot) {
      this.closeSlot = -1;
      this.state = State.Closed;
      this.sink.onClosed();
    }
  }

  private onRead(res: number, flags: number): void {
    const op = this.readOp;
    const final = op !== ReadOp.Multishot || (flags & IORING_CQE_F_MORE) === 0;
    const buf = this.readBuf;
    if (final) {
      this.readSlot = -1;
      this.readOp = ReadOp.None;
      this.readBuf = null;
    }
    if (this.state !== State.Open) {
      if (final) this.maybeFinishClose();
      return;
    }
    if (res === -ECANCELED) {
      if (op === ReadOp.Into || (op === ReadOp.PollIn && this.pollForInto)) return; // only close cancels these
      if (this.wantRead && this.readSlot < 0) this.armRead();
      return;
    }
    switch (op) {
      case ReadOp.Multishot:
        this.onMultishot(res, flags, final);
        return;
      case ReadOp.Plain:
        this.onPlain(res, buf as Buffer);
        return;
      case ReadOp.Into:
        this.onInto(res, buf!);
        return;
      case ReadOp.PollIn:
        if (this.pollForInto) {
          this.pollForInto = false;
          this.stageRead(ReadOp.Into, buf);
        } else if (this.wantRead) {
          this.armRead();
        }
        return;
      case ReadOp.Watch:
        // Anything but POLLERR/POLLHUP (a socket's POLLRDHUP: its reader shut down its own
        // writing; an error: the file cannot be polled) ends the watch without re-arming it,
        // since that state would complete every re-armed poll at once: the next write tells.
        if (res > 0 && (res & (POLLERR | POLLHUP)) !== 0) this.ended(null);
        else this.readEnded = true;
        return;
    }
  }

  private onMultishot(res: number, flags: number, final: boolean): void {
    if (res > 0) {
      if ((flags & IORING_CQE_F_BUFFER) === 0) return;
      const data = this.ctx.pipeBufRing().take(flags >>> IORING_CQE_BUFFER_SHIFT, res);
      if (final && this.wantRead) this.armRead();
      this.sink.onData(data);
    } else if (res === 0) {
      this.ended(null);
    } else if (res === -ENOBUFS) {
      if (this.wantRead) this.stageRead(ReadOp.Plain, this.spareBuf ?? Buffer.allocUnsafeSlow(READ_SIZE));
    } else if (res === -EBADFD || res === -EINVAL) {
      // Not pollable (READ_MULTISHOT needs a file it can poll): single-shot from now on.
      this.multishot = false;
      if (this.wantRead) this.armRead();
    } else if (res === -EAGAIN) {
      if (this.wantRead) this.stagePoll(ReadOp.PollIn, POLLIN);
    } else {
      this.ended(systemError(res, "read"));
    }
  }

  private onPlain(res: number, buf: Buffer): void {
    if (res > 0) {
      let data: Buffer;
      if (res >= buf.length >>> 1) {
        data = buf.subarray(0, res);
      } else {
        data = Buffer.allocUnsafe(res);
        buf.copy(data, 0, 0, res);
        this.spareBuf = buf;
      }
      if (this.wantRead) this.armRead();
      this.sink.onData(data);
    } else if (res === 0) {
      this.spareBuf = buf;
      this.ended(null);
    } else if (res === -EAGAIN) {
      this.spareBuf = buf;
      if (this.wantRead) this.stagePoll(ReadOp.PollIn, POLLIN);
    } else {
      this.ended(systemError(res, "read"));
    }
  }

  private onInto(res: number, buf: Uint8Array): void {
    if (res === -EAGAIN) {
      this.pollForInto = true;
      this.stagePoll(ReadOp.PollIn, POLLIN);
      this.readBuf = buf;
    } else if (res >= 0) {
      if (res === 0) this.readEnded = true;
      this.sink.onReadInto(res);
    } else {
      this.readEnded = true;
      this.sink.onReadError(systemError(res, "read"));
    }
  }

  /** EOF (null; for a write endpoint: the reader went away) or a read error: reading ends. */
  private ended(err: Error | null): void {
    this.readEnded = true;
    this.wantRead = false;
    if (err === null) this.sink.onEof();
    else this.sink.onReadError(err);
  }

  private onWrite(res: number): void {
    this.writeSlot = -1;
    const polled = this.writePolling;
    this.writePolling = false;
    if (this.state !== State.Open) {
      this.writeChunks = null;
      this.maybeFinishClose();
      return;
    }
    if (res === -EAGAIN && !polled && this.writeChunks !== null) {
      const ring = this.ctx.ring;
      this.writeSlot = ring.alloc(this);
      this.writePolling = true;
      const off = ring.stageRecord(OP_POLL_ADD, this.writeSlot, this.fd);
      ring.setField(off, S_FLAGS, POLLOUT);
      return;
    }
    if (polled && res > 0 && this.writeChunks !== null) {
      this.issueWrite(this.writeChunks);
      return;
    }
    if (res < 0) {
      this.writeChunks = null;
      this.sink.onWriteDone(systemError(res, "write"));
      return;
    }
    this.writeLeft -= res;
    if (this.writeLeft > 0 && this.writeChunks !== null) {
      this.issueWrite(dropBytes(this.writeChunks, res));
      return;
    }
    this.writeChunks = null;
    this.sink.onWriteDone(null);
  }
}
