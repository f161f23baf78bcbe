// IORING_OP_READ_MULTISHOT with a provided buffer ring. Minimum kernel: 6.7 (an optional
// opcode: where it is missing, src/uring/pipe.ts reads with single-shot IORING_OP_READ,
// ops/file.cc). liburing 2.3 has no prep helper: the SQE fields are filled by hand, as
// liburing 2.5's io_uring_prep_read_multishot does (len 0: each read fills one buffer).
//
// Record: S_FD = the pipe (any pollable file: a FIFO, a socket, a terminal), S_BUF_GROUP =
// the provided buffer group. Offset -1: the file position where the file has one.
// Owns while in flight: nothing of its own. It picks buffers from the ring of group
// S_BUF_GROUP (native/buf_ring.cc), whose memory the JS Ring object holds until the ring
// is Closed.
// Completes with: one CQE per read; res > 0 carries IORING_CQE_F_BUFFER and the buffer id in
// flags >> IORING_CQE_BUFFER_SHIFT; res 0 = EOF (every writer closed), or -errno: -ENOBUFS
// (the buffer ring ran dry), -EBADFD (the file cannot be polled: JS reads single-shot
// instead). A CQE without IORING_CQE_F_MORE ends the op.
#include "ops.h"

namespace ringloop {

bool prepReadMultishot(const Prep& p) {
  io_uring_prep_rw(OP_READ_MULTISHOT, p.sqe, p.rec[S_FD], nullptr, 0, uint64_t(-1));
  p.sqe->flags |= IOSQE_BUFFER_SELECT;
  p.sqe->buf_group = uint16_t(p.rec[S_BUF_GROUP]);
  return true;
}

}  // namespace ringloop
