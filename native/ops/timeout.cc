// IORING_OP_TIMEOUT and IORING_OP_TIMEOUT_REMOVE (incl. IORING_TIMEOUT_UPDATE). One family:
// both read a timespec from the same record fields (fillTimespec), and an update re-arms a
// TIMEOUT. Minimum kernel: TIMEOUT 5.4 (IORING_TIMEOUT_ABS 5.5), TIMEOUT_REMOVE 5.5,
// IORING_TIMEOUT_UPDATE 5.11.
//
// TIMEOUT
// Record: S_TV_SEC / S_TV_NSEC (relative, or CLOCK_MONOTONIC absolute when S_FLAGS has
// IORING_TIMEOUT_ABS), S_LEN = completion count (0: pure timer), S_FLAGS = timeout flags.
// Owns while in flight: its __kernel_timespec, in the op's per-op storage (kept by the Ring
// until the final CQE; the kernel copies it at submission today, the slot keeps us
// independent of that). A fire-and-forget timeout (NO_OP_INDEX) has no per-op storage: its
// timespec is in per-SQE scratch, which relies on that copy.
// Completes with: -ETIME when it fires, 0 when S_LEN completions happened first,
// -ECANCELED when removed or cancelled.
//
// TIMEOUT_REMOVE
// Record: target = S_TARGET_INDEX / S_TARGET_GEN, S_FLAGS = timeout flags; with
// IORING_TIMEOUT_UPDATE, S_TV_SEC / S_TV_NSEC = the new expiry (ABS honoured), read by the
// kernel at submission, so it lives in per-SQE scratch.
// Owns while in flight: nothing.
// Completes with: 0, -ENOENT (target not found) or -EALREADY (target already firing).
#include "ops.h"

namespace ringloop {

static void fillTimespec(__kernel_timespec* ts, const int32_t* rec) {
  ts->tv_sec = int64_t(rec[S_TV_SEC]);
  ts->tv_nsec = int64_t(rec[S_TV_NSEC]);
}

bool prepTimeout(const Prep& p) {
  // A fire-and-forget timeout has no slot; the kernel copies the timespec at submission.
  auto* ts = p.index == NO_OP_INDEX ? p.scratch<__kernel_timespec>()
                                    : p.slot<__kernel_timespec>();
  if (!ts) return false;
  fillTimespec(ts, p.rec);
  io_uring_prep_timeout(p.sqe, ts, unsigned(p.rec[S_LEN]), unsigned(p.rec[S_FLAGS]));
  return true;
}

bool prepTimeoutRemove(const Prep& p) {
  unsigned flags = unsigned(p.rec[S_FLAGS]);
  if (flags & IORING_TIMEOUT_UPDATE) {
    auto* ts = p.scratch<__kernel_timespec>();
    fillTimespec(ts, p.rec);
    io_uring_prep_timeout_update(p.sqe, ts, p.target(), flags);
  } else {
    io_uring_prep_timeout_remove(p.sqe, p.target(), flags);
  }
  return true;
}

}  // namespace ringloop
