// IORING_OP_SHUTDOWN. Minimum kernel: 5.11.
//
// Record: S_FD = the socket, S_FLAGS = how (SHUT_WR = 1).
// Owns while in flight: nothing.
// Completes with: 0 or -errno (-ENOTCONN when the peer is gone).
#include "ops.h"

namespace ringloop {

bool prepShutdown(const Prep& p) {
  io_uring_prep_shutdown(p.sqe, p.rec[S_FD], p.rec[S_FLAGS]);
  return true;
}

}  // namespace ringloop
