// IORING_OP_RECV, two forms.
//
// Multishot with a provided buffer ring (S_BUF_GROUP >= 0): IORING_RECV_MULTISHOT +
// IOSQE_BUFFER_SELECT. Minimum kernel: 6.0. Each CQE with res > 0 carries
// IORING_CQE_F_BUFFER and the buffer id in flags >> IORING_CQE_BUFFER_SHIFT; JS copies the
// bytes out and puts the buffer back into the ring. res 0 = EOF. A CQE without
// IORING_CQE_F_MORE ends the op; JS re-arms (e.g. after -ENOBUFS: the ring ran dry).
// Owns nothing of its own while in flight (the buffer ring belongs to the Ring).
//
// Single-shot into a caller buffer (S_BUF_GROUP == -1; BufferedProtocol): pointer and
// length are in the op's per-op storage (RecvSlot, written by ring.prepRecv(slot, buf)).
// Minimum kernel: 5.6. Owns while in flight: that memory, which the JS op record keeps
// referenced until the CQE. Completes with the bytes read, 0 at EOF, or -errno.
#include "ops.h"
#include "stream_slots.h"

namespace ringloop {

bool prepRecv(const Prep& p) {
  int group = p.rec[S_BUF_GROUP];
  if (group >= 0) {
    io_uring_prep_recv_multishot(p.sqe, p.rec[S_FD], nullptr, 0, p.rec[S_FLAGS]);
    p.sqe->flags |= IOSQE_BUFFER_SELECT;
    p.sqe->buf_group = uint16_t(group);
    return true;
  }
  auto* slot = p.filled<RecvSlot>();
  if (!slot || !slot->buf) return false;
  io_uring_prep_recv(p.sqe, p.rec[S_FD], slot->buf, slot->len, p.rec[S_FLAGS]);
  return true;
}

}  // namespace ringloop
