// IORING_OP_SENDMSG with iovecs (minimum kernel 5.3), and IORING_OP_SEND for a write of
// one chunk (5.6): the kernel then skips importing a msghdr and an iovec (measured on the
// 64 B echo: see perf/RESULTS.md).
//
// Record: S_FD = the socket, S_FLAGS = msg flags (JS always adds MSG_NOSIGNAL: no SIGPIPE,
// EPIPE comes back as -EPIPE). msghdr + up to SEND_MAX_IOV iovecs are in the op's per-op
// storage (SendSlot, written by ring.prepSend(slot, chunks)).
// Owns while in flight: the msghdr/iovecs (per-op storage) and the bytes they point to,
// which the JS op record keeps referenced (the Buffers) until the final CQE.
// Completes with the bytes sent (possibly short: JS re-issues the rest) or -errno.
#include "ops.h"
#include "stream_slots.h"

namespace ringloop {

bool prepSendmsg(const Prep& p) {
  auto* slot = p.filled<SendSlot>();
  if (!slot || slot->msg.msg_iov != slot->iov) return false;
  io_uring_prep_sendmsg(p.sqe, p.rec[S_FD], &slot->msg, unsigned(p.rec[S_FLAGS]));
  return true;
}

// Same storage as SENDMSG (ring.prepSend fills it); only iov[0] is sent.
bool prepSend(const Prep& p) {
  auto* slot = p.filled<SendSlot>();
  if (!slot || slot->msg.msg_iov != slot->iov || slot->msg.msg_iovlen != 1) return false;
  io_uring_prep_send(p.sqe, p.rec[S_FD], slot->iov[0].iov_base, slot->iov[0].iov_len, int(p.rec[S_FLAGS]));
  return true;
}

}  // namespace ringloop
