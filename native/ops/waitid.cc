// IORING_OP_WAITID. Minimum kernel: 6.7 (an optional opcode: where it is missing,
// src/uring/child.ts waits with POLL_ADD on the pidfd, ops/poll.cc, then waitid(WNOHANG),
// native/spawn.cc). liburing 2.3 has no prep helper: the SQE fields are filled by hand, as
// liburing 2.5's io_uring_prep_waitid does (fd = the id, len = the id type, file_index =
// the options, addr2 = the siginfo_t to fill).
//
// Record: S_FD = the id (a pidfd), S_LEN = the id type (P_PIDFD), S_FLAGS = the options
// (WEXITED).
// Per-op storage: WaitidSlot, the siginfo_t the kernel fills (value-initialized by the prep,
// so a completion without an exit reads si_pid 0). ring.waitidResult(slot) reads it: JS
// calls it in the op's completion handler, before anything can take the slot again.
// Owns while in flight: that storage (kept by the Ring until the final CQE) and the pidfd,
// which the JS child record keeps open until then.
// Completes with: 0 when the child exited and was reaped (its status in the storage), or
// -errno (-ECANCELED after a cancel, -ECHILD when someone else reaped it).
#include <sys/wait.h>

#include <cerrno>

#include "../ring_args.h"
#include "../ring_object.h"
#include "../spawn.h"
#include "ops.h"

namespace ringloop {

namespace {

struct WaitidSlot {
  siginfo_t info;
};

}  // namespace

bool prepWaitid(const Prep& p) {
  auto* slot = p.slot<WaitidSlot>();
  if (!slot) return false;
  io_uring_prep_rw(OP_WAITID, p.sqe, p.rec[S_FD], nullptr, unsigned(p.rec[S_LEN]), 0);
  p.sqe->file_index = uint32_t(p.rec[S_FLAGS]);
  p.sqe->addr2 = reinterpret_cast<uint64_t>(&slot->info);
  return true;
}

// waitidResult(slot) -> the returncode (exit status, or -signal) | null (no exit recorded)
Napi::Value RingObject::waitidResult(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot;
  if (!slotArg(info, ring_, &slot)) return env.Null();
  auto* ws = static_cast<WaitidSlot*>(ring_->opSlot(slot));
  if (!ws || ws->info.si_pid == 0) return env.Null();
  return Napi::Number::New(env, returncodeOf(ws->info));
}

}  // namespace ringloop
