// File ops: IORING_OP_OPENAT, READ, WRITE, READV, WRITEV, STATX, FSYNC, CLOSE.
//
// Kernel minimums: READV / WRITEV / FSYNC 5.1; OPENAT / CLOSE / STATX / READ / WRITE 5.6
// (READ / WRITE at offset -1 = the file position: IORING_FEAT_RW_CUR_POS, 5.6;
// IOSQE_ASYNC 5.6).
//
// Record: S_FD = the file (OPENAT / STATX: the dirfd, AT_FDCWD = -100; STATX of an fd:
// the fd with AT_EMPTY_PATH and path ""), S_FLAGS = open flags / statx flags /
// fsync flags (IORING_FSYNC_DATASYNC), S_LEN = OPENAT mode / STATX mask,
// S_OFF_LO / S_OFF_HI = the 64-bit file offset (READ, WRITE, READV, WRITEV; -1 = the
// file position), S_FILE_FLAGS = FILE_F_* (READ, WRITE, READV, WRITEV). Path, buffers and iovecs are in the op's per-op storage (FileSlot,
// written by ring.prepFile / ring.prepFileVec before the record is staged).
// Owns while in flight: the memory FileSlot points to, which the JS op record keeps
// referenced until the final CQE. CLOSE and FSYNC own nothing but the fd number.
// Completes with: OPENAT the new fd; READ/READV bytes read (0 at EOF, possibly short);
// WRITE/WRITEV bytes written (possibly short); STATX / FSYNC / CLOSE 0; or -errno.
#include <fcntl.h>

#include "file_slots.h"
#include "ops.h"

namespace ringloop {

namespace {

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
