// Module registration only. The JS-visible API is the contract in src/addon.ts (loader,
// sockets, fds, children, probe, FdPoll) and src/uring/native.ts (the Ring class and its
// shared memory).
#include <napi.h>

#include "fd_poll.h"
#include "fds.h"
#include "probe.h"
#include "ring_object.h"
#include "sockets.h"
#include "spawn.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("Ring", ringloop::RingObject::define(env));
  exports.Set("FdPoll", ringloop::FdPollObject::define(env));
  exports.Set("probe", Napi::Function::New<ringloop::probe>(env, "probe"));
  exports.Set("sockets", ringloop::socketFunctions(env));
  exports.Set("fds", ringloop::fdFunctions(env));
  exports.Set("children", ringloop::childFunctions(env));
  exports.Set("buildInfo", ringloop::buildInfo(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(ringloop, init)
