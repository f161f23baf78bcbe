// File ops: IORING_OP_OPENAT, READ, WRITE, READV, WRITEV, STATX, FSYNC, CLOSE. One family
// in one file because they share one per-op storage struct (FileSlot) and its two
// marshallers (prepFile, prepFileVec): split per op, each file would need both.
//
// Minimum kernel: READV / WRITEV / FSYNC 5.1; OPENAT / CLOSE / STATX / READ / WRITE 5.6
// (READ / WRITE at offset -1 = the file position: IORING_FEAT_RW_CUR_POS, 5.6;
// IOSQE_ASYNC 5.6).
//
// Per-op storage: FileSlot (path, buffer, iovec array: pointers only), written by
// ring.prepFile / ring.prepFileVec before JS stages the record.
// Record: S_FD = the file (OPENAT / STATX: the dirfd, AT_FDCWD = -100; STATX of an fd:
// the fd with AT_EMPTY_PATH and path ""), S_FLAGS = open flags / statx flags /
// fsync flags (IORING_FSYNC_DATASYNC), S_LEN = OPENAT mode / STATX mask,
// S_OFF_LO / S_OFF_HI = the 64-bit file offset (READ, WRITE, READV, WRITEV; -1 = the
// file position), S_FILE_FLAGS = FILE_F_* (READ, WRITE, READV, WRITEV).
// Owns while in flight: the memory FileSlot points to, which the JS op record keeps
// referenced until the final CQE (the slot itself is per-op storage, kept by the Ring).
// CLOSE and FSYNC own nothing but the fd number.
// Completes with: OPENAT the new fd; READ / READV bytes read (0 at EOF, possibly short);
// WRITE / WRITEV bytes written (possibly short); STATX (struct statx in the buffer) /
// FSYNC / CLOSE 0; or -errno; -EINVAL when the marshaller refused its arguments.
#include <sys/stat.h>
#include <sys/uio.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#include "../ring_args.h"
#include "../ring_object.h"
#include "ops.h"

namespace ringloop {

namespace {

// Pointers only: a path (up to PATH_MAX) or an iovec array does not fit in kOpSlotBytes.
// A field the marshaller did not set is nullptr, and the prep refuses the record.
struct FileSlot {
  const char* path;  // OPENAT, STATX: NUL-terminated
  void* buf;         // READ / WRITE data; STATX: struct statx (>= sizeof(struct statx))
  uint32_t len;      // bytes of buf
  uint32_t nr;       // READV / WRITEV: iovecs in iov
  iovec* iov;        // READV / WRITEV
};

uint64_t offsetOf(const Prep& p) {
  return (uint64_t(uint32_t(p.rec[S_OFF_HI])) << 32) | uint32_t(p.rec[S_OFF_LO]);
}

// FILE_F_ASYNC: straight to an io-wq worker, skipping the inline attempt in the loop
// thread's io_uring_enter. For several large reads in flight into fresh memory (readFile):
// the copies and the page faults of the destination then run on other CPUs, in parallel
// (measured: perf/fs-bench.mjs, 64 MiB readFile). One read at a time is faster inline.
bool rw(const Prep& p) {
  if (p.rec[S_FILE_FLAGS] & FILE_F_ASYNC) p.sqe->flags |= IOSQE_ASYNC;
  return true;
}

}  // namespace

// prepFile(slot, path: Uint8Array | null, buf: Uint8Array | null) -> 0 | -EINVAL
// `path` must end with a NUL byte. A refused call leaves the slot zeroed, so the record
// staged after it completes with -EINVAL instead of using an earlier op's pointers.
Napi::Value RingObject::prepFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int err;
  auto* fs = freshSlot<FileSlot>(info, ring_, &err);
  if (!fs) return Napi::Number::New(env, err);
  if (info.Length() < 3) return Napi::Number::New(env, -EINVAL);
  void* path = nullptr;
  size_t pathLen = 0;
  if (!info[1].IsNull()) {
    if (!bytesOf(info[1], &path, &pathLen) || pathLen == 0 ||
        static_cast<const char*>(path)[pathLen - 1] != '\0') {
      return Napi::Number::New(env, -EINVAL);
    }
  }
  void* buf = nullptr;
  size_t len = 0;
  if (!info[2].IsNull()) {
    if (!bytesOf(info[2], &buf, &len) || len > 0x7ffff000) return Napi::Number::New(env, -EINVAL);
    // A zero-length view may have no backing store: any valid address will do, nothing is
    // transferred.
    if (!buf) buf = fs;
  }
  fs->path = static_cast<const char*>(path);
  fs->buf = buf;
  fs->len = uint32_t(len);
  return Napi::Number::New(env, 0);
}

// prepFileVec(slot, bufs: Uint8Array[], iovStore: Uint8Array) -> total bytes | -EINVAL
// Writes one iovec per buffer into iovStore (>= 16 bytes per buffer, 8-byte aligned, kept
// referenced by JS with the buffers) and points the slot at it. At most IOV_MAX buffers.
Napi::Value RingObject::prepFileVec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int err;
  auto* fs = freshSlot<FileSlot>(info, ring_, &err);
  if (!fs) return Napi::Number::New(env, err);
  if (info.Length() < 3) return Napi::Number::New(env, -EINVAL);
  iovec* iov;
  uint32_t n;
  double total = iovecsInto(info[1], info[2], &iov, &n);
  if (total < 0) return Napi::Number::New(env, total);
  fs->iov = iov;
  fs->nr = n;
  return Napi::Number::New(env, total);
}

bool prepOpenat(const Prep& p) {
  auto* slot = p.filled<FileSlot>();
  if (!slot || !slot->path) return false;
  io_uring_prep_openat(p.sqe, p.rec[S_FD], slot->path, p.rec[S_FLAGS], mode_t(uint32_t(p.rec[S_LEN])));
  return true;
}

bool prepRead(const Prep& p) {
  auto* slot = p.filled<FileSlot>();
  if (!slot || !slot->buf) return false;
  io_uring_prep_read(p.sqe, p.rec[S_FD], slot->buf, slot->len, offsetOf(p));
  return rw(p);
}

bool prepWrite(const Prep& p) {
  auto* slot = p.filled<FileSlot>();
  if (!slot || !slot->buf) return false;
  io_uring_prep_write(p.sqe, p.rec[S_FD], slot->buf, slot->len, offsetOf(p));
  return rw(p);
}

bool prepReadv(const Prep& p) {
  auto* slot = p.filled<FileSlot>();
  if (!slot || !slot->iov) return false;
  io_uring_prep_readv(p.sqe, p.rec[S_FD], slot->iov, slot->nr, offsetOf(p));
  return rw(p);
}

bool prepWritev(const Prep& p) {
  auto* slot = p.filled<FileSlot>();
  if (!slot || !slot->iov) return false;
  io_uring_prep_writev(p.sqe, p.rec[S_FD], slot->iov, slot->nr, offsetOf(p));
  return rw(p);
}

bool prepStatx(const Prep& p) {
  auto* slot = p.filled<FileSlot>();
  if (!slot || !slot->path || !slot->buf || slot->len < sizeof(struct statx)) return false;
  io_uring_prep_statx(p.sqe, p.rec[S_FD], slot->path, p.rec[S_FLAGS], unsigned(p.rec[S_LEN]),
                      static_cast<struct statx*>(slot->buf));
  return true;
}

bool prepFsync(const Prep& p) {
  io_uring_prep_fsync(p.sqe, p.rec[S_FD], unsigned(p.rec[S_FLAGS]));
  return true;
}

bool prepClose(const Prep& p) {
  io_uring_prep_close(p.sqe, p.rec[S_FD]);
  return true;
}

}  // namespace ringloop
