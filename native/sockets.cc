#include "sockets.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>

#include "sockaddr.h"

namespace ringloop {

namespace {

// Option codes shared with src/uring/native.ts (SOCKOPT_*).
enum SockOpt { kReuseAddr = 1, kReusePort = 2, kV6Only = 3, kNoDelay = 4, kLinger0 = 5, kKeepAlive = 6 };

int neg() { return -errno; }

int32_t intArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : -1;
}

// socket(family): family code 4 / 6 / 0 (Unix); always SOCK_STREAM | NONBLOCK | CLOEXEC.
Napi::Value jsSocket(const Napi::CallbackInfo& info) {
  int fam = intArg(info, 0);
  int domain = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : fam == 0 ? AF_UNIX : -1;
  if (domain < 0) return Napi::Number::New(info.Env(), -EAFNOSUPPORT);
  int fd = ::socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return Napi::Number::New(info.Env(), fd < 0 ? neg() : fd);
}

Napi::Value jsSetOpt(const Napi::CallbackInfo& info) {
  int fd = intArg(info, 0), opt = intArg(info, 1), on = intArg(info, 2) ? 1 : 0;
  int r;
  switch (opt) {
    case kReuseAddr: r = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on); break;
    case kReusePort: r = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on); break;
    case kV6Only: r = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on); break;
    case kNoDelay: r = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); break;
    case kKeepAlive: r = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on); break;
    case kLinger0: {
      linger l{1, 0};
      r = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      break;
    }
    default: return Napi::Number::New(info.Env(), -EINVAL);
  }
  return Napi::Number::New(info.Env(), r < 0 ? neg() : 0);
}

// bind(fd, family, host | path, port)
Napi::Value jsBind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[2].IsString()) return Napi::Number::New(env, -EINVAL);
  SockAddrBox box;
  int r = fillSockAddr(intArg(info, 1), info[2].As<Napi::String>().Utf8Value(), intArg(info, 3), &box);
  if (r == 0 && ::bind(intArg(info, 0), &box.addr.sa, box.len) < 0) r = neg();
  return Napi::Number::New(env, r);
}

Napi::Value jsListen(const Napi::CallbackInfo& info) {
  int r = ::listen(intArg(info, 0), intArg(info, 1));
  return Napi::Number::New(info.Env(), r < 0 ? neg() : 0);
}

Napi::Value name(const Napi::CallbackInfo& info, bool peer) {
  SockAddrAny a;
  socklen_t len = sizeof a;
  int fd = intArg(info, 0);
  int r = peer ? getpeername(fd, &a.sa, &len) : getsockname(fd, &a.sa, &len);
  if (r < 0) return Napi::Number::New(info.Env(), neg());
  return sockAddrToJs(info.Env(), &a.sa, len);
}

Napi::Value jsSockName(const Napi::CallbackInfo& info) { return name(info, false); }
Napi::Value jsPeerName(const Napi::CallbackInfo& info) { return name(info, true); }

Napi::Value jsClose(const Napi::CallbackInfo& info) {
  int r = ::close(intArg(info, 0));
  return Napi::Number::New(info.Env(), r < 0 ? neg() : 0);
}

// What adopt* checks: [family code (4/6/0, -1 other), SOCK_* type, listening 0/1], or -errno.
// Also sets O_NONBLOCK (and FD_CLOEXEC) on the fd.
Napi::Value jsInspect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = intArg(info, 0);
  int domain = 0, type = 0, acc = 0;
  socklen_t l = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0) return Napi::Number::New(env, neg());
  l = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0) return Napi::Number::New(env, neg());
  l = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0) return Napi::Number::New(env, neg());
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return Napi::Number::New(env, neg());
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, domain == AF_INET ? 4 : domain == AF_INET6 ? 6 : domain == AF_UNIX ? 0 : -1);
  out.Set(1u, type);
  out.Set(2u, acc ? 1 : 0);
  return out;
}

}  // namespace

Napi::Object socketFunctions(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("socket", Napi::Function::New<jsSocket>(env, "socket"));
  o.Set("setOpt", Napi::Function::New<jsSetOpt>(env, "setOpt"));
  o.Set("bind", Napi::Function::New<jsBind>(env, "bind"));
  o.Set("listen", Napi::Function::New<jsListen>(env, "listen"));
  o.Set("sockName", Napi::Function::New<jsSockName>(env, "sockName"));
  o.Set("peerName", Napi::Function::New<jsPeerName>(env, "peerName"));
  o.Set("close", Napi::Function::New<jsClose>(env, "close"));
  o.Set("inspect", Napi::Function::New<jsInspect>(env, "inspect"));
  return o;
}

}  // namespace ringloop
