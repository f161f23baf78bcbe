// The binding between the TypeScript io_uring backend and the C++ addon (native/).
//
// This file is the ONE place the shared-memory layouts are written down; native/ring.h
// mirrors the constants below and must change with them.
//
// user_data encoding (liburing style, never a pointer):
//   user_data = (uint64(generation) << 32) | uint32(index)
//   index      slot in the JS op table (0 .. maxOps-1)
//   generation bumped by JS each time a slot is reused, so a stale CQE can never be
//              delivered to the op that took the slot afterwards
//   index == NO_OP_INDEX (0xFFFFFFFF, -1 as int32): a fire-and-forget op (cancel, timeout
//              update); native consumes its CQE and never delivers it to JS.
//
// Staging (submission without a native call per op):
//   JS writes STAGE_RECORD_INTS int32s per op into `stage` at record `control[CTRL_STAGED]`
//   and increments control[CTRL_STAGED]. Native turns every staged record into an SQE in
//   its uv_prepare hook (once per libuv loop iteration, before poll), submits once, and
//   resets control[CTRL_STAGED] to 0. When the stage is full JS calls ring.submit().
//
// Completion (one call into JS per batch):
//   When the ring fd polls readable, native copies every available CQE into
//   `completions` (COMPLETION_RECORD_INTS int32s each) and calls onCompletions(count)
//   once; it may repeat a bounded number of passes per wake-up. The records are valid
//   only during that call.
import { loadAddon } from "../addon.js";
import type { FamilyCode } from "../sockaddr.js";

export const NO_OP_INDEX = -1;

/** int32s per staged submission record. */
export const STAGE_RECORD_INTS = 16;
/** Offsets inside a stage record. */
export const S_OPCODE = 0; // IORING_OP_* number, or a ringloop record kind (OP_SENDTO)
export const S_INDEX = 1; // op table index, or NO_OP_INDEX
export const S_GEN = 2; // op generation
export const S_FD = 3; // fd, -1 when the op has none
export const S_FLAGS = 4; // op-specific flags (timeout flags, cancel flags, msg flags)
export const S_LEN = 5; // length / count
export const S_TARGET_INDEX = 6; // ASYNC_CANCEL / TIMEOUT_REMOVE target
export const S_TARGET_GEN = 7;
export const S_TV_SEC = 8; // TIMEOUT / TIMEOUT update: CLOCK_MONOTONIC seconds
export const S_TV_NSEC = 9; // and nanoseconds
export const S_BUF_GROUP = 10; // RECV: provided-buffer group (multishot), -1 = the op's own buffer (prepRecv)
export const S_OFF_LO = 11; // SPLICE off_in and file ops: 64-bit offset, low 32 bits (-1/-1: none / the file position)
export const S_OFF_HI = 12; // and high 32 bits
export const S_SPLICE_FD_IN = 13; // SPLICE: fd_in (S_FD is fd_out)
export const S_FILE_FLAGS = 14; // READ/WRITE/READV/WRITEV: FILE_F_* (not reset by stageRecord: always set)
export const S_NAME_LEN = 13; // OP_SENDTO: sockaddr bytes at the start of its region (0 = connected peer)
// 15 unused.

/** int32s per completion record. */
export const COMPLETION_RECORD_INTS = 4;
export const C_INDEX = 0;
export const C_GEN = 1;
export const C_RES = 2; // cqe->res: >= 0 result, < 0 -errno
export const C_FLAGS = 3; // cqe->flags (IORING_CQE_F_MORE, F_BUFFER, ...)

/** Offsets inside `control`. */
export const CTRL_STAGED = 0; // records staged and not yet submitted (JS increments, native resets)
export const CTRL_INFLIGHT = 1; // SQEs submitted whose final CQE has not arrived (native maintains)
export const CTRL_SPIN_HITS = 2; // busy polls after a wake-up that found work (native counts)

/** Offsets inside `metrics` (Float64Array: native adds, JS reads on demand; loop.metrics()). */
export const M_SQES_SUBMITTED = 0; // SQEs the kernel took
export const M_CQES_REAPED = 1; // CQEs consumed (fire-and-forget ones included)
export const M_ENTER_CALLS = 2; // io_uring_enter syscalls (submits, get_events)
export const M_CQ_OVERFLOWS = 3; // reaps that found the CQ overflowed (CQEs parked in the kernel, none lost)
export const M_CQ_DROPPED = 4; // CQEs the kernel dropped (cq.koverflow; refreshMetrics() reads it)
export const M_WAKEUPS = 5; // ring fd poll wake-ups
export const M_SQ_FULL = 6; // submits forced mid-turn by a full stage (JS adds) or a full SQ (native adds)

/** IORING_OP_* numbers used so far (kernel uapi). */
export const OP_NOP = 0;
export const OP_TIMEOUT = 11;
export const OP_TIMEOUT_REMOVE = 12;
export const OP_ASYNC_CANCEL = 14;
export const OP_SENDMSG = 9;
export const OP_SEND = 26;
/** Zero-copy sends (6.0 / 6.1): a result CQE with F_MORE, then an F_NOTIF CQE when the pages are free. */
export const OP_SEND_ZC = 47;
export const OP_SENDMSG_ZC = 48;
export const OP_POLL_ADD = 6;
export const POLLOUT = 4;
export const OP_ACCEPT = 13;
export const OP_CONNECT = 16;
export const OP_RECV = 27;
export const OP_SHUTDOWN = 34;
export const OP_SPLICE = 30;
/** splice(2) flags. */
export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
export const OP_READV = 1;
export const OP_WRITEV = 2;
export const OP_FSYNC = 3;
export const OP_OPENAT = 18;
export const OP_CLOSE = 19;
export const OP_STATX = 21;
export const OP_READ = 22;
export const OP_WRITE = 23;
/** Multishot RECVMSG on a buffer ring (datagrams, ops/recvmsg.cc; kernel 6.0). */
export const OP_RECVMSG = 10;
/**
 * ringloop record kinds beyond the kernel's opcodes (>= 256, the kernel opcode in the low
 * byte). OP_SENDTO: one datagram with its address from the send arena, as a SEND with a
 * destination address (ops/sendto.cc; kernel 6.0).
 */
export const OP_SENDTO = 0x100 | OP_SEND;
/** recvmsg flag: report a datagram's real length (ops/recvmsg.cc). */
export const MSG_TRUNC = 0x20;

/** iovecs per SENDMSG op (per-op storage); JS merges chunks beyond it. */
export const SEND_MAX_IOV = 4;

/** Flags (kernel uapi). */
export const IORING_TIMEOUT_ABS = 1 << 0;
export const IORING_TIMEOUT_UPDATE = 1 << 1;
export const IORING_CQE_F_MORE = 1 << 1;
export const IORING_CQE_F_NOTIF = 1 << 3;
export const IORING_ASYNC_CANCEL_ALL = 1 << 0;
export const IORING_ASYNC_CANCEL_FD = 1 << 1;
export const IORING_CQE_F_BUFFER = 1 << 0;
export const IORING_CQE_BUFFER_SHIFT = 16;
export const MSG_NOSIGNAL = 0x4000;
export const SHUT_WR = 1;
export const IORING_FSYNC_DATASYNC = 1 << 0;
/** S_FILE_FLAGS: run on an io-wq worker (IOSQE_ASYNC) instead of inline in the loop thread. */
export const FILE_F_ASYNC = 1;
export const O_CLOEXEC = 0o2000000; // not in node:fs constants
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
/** STATX_BASIC_STATS | STATX_BTIME, the mask libuv asks for. */
export const STATX_MASK = 0xfff;
/** sizeof(struct statx). */
export const STATX_BYTES = 256;

/** A provided buffer ring (NativeRing.setupBufRing). */
export interface NativeBufRing {
  /** io_uring_buf entries (16 bytes each); the ring tail is the uint16 at byte 14. */
  readonly entries: ArrayBuffer;
  /** count * size bytes; buffer `bid` starts at bid * size. */
  readonly data: ArrayBuffer;
  /** Address of `data` in the process (for the entries' addr field). */
  readonly dataAddr: number;
}

export interface RingOptions {
  /** SQ entries (power of two); CQ gets twice as many. */
  entries: number;
  /** Size of the op table; native keeps per-op storage (timespecs, later iovecs) for each index. */
  maxOps: number;
  /** Microseconds to keep watching the ring after a wake-up's completions (0 = off, <= 1000). */
  busyPollUs: number;
  /** Called once per batch of completions, with the number of records in `completions`. */
  onCompletions: (count: number) => void;
}

export interface NativeRing {
  readonly stage: Int32Array;
  readonly stageCapacity: number;
  readonly completions: Int32Array;
  readonly completionCapacity: number;
  readonly control: Int32Array;
  /** Health counters at M_* (see there). */
  readonly metrics: Float64Array;
  /** Copies the counters only the kernel knows (M_CQ_DROPPED) into `metrics`. */
  refreshMetrics(): void;
  /**
   * The kernel's head of provided-buffer group `group` (IORING_REGISTER_PBUF_STATUS, kernel
   * 6.8): a uint16 that wraps; entries the kernel may still take = tail - head. -errno
   * (-EINVAL on older kernels).
   */
  bufRingHead(group: number): number;
  /** Setup flags in use, e.g. ["COOP_TASKRUN", "SINGLE_ISSUER"]. */
  readonly flags: string[];
  readonly fd: number;
  /** Submit everything staged now (used when the stage is full); returns SQEs submitted or -errno. */
  submit(): number;
  /**
   * Flush the stage, then copy the completions already available into `completions`
   * without calling onCompletions; returns the record count (JS dispatches them). Used
   * between loop iterations run back to back in one JS turn.
   */
  pollNow(): number;
  /** Ref / unref the libuv handles so a running loop keeps the process alive. */
  ref(): void;
  unref(): void;
  /** Cancel everything in flight, wait for every CQE, exit the ring, close the handles. Idempotent. */
  close(): void;
  /**
   * Socket fds owned by this ring's endpoints/listeners: the ring closes the ones still
   * tracked at env teardown (a worker exiting with connections open). Untrack BEFORE
   * closing an fd. closeOwnedFds(): for a garbage-collected loop's cleanup, after close().
   */
  trackFd(fd: number): void;
  untrackFd(fd: number): void;
  closeOwnedFds(): void;
  // Per-op storage of the stream ops, written before the op's record is staged (the slot
  // must not have an op in flight). Each returns >= 0 or -errno.
  /** CONNECT: the address (family code, IP literal or Unix path, port). */
  prepConnect(slot: number, family: FamilyCode, host: string, port: number): number;
  /** SENDMSG: 1..SEND_MAX_IOV chunks; returns their total length. */
  prepSend(slot: number, chunks: Uint8Array[]): number;
  /** RECV into `buf` (single shot). */
  prepRecv(slot: number, buf: Uint8Array): number;
  /**
   * IORING_REGISTER_SYNC_CANCEL (kernel 6.0): flush the stage, cancel the op (slot, gen) and
   * return once the kernel has finished it: 0, or -ENOENT when it had already finished.
   * The op's final CQE is still delivered later. Bounded wait (1 s: then -ETIME).
   */
  cancelSync(slot: number, gen: number): number;
  /**
   * loop.sendfile: a pipe2(O_NONBLOCK | O_CLOEXEC) sized to `size` with F_SETPIPE_SZ (or
   * /proc/sys/fs/pipe-max-size when smaller): [readFd, writeFd, capacity], or -errno.
   */
  openPipe(size: number): Int32Array | number;
  /**
   * loop.sendfile, sendfile(2) strategy: sendfile() from `inFd` at `offset` to the
   * non-blocking socket `outFd` until `count` bytes, EOF, EAGAIN or an error; result[0] =
   * bytes sent. Returns 0 (count or EOF), -EAGAIN (socket full) or -errno.
   */
  sendfileNow(outFd: number, inFd: number, offset: number, count: number, result: Float64Array): number;
  /**
   * loop.sendfile's strategy choice: is the page of `fd` at `offset` in the page cache? A
   * 1-byte preadv2(RWF_NOWAIT): 1 yes (or at/after EOF), 0 no (a read would block), -errno.
   */
  pageCached(fd: number, offset: number): number;
  /**
   * `size` bytes starting on a 2 MiB boundary, advised MADV_HUGEPAGE (an external Buffer
   * over its own mapping, pooled for reuse or unmapped when the GC frees it: a reused one
   * holds old bytes, as Buffer.allocUnsafe's memory may), or -errno.
   */
  freshHugeBuffer(size: number): Buffer | number;
  // Per-op storage of the file ops (native/ops/file.cc), same rule as above.
  /**
   * OPENAT / STATX: `path` NUL-terminated; READ / WRITE: `buf` the data; STATX: `buf` the
   * struct statx (STATX_BYTES). Returns 0 or -EINVAL.
   */
  prepFile(slot: number, path: Uint8Array | null, buf: Uint8Array | null): number;
  /** READV / WRITEV: iovecs for `bufs` written into `iovStore` (16 bytes each, 8-aligned); returns the total length. */
  prepFileVec(slot: number, bufs: Uint8Array[], iovStore: Uint8Array): number;
  /** Registers buffer group `group`: `count` (power of two) buffers of `size` bytes. */
  setupBufRing(count: number, size: number, group: number): NativeBufRing | number;
  /** Address of `bytes[0]` (JS memory lent to the buffer ring; see BufRing), or -EINVAL. */
  bufferAddress(bytes: Uint8Array): number;
}

/** The addon's Ring class (the addon is loaded by src/addon.ts); throws where it is unavailable. */
export function ringClass(): new (opts: RingOptions) => NativeRing {
  const { addon, error } = loadAddon();
  if (!addon) throw new Error(`io_uring backend unavailable: ${error}`);
  return addon.Ring as new (opts: RingOptions) => NativeRing;
}
