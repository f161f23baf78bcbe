// UringFileOps: the FileOps seam (src/proactor.ts) over io_uring file ops (native/ops/file.cc).
// Each op is one FileOp object (the OpHandler of its slot) and one Promise: file ops are not
// the per-message hot path. The FileOp holds the path bytes, buffers, iovec array and statx
// buffer until the op's final CQE (DESIGN.md, Ownership), then settles the Promise.
//
// fds: every fd OPENAT returns is tracked until a CLOSE of it is staged; close() of the
// proactor closes the ones still open synchronously (release(), before the ring closes);
// after that close() resolves (the fd is closed already) and every other op rejects EBADF.
// Ops the closing ring cancelled without delivering their CQE reject with ECANCELED
// (abandon(), after the ring closed).
import type { FileOps, StatFields } from "../proactor.js";
import { errno } from "../system-error.js";
import { fileError } from "../file-error.js";
import {
  OP_OPENAT, OP_CLOSE, OP_READ, OP_WRITE, OP_READV, OP_WRITEV, OP_STATX, OP_FSYNC,
  S_FLAGS, S_LEN, S_OFF_LO, S_OFF_HI, S_FILE_FLAGS, FILE_F_ASYNC, IORING_FSYNC_DATASYNC,
  AT_FDCWD, O_CLOEXEC, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, STATX_MASK, STATX_BYTES,
} from "./native.js";
import type { OpHandler, Ring } from "./ring.js";
import { nativeSockets } from "../addon.js";

const EMPTY_PATH = new Uint8Array(1); // "" for STATX of an fd (AT_EMPTY_PATH)
const TWO_32 = 2 ** 32;
const MAX_RW_COUNT = 0x7ffff000; // the kernel's per-call cap (INT_MAX & PAGE_MASK)
const IOV_MAX = 1024;
/** freshBuffer asks for huge-page memory from this size on (two whole 2 MiB pages). */
const HUGE_PAGE_MIN = 4 << 20;

function pathBytes(path: string | Buffer): Uint8Array {
  const n = typeof path === "string" ? Buffer.byteLength(path) : path.length;
  const out = Buffer.allocUnsafe(n + 1);
  if (typeof path === "string") out.write(path, 0);
  else path.copy(out, 0);
  out[n] = 0;
  return out;
}

/** One file op in flight: its slot's handler; keeps what the kernel uses referenced. */
class FileOp implements OpHandler {
  resolve!: (res: number) => void;
  reject!: (err: Error) => void;
  /** Memory the op uses (path bytes, buffers, iovecs, statx buffer): held until the CQE. */
  keep: unknown = null;
  readonly promise: Promise<number>;

  constructor(
    private readonly owner: UringFileOps,
    readonly syscall: string,
    readonly path: string | undefined,
  ) {
    this.promise = new Promise<number>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The slot, while the op is in flight (-1 before and after). */
  slot = -1;

  _complete(res: number): void {
    this.keep = null;
    this.owner._finished(this);
    if (res >= 0) res = this.owner._completed(this, res);
    if (res < 0) this.reject(fileError(res, this.syscall, this.path));
    else this.resolve(res);
  }
}

export class UringFileOps implements FileOps {
  private readonly openFds = new Set<number>();
  private readonly inflight = new Set<FileOp>();
  private closed = false;

  constructor(private readonly ring: Ring) {}

  /** @internal The op's final CQE arrived. */
  _finished(op: FileOp): void {
    op.slot = -1;
    this.inflight.delete(op);
  }

  /** @internal A successful completion: an fd OPENAT returned is tracked. Returns the result to settle with. */
  _completed(op: FileOp, res: number): number {
    if (op.syscall !== "open") return res;
    if (this.closed) {
      nativeSockets().close(res); // opened while the loop closed: nobody may use it
      return -errno.ECANCELED;
    }
    this.openFds.add(res);
    return res;
  }

  /** A new op and its slot; slot -1 (the op already rejected) once closed or the table is full. */
  private begin(syscall: string, path?: string): { op: FileOp; slot: number } {
    const op = new FileOp(this, syscall, path);
    if (this.closed) {
      op.reject(fileError(-errno.EBADF, syscall, path));
      return { op, slot: -1 };
    }
    let slot: number;
    try {
      slot = this.ring.alloc(op);
    } catch (err) {
      op.reject(err as Error);
      return { op, slot: -1 };
    }
    op.slot = slot;
    this.inflight.add(op);
    return { op, slot };
  }

  private stagePositioned(opcode: number, slot: number, fd: number, position: number, fileFlags: number): void {
    const off = this.ring.stageRecord(opcode, slot, fd);
    // 64-bit offset: -1 (the file position) is all ones in both halves.
    const hi = position < 0 ? -1 : Math.floor(position / TWO_32);
    this.ring.setField(off, S_OFF_LO, position < 0 ? -1 : (position - hi * TWO_32) | 0);
    this.ring.setField(off, S_OFF_HI, hi | 0);
    this.ring.setField(off, S_FILE_FLAGS, fileFlags);
  }

  open(path: string | Buffer, flags: number, mode: number): Promise<number> {
    const shown = typeof path === "string" ? path : path.toString();
    const { op, slot } = this.begin("open", shown);
    if (slot < 0) return op.promise;
    const bytes = pathBytes(path);
    op.keep = bytes;
    this.ring.native.prepFile(slot, bytes, null);
    const off = this.ring.stageRecord(OP_OPENAT, slot, AT_FDCWD);
    this.ring.setField(off, S_FLAGS, flags | O_CLOEXEC);
    this.ring.setField(off, S_LEN, mode);
    return op.promise;
  }

  async close(fd: number): Promise<void> {
    if (this.closed) return; // release() closed every fd open() gave out
    const { op, slot } = this.begin("close");
    if (slot >= 0) {
      // Untracked at once: close(2) releases the fd number even when it fails, so release()
      // must never close it again (it may belong to a new file by then).
      this.openFds.delete(fd);
      this.ring.stageRecord(OP_CLOSE, slot, fd);
    }
    await op.promise;
  }

  /** offload: IOSQE_ASYNC (see FILE_F_ASYNC in native/ops/file.cc for when it pays). */
  read(fd: number, buf: Uint8Array, position: number, offload = false): Promise<number> {
    return this.transfer(OP_READ, "read", fd, buf, position, offload ? FILE_F_ASYNC : 0);
  }

  write(fd: number, buf: Uint8Array, position: number): Promise<number> {
    return this.transfer(OP_WRITE, "write", fd, buf, position, 0);
  }

  private transfer(opcode: number, syscall: string, fd: number, buf: Uint8Array, position: number, fileFlags: number): Promise<number> {
    // The kernel moves at most MAX_RW_COUNT bytes per call: a short count, as read(2) gives.
    if (buf.byteLength > MAX_RW_COUNT) buf = buf.subarray(0, MAX_RW_COUNT);
    const { op, slot } = this.begin(syscall);
    if (slot < 0) return op.promise;
    op.keep = buf;
    this.ring.native.prepFile(slot, null, buf);
    this.stagePositioned(opcode, slot, fd, position, fileFlags);
    return op.promise;
  }

  readv(fd: number, bufs: Uint8Array[], position: number): Promise<number> {
    return this.transferVec(OP_READV, "read", fd, bufs, position);
  }

  writev(fd: number, bufs: Uint8Array[], position: number): Promise<number> {
    return this.transferVec(OP_WRITEV, "write", fd, bufs, position);
  }

  private transferVec(opcode: number, syscall: string, fd: number, bufs: Uint8Array[], position: number): Promise<number> {
    // At most IOV_MAX iovecs per call, the rest left over (a short count, as libuv does).
    if (bufs.length > IOV_MAX) bufs = bufs.slice(0, IOV_MAX);
    const { op, slot } = this.begin(syscall);
    if (slot < 0) return op.promise;
    const iovs = new Uint8Array(Math.max(1, bufs.length) * 16); // own ArrayBuffer: 8-aligned
    op.keep = [bufs.slice(), iovs];
    this.ring.native.prepFileVec(slot, bufs, iovs);
    this.stagePositioned(opcode, slot, fd, position, 0);
    return op.promise;
  }

  stat(path: string | Buffer, followLinks: boolean): Promise<StatFields> {
    const shown = typeof path === "string" ? path : path.toString();
    return this.statx(followLinks ? "stat" : "lstat", AT_FDCWD, pathBytes(path), followLinks ? 0 : AT_SYMLINK_NOFOLLOW, shown);
  }

  fstat(fd: number): Promise<StatFields> {
    return this.statx("fstat", fd, EMPTY_PATH, AT_EMPTY_PATH, undefined);
  }

  private async statx(syscall: string, dirfd: number, path: Uint8Array, flags: number, shown: string | undefined): Promise<StatFields> {
    const { op, slot } = this.begin(syscall, shown);
    const out = Buffer.alloc(STATX_BYTES);
    if (slot >= 0) {
      op.keep = [path, out];
      this.ring.native.prepFile(slot, path, out);
      const off = this.ring.stageRecord(OP_STATX, slot, dirfd);
      this.ring.setField(off, S_FLAGS, flags);
      this.ring.setField(off, S_LEN, STATX_MASK);
    }
    await op.promise;
    return statxFields(out);
  }

  /**
   * Fresh memory of HUGE_PAGE_MIN bytes or more comes from native freshHugeBuffer: 2 MiB
   * aligned, advised MADV_HUGEPAGE, so the reads that fill it fault in 2 MiB pages, not
   * 4 KiB ones, and copy into page-aligned memory. That first-touch cost, not the copy,
   * bounds readFile of a large file (perf/fs-bench.mjs: the "first touch only" rows), so
   * mappings the GC has freed are pooled and reused (native/huge_buffer.cc). If the mapping
   * fails, an ordinary Buffer.
   */
  freshBuffer(size: number): Buffer {
    if (size >= HUGE_PAGE_MIN) {
      const buf = this.ring.native.freshHugeBuffer(size);
      if (typeof buf !== "number") return buf;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  async fsync(fd: number, dataOnly: boolean): Promise<void> {
    const { op, slot } = this.begin(dataOnly ? "fdatasync" : "fsync");
    if (slot >= 0) {
      const off = this.ring.stageRecord(OP_FSYNC, slot, fd);
      this.ring.setField(off, S_FLAGS, dataOnly ? IORING_FSYNC_DATASYNC : 0);
    }
    await op.promise;
  }

  /**
   * The proactor is closing; runs BEFORE the ring closes. An OPENAT in flight is cancelled
   * synchronously and its CQE collected now, so an fd it opened before the cancel is
   * closed, not lost with the ring. Then every tracked fd is closed (ops still in flight
   * on one hold their own file reference, so this is safe) and later ops reject EBADF.
   */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    let opens = false;
    for (const op of this.inflight) {
      if (op.syscall === "open" && op.slot >= 0) {
        this.ring.cancelSync(op.slot);
        opens = true;
      }
    }
    if (opens) this.ring.pollNow();
    for (const fd of this.openFds) nativeSockets().close(fd);
    this.openFds.clear();
  }

  /** The ring is closed: ops whose CQE was never delivered reject with ECANCELED. */
  abandon(): void {
    for (const op of this.inflight) {
      op.keep = null;
      op.reject(fileError(-errno.ECANCELED, op.syscall, op.path));
    }
    this.inflight.clear();
  }
}

/** glibc's makedev(), as libuv builds st_dev / st_rdev from statx's major/minor. */
function makedev(major: number, minor: number): number {
  return ((major & 0xfffff000) >>> 0) * TWO_32 + ((major & 0xfff) << 8) + ((minor & 0xffffff00) >>> 0) * 4096 + (minor & 0xff);
}

function u64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readUInt32LE(at + 4) * TWO_32;
}

/** Node's msFromTimeSpec over a struct statx_timestamp (int64 sec, uint32 nsec). */
function ms(b: Buffer, at: number): number {
  const sec = b.readUInt32LE(at) + b.readInt32LE(at + 4) * TWO_32;
  return sec * 1e3 + b.readUInt32LE(at + 8) / 1e6;
}

/** struct statx (include/uapi/linux/stat.h) -> the fields of Node's Stats. */
function statxFields(b: Buffer): StatFields {
  return {
    dev: makedev(b.readUInt32LE(136), b.readUInt32LE(140)),
    mode: b.readUInt16LE(28),
    nlink: b.readUInt32LE(16),
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    rdev: makedev(b.readUInt32LE(128), b.readUInt32LE(132)),
    blksize: b.readUInt32LE(4),
    ino: u64(b, 32),
    size: u64(b, 40),
    blocks: u64(b, 48),
    atimeMs: ms(b, 64),
    mtimeMs: ms(b, 112),
    ctimeMs: ms(b, 96),
    birthtimeMs: ms(b, 80),
  };
}
