// io_uring setup with flag fallbacks, shared by Ring and probe().
//
// Wanted flags (each dropped, newest first, only when the kernel says EINVAL):
//   SINGLE_ISSUER (6.0)  one task submits: the Node thread that owns the ring
//   TASKRUN_FLAG  (5.19) IORING_SQ_TASKRUN tells the reaper to enter the kernel
//   COOP_TASKRUN  (5.19) no IPI per completion; task work runs at our next syscall
//   SUBMIT_ALL    (5.18) one bad SQE does not stop the rest of the batch
//   CQSIZE        (5.5)  CQ = 2 * entries (also the kernel default without it)
// Never DEFER_TASKRUN (the ring fd then never wakes epoll, libuv sleeps through
// completions) and never SQPOLL (CPU burn, CVE-2024-22017).
#include "ring.h"

namespace ringloop {

static const unsigned kDropOrder[] = {
    IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_TASKRUN_FLAG, IORING_SETUP_COOP_TASKRUN,
    IORING_SETUP_SUBMIT_ALL, IORING_SETUP_CQSIZE,
};

SetupResult setupRing(io_uring* ring, unsigned entries) {
  unsigned flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                   IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER;
  SetupResult out;
  for (size_t drop = 0;; ++drop) {
    io_uring_params params{};
    params.flags = flags;
    params.cq_entries = 2 * entries;
    int r = io_uring_queue_init_params(entries, ring, &params);
    if (r == 0) {
      out.flags = ring->flags;
      out.features = params.features;
      return out;
    }
    if (r != -EINVAL || drop == sizeof(kDropOrder) / sizeof(kDropOrder[0])) {
      out.err = r;
      return out;
    }
    flags &= ~kDropOrder[drop];
  }
}

Napi::Array setupFlagNames(Napi::Env env, unsigned flags) {
  static const struct {
    unsigned flag;
    const char* name;
  } kNames[] = {
      {IORING_SETUP_IOPOLL, "IOPOLL"},
      {IORING_SETUP_SQPOLL, "SQPOLL"},
      {IORING_SETUP_SQ_AFF, "SQ_AFF"},
      {IORING_SETUP_CQSIZE, "CQSIZE"},
      {IORING_SETUP_CLAMP, "CLAMP"},
      {IORING_SETUP_ATTACH_WQ, "ATTACH_WQ"},
      {IORING_SETUP_R_DISABLED, "R_DISABLED"},
      {IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL"},
      {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"},
      {IORING_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG"},
      {IORING_SETUP_SQE128, "SQE128"},
      {IORING_SETUP_CQE32, "CQE32"},
      {IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"},
      {IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"},
  };
  Napi::Array names = Napi::Array::New(env);
  uint32_t n = 0;
  for (const auto& entry : kNames) {
    if (flags & entry.flag) names.Set(n++, entry.name);
  }
  return names;
}

}  // namespace ringloop
