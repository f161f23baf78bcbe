#include "sockets.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>

#include "ring_args.h"
#include "sockaddr.h"

namespace ringloop {

namespace {

// Option codes shared with src/addon.ts (SOCKOPT_*).
enum SockOpt {
  kReuseAddr = 1, kReusePort = 2, kV6Only = 3, kNoDelay = 4, kLinger0 = 5, kKeepAlive = 6,
  kRcvBuf = 7, kSndBuf = 8, kBroadcast = 9, kLinger = 10, kError = 11, kType = 12, kKeepIdle = 13,
};

// (level, optname) of the int-valued options; false for kLinger0/kLinger/unknown codes.
bool intOption(int opt, int* level, int* name) {
  switch (opt) {
    case kReuseAddr: *level = SOL_SOCKET; *name = SO_REUSEADDR; return true;
    case kReusePort: *level = SOL_SOCKET; *name = SO_REUSEPORT; return true;
    case kV6Only: *level = IPPROTO_IPV6; *name = IPV6_V6ONLY; return true;
    case kNoDelay: *level = IPPROTO_TCP; *name = TCP_NODELAY; return true;
    case kKeepAlive: *level = SOL_SOCKET; *name = SO_KEEPALIVE; return true;
    case kRcvBuf: *level = SOL_SOCKET; *name = SO_RCVBUF; return true;
    case kSndBuf: *level = SOL_SOCKET; *name = SO_SNDBUF; return true;
    case kBroadcast: *level = SOL_SOCKET; *name = SO_BROADCAST; return true;
    case kError: *level = SOL_SOCKET; *name = SO_ERROR; return true;
    case kType: *level = SOL_SOCKET; *name = SO_TYPE; return true;
    case kKeepIdle: *level = IPPROTO_TCP; *name = TCP_KEEPIDLE; return true;
    default: return false;
  }
}

int neg() { return -errno; }

// socket(family, type?, proto?): family code 4 / 6 / 0 (Unix); type SOCK_STREAM (1, the
// default) or SOCK_DGRAM (2); always NONBLOCK | CLOEXEC.
Napi::Value jsSocket(const Napi::CallbackInfo& info) {
  int fam = intArg(info, 0);
  int domain = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : fam == 0 ? AF_UNIX : -1;
  if (domain < 0) return Napi::Number::New(info.Env(), -EAFNOSUPPORT);
  int type = info.Length() > 1 ? intArg(info, 1) : SOCK_STREAM;
  if (type != SOCK_STREAM && type != SOCK_DGRAM) return Napi::Number::New(info.Env(), -ESOCKTNOSUPPORT);
  int proto = info.Length() > 2 ? intArg(info, 2) : 0;
  int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  return Napi::Number::New(info.Env(), fd < 0 ? neg() : fd);
}

// setOpt(fd, opt, value): int options take `value` as is (flags: 0/1); kLinger0 sets
// linger {1, 0}; kLinger: value < 0 turns lingering off, >= 0 is l_linger in seconds.
Napi::Value jsSetOpt(const Napi::CallbackInfo& info) {
  int fd = intArg(info, 0), opt = intArg(info, 1), value = intArg(info, 2);
  int level, name, r;
  if (opt == kLinger0 || opt == kLinger) {
    linger l{opt == kLinger0 || value >= 0 ? 1 : 0, opt == kLinger0 || value < 0 ? 0 : value};
    r = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  } else if (intOption(opt, &level, &name)) {
    r = setsockopt(fd, level, name, &value, sizeof value);
  } else {
    return Napi::Number::New(info.Env(), -EINVAL);
  }
  return Napi::Number::New(info.Env(), r < 0 ? neg() : 0);
}

// getOpt(fd, opt, out: Int32Array(2)) -> 0 | -errno. Int options: out[0] = value.
// kLinger: out[0] = l_onoff, out[1] = l_linger.
Napi::Value jsGetOpt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = intArg(info, 0), opt = intArg(info, 1), level, name;
  if (info.Length() < 3 || !info[2].IsTypedArray()) return Napi::Number::New(env, -EINVAL);
  Napi::TypedArray ta = info[2].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_int32_array || ta.ElementLength() < 2) return Napi::Number::New(env, -EINVAL);
  int32_t* out = ta.As<Napi::Int32Array>().Data();
  if (opt == kLinger) {
    linger l{};
    socklen_t len = sizeof l;
    if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) < 0) return Napi::Number::New(env, neg());
    out[0] = l.l_onoff;
    out[1] = l.l_linger;
    return Napi::Number::New(env, 0);
  }
  if (!intOption(opt, &level, &name)) return Napi::Number::New(env, -EINVAL);
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, name, &v, &len) < 0) return Napi::Number::New(env, neg());
  out[0] = v;
  return Napi::Number::New(env, 0);
}

// The address in arguments (family, host | path, port) starting at `i`: 0 or -EINVAL.
int addrArgs(const Napi::CallbackInfo& info, size_t i, SockAddrBox* box) {
  if (info.Length() <= i + 1 || !info[i + 1].IsString()) return -EINVAL;
  return fillSockAddr(intArg(info, i), info[i + 1].As<Napi::String>().Utf8Value(), intArg(info, i + 2), box);
}

// bind(fd, family, host | path, port)
Napi::Value jsBind(const Napi::CallbackInfo& info) {
  SockAddrBox box;
  int r = addrArgs(info, 1, &box);
  if (r == 0 && ::bind(intArg(info, 0), &box.addr.sa, box.len) < 0) r = neg();
  return Napi::Number::New(info.Env(), r);
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

// ---- non-blocking I/O (the sock_* methods): -EAGAIN means "wait for readiness, retry".

bool bytesArg(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len) {
  void* p;
  if (info.Length() <= i || !bytesOf(info[i], &p, len)) return false;
  *data = static_cast<uint8_t*>(p);
  return true;
}

// accept(fd) -> [fd, address] | -errno; the new fd is NONBLOCK | CLOEXEC.
Napi::Value jsAccept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SockAddrAny a;
  socklen_t len = sizeof a;
  int fd = accept4(intArg(info, 0), &a.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return Napi::Number::New(env, neg());
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, fd);
  out.Set(1u, sockAddrToJs(env, &a.sa, len));
  return out;
}

// connect(fd, family, host | path, port) -> 0 | -errno (-EINPROGRESS: wait for POLLOUT,
// then read SO_ERROR).
Napi::Value jsConnect(const Napi::CallbackInfo& info) {
  SockAddrBox box;
  int r = addrArgs(info, 1, &box);
  if (r == 0 && ::connect(intArg(info, 0), &box.addr.sa, box.len) < 0) r = neg();
  return Napi::Number::New(info.Env(), r);
}

// recv(fd, buf: Uint8Array) -> bytes | -errno
Napi::Value jsRecv(const Napi::CallbackInfo& info) {
  uint8_t* data;
  size_t len;
  if (!bytesArg(info, 1, &data, &len)) return Napi::Number::New(info.Env(), -EINVAL);
  ssize_t n = ::recv(intArg(info, 0), data, len, 0);
  return Napi::Number::New(info.Env(), n < 0 ? neg() : double(n));
}

// recvfrom(fd, buf: Uint8Array) -> [bytes, address] | -errno
Napi::Value jsRecvFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data;
  size_t len;
  if (!bytesArg(info, 1, &data, &len)) return Napi::Number::New(env, -EINVAL);
  SockAddrAny a;
  socklen_t alen = sizeof a;
  a.sa.sa_family = AF_UNSPEC;
  ssize_t n = ::recvfrom(intArg(info, 0), data, len, 0, &a.sa, &alen);
  if (n < 0) return Napi::Number::New(env, neg());
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, double(n));
  out.Set(1u, alen > 0 ? sockAddrToJs(env, &a.sa, alen) : env.Null());
  return out;
}

// send(fd, buf: Uint8Array) -> bytes | -errno (MSG_NOSIGNAL: EPIPE instead of SIGPIPE)
Napi::Value jsSend(const Napi::CallbackInfo& info) {
  uint8_t* data;
  size_t len;
  if (!bytesArg(info, 1, &data, &len)) return Napi::Number::New(info.Env(), -EINVAL);
  ssize_t n = ::send(intArg(info, 0), data, len, MSG_NOSIGNAL);
  return Napi::Number::New(info.Env(), n < 0 ? neg() : double(n));
}

// sendto(fd, buf: Uint8Array, family, host | path, port) -> bytes | -errno
Napi::Value jsSendTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data;
  size_t len;
  if (!bytesArg(info, 1, &data, &len)) return Napi::Number::New(env, -EINVAL);
  SockAddrBox box;
  int r = addrArgs(info, 2, &box);
  if (r < 0) return Napi::Number::New(env, r);
  ssize_t n = ::sendto(intArg(info, 0), data, len, MSG_NOSIGNAL, &box.addr.sa, box.len);
  return Napi::Number::New(env, n < 0 ? neg() : double(n));
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
  o.Set("getOpt", Napi::Function::New<jsGetOpt>(env, "getOpt"));
  o.Set("accept", Napi::Function::New<jsAccept>(env, "accept"));
  o.Set("connect", Napi::Function::New<jsConnect>(env, "connect"));
  o.Set("recv", Napi::Function::New<jsRecv>(env, "recv"));
  o.Set("recvFrom", Napi::Function::New<jsRecvFrom>(env, "recvFrom"));
  o.Set("send", Napi::Function::New<jsSend>(env, "send"));
  o.Set("sendTo", Napi::Function::New<jsSendTo>(env, "sendTo"));
  return o;
}

}  // namespace ringloop
