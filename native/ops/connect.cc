// IORING_OP_CONNECT. Minimum kernel: 5.5.
//
// Per-op storage: ConnectSlot (the sockaddr), written by ring.prepConnect(slot, family,
// host | path, port) before JS stages the record.
// Record: S_FD = a non-blocking stream socket.
// Owns while in flight: the sockaddr in its per-op storage, which the Ring keeps until the
// final CQE.
// Completes with: 0 or -errno (-ECONNREFUSED, -ECANCELED after a cancel, ...); -EINVAL when
// prepConnect refused the address.
#include <cerrno>

#include "../ring_args.h"
#include "../ring_object.h"
#include "../sockaddr.h"
#include "ops.h"

namespace ringloop {

namespace {

struct ConnectSlot {
  SockAddrBox addr;  // len 0: refused by prepConnect
};

}  // namespace

// prepConnect(slot, family, host | path, port) -> 0 | -EINVAL
Napi::Value RingObject::prepConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int err;
  auto* cs = freshSlot<ConnectSlot>(info, ring_, &err);  // address len 0 = refused
  if (!cs) return Napi::Number::New(env, err);
  if (info.Length() < 4 || !info[1].IsNumber() || !info[2].IsString() || !info[3].IsNumber()) {
    return Napi::Number::New(env, -EINVAL);
  }
  int r = fillSockAddr(info[1].As<Napi::Number>().Int32Value(),
                       info[2].As<Napi::String>().Utf8Value(),
                       info[3].As<Napi::Number>().Int32Value(), &cs->addr);
  if (r != 0) cs->addr.len = 0;
  return Napi::Number::New(env, r);
}

bool prepConnect(const Prep& p) {
  auto* slot = p.filled<ConnectSlot>();
  if (!slot || slot->addr.len == 0) return false;
  io_uring_prep_connect(p.sqe, p.rec[S_FD], &slot->addr.addr.sa, slot->addr.len);
  return true;
}

}  // namespace ringloop
