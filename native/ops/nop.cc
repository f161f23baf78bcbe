// IORING_OP_NOP. Minimum kernel: 5.1.
// Owns nothing while in flight. Completes with res 0 during submission, so its CQE is
// ready when io_uring_submit returns (used for benchmarks and round-trip tests).
#include "ops.h"

namespace ringloop {

bool prepNop(const Prep& p) {
  io_uring_prep_nop(p.sqe);
  return true;
}

}  // namespace ringloop
