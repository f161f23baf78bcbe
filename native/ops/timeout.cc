// IORING_OP_TIMEOUT and IORING_OP_TIMEOUT_REMOVE (incl. IORING_TIMEOUT_UPDATE).
// Minimum kernel: 5.4 for TIMEOUT (IORING_TIMEOUT_ABS 5.5), 5.5 for TIMEOUT_REMOVE,
// 5.11 for IORING_TIMEOUT_UPDATE.
//
// TIMEOUT record: S_TV_SEC / S_TV_NSEC (relative, or CLOCK_MONOTONIC absolute when S_FLAGS
// has IORING_TIMEOUT_ABS), S_LEN = completion count (0: pure timer), S_FLAGS = timeout
// flags. Completes with -ETIME when it fires, 0 when S_LEN completions happened first,
// -ECANCELED when removed or cancelled.
// Owns while in flight: its __kernel_timespec, kept in the op's per-op slot until its
// final CQE (the kernel copies it at submission today; the slot keeps us independent
// of that).
//
// TIMEOUT_REMOVE record: target = S_TARGET_INDEX / S_TARGET_GEN, S_FLAGS = timeout flags.
// With IORING_TIMEOUT_UPDATE it re-arms the target with S_TV_SEC / S_TV_NSEC (ABS honoured);
// that timespec is read by the kernel at submission, so it lives in per-SQE scratch.
// Owns nothing while in flight. Completes with 0, -ENOENT (target not found) or
// -EALREADY (target already firing).
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
