// IORING_OP_ASYNC_CANCEL. Minimum kernel: 5.5; IORING_ASYNC_CANCEL_ALL / _FD / _ANY 5.19.
//
// Record: target = S_TARGET_INDEX / S_TARGET_GEN (the target's user_data), S_FLAGS = cancel
// flags (IORING_ASYNC_CANCEL_*); with IORING_ASYNC_CANCEL_FD the key is S_FD instead.
// Completes with 0 (one cancelled), the number cancelled (CANCEL_ALL / ANY), -ENOENT (no
// match) or -EALREADY (target already running). The target still posts its own final CQE
// (usually -ECANCELED) and keeps owning its resources until then.
// Owns nothing while in flight.
#include "ops.h"

namespace ringloop {

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
