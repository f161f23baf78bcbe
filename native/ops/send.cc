// IORING_OP_SENDMSG with iovecs, and IORING_OP_SEND for a write of one chunk: the kernel
// then skips importing a msghdr and an iovec (measured on the 64 B echo: see
// perf/RESULTS.md); and their zero-copy forms IORING_OP_SEND_ZC / SENDMSG_ZC (large writes
// on TCP sockets: the kernel sends from our pages instead of copying them). One family:
// all four read the same per-op storage, filled by the same marshaller. Minimum kernel:
// SENDMSG 5.3, SEND 5.6, SEND_ZC 6.0, SENDMSG_ZC 6.1.
//
// Zero copy completes twice: first the bytes sent (with IORING_CQE_F_MORE when a
// notification follows), then a CQE with IORING_CQE_F_NOTIF once the kernel has let go of
// the pages. Until that notification the memory stays lent to the kernel: JS holds the
// chunks (and the op's slot) until the final CQE, and releases them only then.
//
// Per-op storage: SendSlot (msghdr + up to SEND_MAX_IOV iovecs), written by
// ring.prepSend(slot, chunks) before JS stages the record.
// Record: S_FD = the socket, S_FLAGS = msg flags (JS always adds MSG_NOSIGNAL: no SIGPIPE,
// EPIPE comes back as -EPIPE).
// Owns while in flight: the msghdr/iovecs (per-op storage, kept by the Ring until the final
// CQE) and the bytes they point to, which the JS op record keeps referenced (the Buffers)
// until the final CQE.
// Completes with: the bytes sent (possibly short: JS re-issues the rest) or -errno; -EINVAL
// when prepSend refused the chunks (or SEND got more than one).
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdint>

#include "../ring_args.h"
#include "../ring_object.h"
#include "ops.h"

namespace ringloop {

namespace {

struct SendSlot {
  msghdr msg;  // msg_iov == iov once prepSend succeeded, else nullptr
  iovec iov[SEND_MAX_IOV];
};

}  // namespace

// prepSend(slot, chunks: Uint8Array[]) -> total bytes | -EINVAL (more than SEND_MAX_IOV
// chunks, or a chunk that is not a Uint8Array)
Napi::Value RingObject::prepSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int err;
  auto* ss = freshSlot<SendSlot>(info, ring_, &err);
  if (!ss) return Napi::Number::New(env, err);
  if (info.Length() < 2 || !info[1].IsArray()) return Napi::Number::New(env, -EINVAL);
  Napi::Array chunks = info[1].As<Napi::Array>();
  uint32_t n = chunks.Length();
  if (n == 0 || n > uint32_t(SEND_MAX_IOV)) return Napi::Number::New(env, -EINVAL);
  double total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    void* data;
    size_t len;
    if (!bytesOf(chunks.Get(i), &data, &len)) {
      ss->msg.msg_iov = nullptr;  // prepSendmsg refuses it: the op completes with -EINVAL
      return Napi::Number::New(env, -EINVAL);
    }
    ss->iov[i].iov_base = data;
    ss->iov[i].iov_len = len;
    total += double(len);
  }
  ss->msg.msg_iov = ss->iov;
  ss->msg.msg_iovlen = n;
  return Napi::Number::New(env, total);
}

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

bool prepSendmsgZc(const Prep& p) {
  auto* slot = p.filled<SendSlot>();
  if (!slot || slot->msg.msg_iov != slot->iov) return false;
  io_uring_prep_sendmsg_zc(p.sqe, p.rec[S_FD], &slot->msg, unsigned(p.rec[S_FLAGS]));
  return true;
}

bool prepSendZc(const Prep& p) {
  auto* slot = p.filled<SendSlot>();
  if (!slot || slot->msg.msg_iov != slot->iov || slot->msg.msg_iovlen != 1) return false;
  io_uring_prep_send_zc(p.sqe, p.rec[S_FD], slot->iov[0].iov_base, slot->iov[0].iov_len,
                        int(p.rec[S_FLAGS]), 0);
  return true;
}

}  // namespace ringloop
