// UringDatagramEndpoint: one datagram socket (UDP over IPv4/IPv6, or AF_UNIX) over the ring.
// It is the OpHandler of its own ops (no closure, no Promise per datagram): a completion is
// routed by its slot to the receive or the send path.
//
// Ops:
//   recv   ONE multishot RECVMSG (ops/recvmsg.cc) on the loop's datagram buffer ring
//          (group DGRAM_GROUP): every CQE is one datagram, parsed here from the buffer
//          (io_uring_recvmsg_out header, source address, payload), copied out, and the
//          buffer put straight back into the ring. Re-armed when it ends (a CQE without
//          IORING_CQE_F_MORE: ENOBUFS when the ring ran dry, an error, a cancel) while
//          receiving is wanted; stopReceiving() cancels it.
//          Truncation (proactor.ts): the op asks for MSG_TRUNC, so payloadlen is the
//          datagram's real length; one larger than the room in a buffer is reported as
//          EMSGSIZE with `size` and `addr`, its bytes dropped.
//   send   one OP_SENDTO (SEND with the address, ops/sendto.cc) per datagram from the send arena
//          (dgram-arena.ts); at most MAX_SENDS_IN_FLIGHT at once, the rest wait in a queue
//          (already copied) and go as completions free slots. Everything staged in one
//          loop iteration is submitted once, by the ring's uv_prepare hook.
// States: open --close()--> closing (ASYNC_CANCEL of every op on the fd, queued datagrams
// dropped, waiting for the final CQEs; the sink hears nothing more but onClosed) --all
// CQEs in, fd closed, one NOP round trip--> closed (onClosed, once).
import type { DatagramEndpoint, DatagramSink } from "../proactor.js";
import type { SockAddr } from "../events.js";
import { systemError, errno } from "../system-error.js";
import {
  OP_RECVMSG, OP_SENDTO, OP_NOP, OP_ASYNC_CANCEL,
  S_BUF_GROUP, S_FLAGS, S_LEN, S_OFF_LO, S_OFF_HI, S_NAME_LEN, NO_OP_INDEX, MSG_NOSIGNAL, MSG_TRUNC,
  IORING_CQE_F_MORE, IORING_CQE_F_BUFFER, IORING_CQE_BUFFER_SHIFT,
  IORING_ASYNC_CANCEL_FD, IORING_ASYNC_CANCEL_ALL,
} from "./native.js";
import { nativeSockets } from "../addon.js";
import { toSockAddr } from "../sockaddr.js";
import type { OpHandler, Ring } from "./ring.js";
import type { BufRing } from "./bufring.js";
import { writeSockAddr, readSockAddr } from "./dgram-addr.js";
import type { SendArena, ArenaChunk } from "./dgram-arena.js";
import { truncatedDatagram } from "../datagram-socket.js";

const { ECANCELED, ENOBUFS } = errno;

/** Bytes of a multishot RECVMSG buffer before the payload: io_uring_recvmsg_out (16) + the address room. */
export const RECV_NAME_ROOM = 112;
export const RECV_HEADER_BYTES = 16 + RECV_NAME_ROOM;
/** The datagram buffer ring's group (the stream ring is group 0). */
export const DGRAM_GROUP = 1;
/** Defaults of the loop options dgramBufCount / dgramBufSize (payload bytes received whole: any UDP datagram). */
export const DEFAULT_DGRAM_BUF_COUNT = 64;
export const DEFAULT_DGRAM_BUF_SIZE = 65536;
/** Sends of one endpoint in flight at most (the op table and the CQ stay far from full). */
const MAX_SENDS_IN_FLIGHT = 256;

/** What a datagram endpoint needs from its proactor. */
export interface DatagramContext {
  readonly ring: Ring;
  /** The loop's datagram buffer ring, made on first use. */
  dgramBufRing(): BufRing;
  readonly sendArena: SendArena;
  track(fd: number, owner: { _forceClose(): void }): void;
  released(fd: number): void;
}

const enum State { Open, Closing, Closed }

/** Counters for tests and profiling (process-wide). */
export const datagramStats = { rearms: 0, noBufs: 0, truncated: 0, queuedSends: 0 };

function noopSink(): DatagramSink {
  const nop = () => {};
  return { onDatagram: nop, onReceiveError: nop, onSent: nop, onClosed: nop };
}

export class UringDatagramEndpoint implements DatagramEndpoint, OpHandler {
  private sink: DatagramSink = noopSink();
  private state = State.Open;
  private wantRecv = false;
  private recvSlot = -1;
  private recvCancelled = false;
  private sendsInFlight = 0;
  /** Datagrams copied into the arena, waiting for a send slot: chunk, offset, payload length, name length. */
  private waiting: Array<ArenaChunk | number> = [];
  private closeSlot = -1;

  /** `fd` (a non-blocking SOCK_DGRAM socket) is owned from now on. */
  constructor(
    private readonly ctx: DatagramContext,
    readonly fd: number,
  ) {
    ctx.track(fd, this);
  }

  setSink(sink: DatagramSink): void {
    this.sink = sink;
  }

  // ---- receiving

  startReceiving(): void {
    if (this.state !== State.Open) return;
    this.wantRecv = true;
    if (this.recvSlot < 0) this.armRecv();
  }

  stopReceiving(): void {
    this.wantRecv = false;
    if (this.recvSlot >= 0 && !this.recvCancelled) {
      this.recvCancelled = true;
      this.ctx.ring.stageTargeted(OP_ASYNC_CANCEL, NO_OP_INDEX, this.recvSlot, 0);
    }
  }

  private armRecv(): void {
    const ring = this.ctx.ring;
    const group = this.ctx.dgramBufRing().group;
    const slot = ring.alloc(this);
    const off = ring.stageRecord(OP_RECVMSG, slot, this.fd);
    ring.setField(off, S_FLAGS, MSG_TRUNC);
    ring.setField(off, S_BUF_GROUP, group);
    ring.setField(off, S_LEN, RECV_NAME_ROOM);
    this.recvSlot = slot;
    this.recvCancelled = false;
  }

  private onRecv(res: number, flags: number): void {
    const final = (flags & IORING_CQE_F_MORE) === 0;
    if (final) this.recvSlot = -1;
    const open = this.state === State.Open;
    if ((flags & IORING_CQE_F_BUFFER) !== 0) this.takeDatagram(flags >>> IORING_CQE_BUFFER_SHIFT, res, open);
    else if (res < 0 && res !== -ECANCELED && res !== -ENOBUFS && open) this.sink.onReceiveError(systemError(res, "recvmsg"));
    if (!final) return;
    if (!open) {
      this.maybeFinishClose();
      return;
    }
    if (this.wantRecv && this.recvSlot < 0) {
      datagramStats.rearms++;
      if (res === -ENOBUFS) datagramStats.noBufs++;
      this.armRecv();
    }
  }

  /** Buffer `bid` holds one datagram (see ops/recvmsg.cc): deliver it or report its truncation, then recycle the buffer. */
  private takeDatagram(bid: number, res: number, open: boolean): void {
    const ring = this.ctx.dgramBufRing();
    const mem = ring.region(bid);
    if (open && res >= RECV_HEADER_BYTES) {
      // io_uring_recvmsg_out { u32 namelen, controllen, payloadlen, flags } (little-endian host).
      const words = ring.words;
      const h = mem.byteOffset >>> 2;
      const namelen = words[h];
      const payloadlen = words[h + 2];
      const room = mem.length - RECV_HEADER_BYTES;
      const addr = readSockAddr(mem, 16, Math.min(namelen, RECV_NAME_ROOM));
      if (payloadlen > room || (words[h + 3] & MSG_TRUNC) !== 0) {
        datagramStats.truncated++;
        const err = truncatedDatagram(payloadlen, addr, room, ", the dgramBufSize loop option");
        ring.recycle(bid);
        this.sink.onReceiveError(err);
        return;
      }
      const data = Buffer.allocUnsafe(payloadlen);
      mem.copy(data, 0, RECV_HEADER_BYTES, RECV_HEADER_BYTES + payloadlen);
      ring.recycle(bid);
      this.sink.onDatagram(data, addr);
      return;
    }
    ring.recycle(bid);
  }

  // ---- sending

  sendto(data: Uint8Array, addr: SockAddr | null): void {
    if (this.state !== State.Open) return;
    const arena = this.ctx.sendArena;
    const len = data.byteLength;
    const chunk = arena.take(len);
    const off = arena.offset;
    const namelen = addr === null ? 0 : writeSockAddr(addr, chunk.buf, off);
    chunk.buf.set(data, off + ((namelen + 7) & ~7));
    if (this.sendsInFlight < MAX_SENDS_IN_FLIGHT && this.waiting.length === 0) this.issueSend(chunk, off, len, namelen);
    else {
      datagramStats.queuedSends++;
      this.waiting.push(chunk, off, len, namelen);
    }
  }

  private issueSend(chunk: ArenaChunk, off: number, len: number, namelen: number): void {
    const ring = this.ctx.ring;
    const slot = ring.alloc(this);
    this.ctx.sendArena.bind(slot, chunk, len);
    this.sendsInFlight++;
    const rec = ring.stageRecord(OP_SENDTO, slot, this.fd);
    const at = chunk.addr + off;
    ring.setField(rec, S_FLAGS, MSG_NOSIGNAL);
    ring.setField(rec, S_LEN, len);
    ring.setField(rec, S_OFF_LO, at >>> 0);
    ring.setField(rec, S_OFF_HI, Math.floor(at / 4294967296));
    ring.setField(rec, S_NAME_LEN, namelen);
  }

  private onSend(res: number, slot: number): void {
    this.sendsInFlight--;
    const len = this.ctx.sendArena.release(slot);
    if (this.state !== State.Open) {
      this.maybeFinishClose();
      return;
    }
    if (this.waiting.length > 0) {
      const w = this.waiting;
      this.issueSend(w[0] as ArenaChunk, w[1] as number, w[2] as number, w[3] as number);
      w.splice(0, 4);
    }
    this.sink.onSent(len, res < 0 ? systemError(res, "sendmsg") : null);
  }

  // ---- closing

  close(): void {
    if (this.state !== State.Open) return;
    this.state = State.Closing;
    this.wantRecv = false;
    const arena = this.ctx.sendArena;
    for (let i = 0; i < this.waiting.length; i += 4) arena.drop(this.waiting[i] as ArenaChunk);
    this.waiting = [];
    if (this.recvSlot >= 0 || this.sendsInFlight > 0) {
      const off = this.ctx.ring.stageRecord(OP_ASYNC_CANCEL, NO_OP_INDEX, this.fd);
      this.ctx.ring.setField(off, S_FLAGS, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL);
    }
    this.maybeFinishClose();
  }

  /** Every op has its final CQE: close the fd, then onClosed after one NOP round trip. */
  private maybeFinishClose(): void {
    if (this.state !== State.Closing || this.closeSlot >= 0 || this.recvSlot >= 0 || this.sendsInFlight > 0) return;
    this.ctx.released(this.fd);
    nativeSockets().close(this.fd);
    this.closeSlot = this.ctx.ring.alloc(this);
    this.ctx.ring.stageRecord(OP_NOP, this.closeSlot, -1);
  }

  /** The proactor is closing: the ring is gone (every op completed), so just release the fd. */
  _forceClose(): void {
    if (this.state === State.Closed) return;
    if (this.closeSlot < 0) nativeSockets().close(this.fd);
    const arena = this.ctx.sendArena;
    for (let i = 0; i < this.waiting.length; i += 4) arena.drop(this.waiting[i] as ArenaChunk);
    this.waiting = [];
    this.state = State.Closed;
  }

  // ---- addresses

  sockname(): SockAddr | null {
    return toSockAddr(nativeSockets().sockName(this.fd));
  }

  peername(): SockAddr | null {
    return toSockAddr(nativeSockets().peerName(this.fd));
  }

  // ---- completions

  _complete(res: number, flags: number, slot: number): void {
    if (slot === this.recvSlot) this.onRecv(res, flags);
    else if (slot === this.closeSlot) {
      this.closeSlot = -1;
      this.state = State.Closed;
      this.sink.onClosed();
    } else this.onSend(res, slot);
  }
}
