// IORING_OP_POLL_ADD, single shot. Minimum kernel: 5.1.
//
// Record: S_FD = the fd, S_FLAGS = poll mask (POLLOUT = 4, ...).
// Owns while in flight: nothing.
// Completes with: the revents mask (> 0), or -errno (-ECANCELED after a cancel).
//
// Used when a SENDMSG on a non-blocking socket comes back with -EAGAIN (seen on AF_UNIX
// stream sockets whose peer queue is full): wait for POLLOUT, then send again. Also
// src/uring/fd-watch.ts (sock_* waits and addReader/addWriter, re-armed after each event:
// asyncio's readiness is level-triggered, which multishot poll is not).
#include "ops.h"

namespace ringloop {

bool prepPollAdd(const Prep& p) {
  io_uring_prep_poll_add(p.sqe, p.rec[S_FD], unsigned(p.rec[S_FLAGS]));
  return true;
}

}  // namespace ringloop
