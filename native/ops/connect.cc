// IORING_OP_CONNECT. Minimum kernel: 5.5.
//
// Record: S_FD = a non-blocking stream socket; the address is in the op's per-op storage
// (ConnectSlot, written by ring.prepConnect(slot, ...) before the record is staged).
// Owns while in flight: that sockaddr (per-op storage, kept until the final CQE).
// Completes with 0 or -errno (-ECONNREFUSED, -ECANCELED after a cancel, ...).
#include "ops.h"
#include "stream_slots.h"

namespace ringloop {

bool prepConnect(const Prep& p) {
  auto* slot = p.filled<ConnectSlot>();
  if (!slot || slot->addr.len == 0) return false;
  io_uring_prep_connect(p.sqe, p.rec[S_FD], &slot->addr.addr.sa, slot->addr.len);
  return true;
}

}  // namespace ringloop
