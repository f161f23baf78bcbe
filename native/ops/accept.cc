// IORING_OP_ACCEPT, multishot (IORING_ACCEPT_MULTISHOT). Minimum kernel: 5.19.
//
// Record: S_FD = the listening socket.
// Owns while in flight: nothing (no sockaddr: JS asks getpeername when it needs it).
// Completes with: one CQE per connection; res >= 0 is a new connected fd (SOCK_NONBLOCK |
// SOCK_CLOEXEC) that JS now owns and must close, also when it arrives after the listener
// was closed or the accept cancelled; or -errno. A CQE without IORING_CQE_F_MORE ends the
// op: JS re-arms, except after -EMFILE / -ENFILE, where it backs off first.
#include "ops.h"

namespace ringloop {

bool prepAcceptMultishot(const Prep& p) {
  io_uring_prep_multishot_accept(p.sqe, p.rec[S_FD], nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
  return true;
}

}  // namespace ringloop
