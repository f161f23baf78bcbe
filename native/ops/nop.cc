// IORING_OP_NOP. Minimum kernel: 5.1.
//
// Record: no fields of its own.
// Owns while in flight: nothing.
// Completes with: 0, during submission, so its CQE is ready when io_uring_submit returns
// (used for benchmarks, round-trip tests, and to report a result asynchronously).
#include "ops.h"

namespace ringloop {

bool prepNop(const Prep& p) {
  io_uring_prep_nop(p.sqe);
  return true;
}

}  // namespace ringloop
