// IORING_OP_ASYNC_CANCEL, and its synchronous form IORING_REGISTER_SYNC_CANCEL
// (ring.cancelSync). Minimum kernel: 5.5; IORING_ASYNC_CANCEL_ALL / _FD / _ANY 5.19;
// IORING_REGISTER_SYNC_CANCEL 6.0.
//
// Record: target = S_TARGET_INDEX / S_TARGET_GEN (the target's user_data), S_FLAGS = cancel
// flags (IORING_ASYNC_CANCEL_*); with IORING_ASYNC_CANCEL_FD the key is S_FD instead.
// Owns while in flight: nothing.
// Completes with: 0 (one cancelled), the number cancelled (CANCEL_ALL / ANY), -ENOENT (no
// match) or -EALREADY (target already running). The target still posts its own final CQE
// (usually -ECANCELED) and keeps owning its resources until then.
#include <cerrno>
#include <cstdint>

#include "../ring_args.h"
#include "../ring_object.h"
#include "ops.h"

namespace ringloop {

// cancelSync(slot, gen) -> 0 | -errno. Flushes the stage (the target may still be staged),
// then cancels the op with that user_data and returns once the kernel has finished it
// (bounded: 1 s). 0 or -ENOENT (already finished): the op owns nothing any more, though its
// final CQE is still delivered later.
Napi::Value RingObject::cancelSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot;
  if (!slotArg(info, ring_, &slot) || info.Length() < 2 || !info[1].IsNumber()) {
    return Napi::Number::New(env, -EINVAL);
  }
  int r = ring_->flush();
  if (r < 0) return Napi::Number::New(env, r);
  io_uring_sync_cancel_reg reg{};
  reg.addr = makeUserData(slot, uint32_t(info[1].As<Napi::Number>().Int32Value()));
  reg.timeout.tv_sec = 1;
  reg.timeout.tv_nsec = 0;
  return Napi::Number::New(env, io_uring_register_sync_cancel(ring_->raw(), &reg));
}

bool prepAsyncCancel(const Prep& p) {
  int flags = p.rec[S_FLAGS];
  if (flags & IORING_ASYNC_CANCEL_FD) {
    io_uring_prep_cancel_fd(p.sqe, p.rec[S_FD], unsigned(flags));
  } else {
    io_uring_prep_cancel64(p.sqe, p.target(), flags);
  }
  return true;
}

}  // namespace ringloop
