// Plain fd syscalls the pipe transports need (contract: src/addon.ts, NativeFds). None
// blocks; each returns >= 0 or -errno.
//   dup(fd)          F_DUPFD_CLOEXEC: a Node stream's fd taken over by a pipe transport
//                    (src/pipes.ts) is used through a duplicate, so the stream's own close
//                    and ours each close their own number.
//   setNonBlocking(fd) O_NONBLOCK and FD_CLOEXEC on an fd a pipe endpoint adopts (the
//                    io_uring backend; libuv does the same for the fallback's pipes).
#include "fds.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "ring_args.h"

namespace ringloop {

namespace {

Napi::Value jsDup(const Napi::CallbackInfo& info) {
  int fd = fcntl(intArg(info, 0), F_DUPFD_CLOEXEC, 0);
  return Napi::Number::New(info.Env(), fd < 0 ? -errno : fd);
}

Napi::Value jsSetNonBlocking(const Napi::CallbackInfo& info) {
  int fd = intArg(info, 0);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    return Napi::Number::New(info.Env(), -errno);
  }
  return Napi::Number::New(info.Env(), 0);
}

}  // namespace

Napi::Object fdFunctions(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("dup", Napi::Function::New<jsDup>(env, "dup"));
  o.Set("setNonBlocking", Napi::Function::New<jsSetNonBlocking>(env, "setNonBlocking"));
  return o;
}

}  // namespace ringloop
