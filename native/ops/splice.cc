// IORING_OP_SPLICE. Minimum kernel: 5.7.
// Used by loop.sendfile's splice strategy (state machine: src/uring/sendfile-splice.ts):
// file -> pipe, then pipe -> socket.
//
// Record: S_FD = fd_out, S_SPLICE_FD_IN = fd_in, S_OFF_LO / S_OFF_HI = the 64-bit offset in
// fd_in (both -1 = none: fd_in is a pipe), S_LEN = bytes, S_FLAGS = SPLICE_F_* flags.
// off_out is always -1 (the output is a pipe or a socket).
// Owns while in flight: nothing but its two fds, which the JS state machine keeps open
// until the final CQE.
// Completes with: the bytes moved (0 = EOF of fd_in, may be short) or -errno (-EAGAIN: the
// non-blocking socket is full; JS then waits for POLLOUT); -EINVAL for an offset below -1.
#include "ops.h"

namespace ringloop {

bool prepSplice(const Prep& p) {
  int64_t off = int64_t((uint64_t(uint32_t(p.rec[S_OFF_HI])) << 32) | uint32_t(p.rec[S_OFF_LO]));
  if (off < -1) return false;
  io_uring_prep_splice(p.sqe, p.rec[S_SPLICE_FD_IN], off, p.rec[S_FD], -1,
                       unsigned(p.rec[S_LEN]), unsigned(p.rec[S_FLAGS]));
  return true;
}

}  // namespace ringloop
