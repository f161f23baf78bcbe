// IORING_OP_RECV, two forms. Record: S_FD = the socket, S_FLAGS = msg flags,
// S_BUF_GROUP = the provided buffer group, or -1 for the caller's buffer.
//
// Multishot with a provided buffer ring (S_BUF_GROUP >= 0): IORING_RECV_MULTISHOT +
// IOSQE_BUFFER_SELECT. Minimum kernel: 6.0.
// Owns while in flight: nothing of its own. It picks buffers from the ring of group
// S_BUF_GROUP (ring.setupBufRing, native/buf_ring.cc), whose memory the JS Ring object
// holds until the ring is Closed.
// Completes with: one CQE per receive; res > 0 carries IORING_CQE_F_BUFFER and the buffer
// id in flags >> IORING_CQE_BUFFER_SHIFT (JS copies the bytes out and puts the buffer back
// into the ring), res 0 = EOF, or -errno. A CQE without IORING_CQE_F_MORE ends the op; JS
// re-arms (e.g. after -ENOBUFS: the ring ran dry).
//
// Single-shot into a caller buffer (S_BUF_GROUP == -1; BufferedProtocol).
// Minimum kernel: 5.6.
// Per-op storage: RecvSlot (pointer and length), written by ring.prepRecv(slot, buf) before
// JS stages the record.
// Owns while in flight: that memory, which the JS op record keeps referenced until the CQE.
// Completes with: the bytes read, 0 at EOF, or -errno; -EINVAL when prepRecv refused the
// buffer.
#include <cerrno>
#include <cstdint>

#include "../ring_args.h"
#include "../ring_object.h"
#include "ops.h"

namespace ringloop {

namespace {

struct RecvSlot {
  void* buf;  // nullptr: refused by prepRecv
  uint32_t len;
};

}  // namespace

// prepRecv(slot, buf: Uint8Array) -> 0 | -EINVAL
Napi::Value RingObject::prepRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data;
  size_t len;
  int err;
  auto* rs = freshSlot<RecvSlot>(info, ring_, &err);
  if (!rs) return Napi::Number::New(env, err);
  if (info.Length() < 2 || !bytesOf(info[1], &data, &len) || len == 0 || len > 0x7fffffff) {
    return Napi::Number::New(env, -EINVAL);
  }
  rs->buf = data;
  rs->len = uint32_t(len);
  return Napi::Number::New(env, 0);
}

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
