// IORING_OP_RECVMSG, multishot with a provided buffer ring: one SQE receives datagram after
// datagram (IORING_RECV_MULTISHOT + IOSQE_BUFFER_SELECT). Minimum kernel: 6.0.
//
// Record: S_FD = a datagram socket, S_FLAGS = recvmsg flags (JS passes MSG_TRUNC, so a
// datagram larger than the buffer reports its real length in payloadlen), S_BUF_GROUP = the
// provided buffer group, S_LEN = bytes reserved in each buffer for the source address
// (msg_namelen; 0..128).
// Per-op storage: RecvmsgSlot (the msghdr the kernel reads namelen/controllen from), built
// here at prep time; the Ring keeps it until the final CQE.
// Owns while in flight: that msghdr; it picks buffers from the ring of group S_BUF_GROUP
// (ring.setupBufRing, native/buf_ring.cc), whose memory the JS Ring object holds until
// the ring is Closed.
// Completes with: one CQE per datagram: res = bytes written into the buffer, flags carry
// IORING_CQE_F_BUFFER and the buffer id (flags >> IORING_CQE_BUFFER_SHIFT). The buffer
// starts with struct io_uring_recvmsg_out { namelen, controllen, payloadlen, flags }
// (16 bytes), then S_LEN bytes of address, then the payload (payloadlen > the room left
// and MSG_TRUNC in flags: truncated). JS parses it (src/uring/datagram.ts); no native call
// per datagram. -errno (ECONNREFUSED after an ICMP error on a connected socket, ENOBUFS
// when the buffer ring ran dry, ECANCELED) ends the op (no IORING_CQE_F_MORE); JS re-arms.
#include <sys/socket.h>

#include <cstdint>

#include "ops.h"

namespace ringloop {

namespace {

struct RecvmsgSlot {
  msghdr msg;
};

}  // namespace

bool prepRecvmsgMultishot(const Prep& p) {
  int group = p.rec[S_BUF_GROUP];
  int namelen = p.rec[S_LEN];
  if (group < 0 || group > 0xffff || namelen < 0 || namelen > 128) return false;
  auto* slot = p.slot<RecvmsgSlot>();
  if (!slot) return false;
  slot->msg.msg_namelen = socklen_t(namelen);
  slot->msg.msg_controllen = 0;
  io_uring_prep_recvmsg_multishot(p.sqe, p.rec[S_FD], &slot->msg, unsigned(p.rec[S_FLAGS]));
  p.sqe->flags |= IOSQE_BUFFER_SELECT;
  p.sqe->buf_group = uint16_t(group);
  return true;
}

}  // namespace ringloop
