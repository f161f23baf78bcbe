// The synchronous syscalls of loop.sendfile's native path (contract: src/uring/native.ts,
// NativeRing.openPipe / sendfileNow / pageCached; strategy choice: src/uring/sendfile.ts).
// Its ring op, SPLICE, is ops/splice.cc.
//
// openPipe(size): the pipes splice goes through. pipe2(O_NONBLOCK | O_CLOEXEC), then
// F_SETPIPE_SZ to `size`; an unprivileged process may not exceed /proc/sys/fs/pipe-max-size
// (EPERM), so it retries with that limit, and keeps the default size when both fail.
//
// sendfileNow(outFd, inFd, offset, count, result): the sendfile(2) strategy, called once per
// writability event (never per chunk): loops sendfile() on the non-blocking socket until
// `count` bytes are sent, EOF, EAGAIN or an error. result[0] = bytes sent by this call.
// Returns 0 (count reached or EOF: JS compares), -EAGAIN (the socket is full: JS waits for
// POLLOUT) or -errno. Offsets are 64-bit (off_t; JS numbers are exact to 2^53).
// pageCached(fd, offset): whether the page at `offset` is in the page cache, asked with a
// 1-byte preadv2(RWF_NOWAIT) (kernel 4.14): 1 cached (or at/after EOF), 0 not (EAGAIN: a read
// would block on the disk), -errno otherwise. The strategy choice uses it: sendfile(2) reads
// on the loop's thread, so uncached data goes through splice (io_uring's workers) instead.
// sendfile(2) has no MSG_NOSIGNAL: a reset peer would raise SIGPIPE, which Node ignores
// process-wide (SIG_IGN at startup), so it comes back here as -EPIPE.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "ring_object.h"

namespace ringloop {

namespace {

long pipeMaxSize() {
  FILE* f = fopen("/proc/sys/fs/pipe-max-size", "re");
  if (!f) return -1;
  long v = -1;
  if (fscanf(f, "%ld", &v) != 1) v = -1;
  fclose(f);
  return v;
}

}  // namespace

// openPipe(size) -> Int32Array [readFd, writeFd, capacity] | -errno
Napi::Value RingObject::openPipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return Napi::Number::New(env, -EINVAL);
  int size = info[0].As<Napi::Number>().Int32Value();
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return Napi::Number::New(env, -errno);
  if (size > 0 && fcntl(fds[1], F_SETPIPE_SZ, size) < 0) {
    long max = pipeMaxSize();
    if (max > 0 && max < size) fcntl(fds[1], F_SETPIPE_SZ, int(max));
  }
  int cap = fcntl(fds[1], F_GETPIPE_SZ);
  if (cap < 0) {
    int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Napi::Number::New(env, -e);
  }
  Napi::Int32Array out = Napi::Int32Array::New(env, 3);
  out[0] = fds[0];
  out[1] = fds[1];
  out[2] = cap;
  return out;
}

// sendfileNow(outFd, inFd, offset, count, result: Float64Array(>= 1)) -> 0 | -errno
Napi::Value RingObject::sendfileNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsTypedArray()) {
    return Napi::Number::New(env, -EINVAL);
  }
  Napi::TypedArray ta = info[4].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_float64_array || ta.ElementLength() < 1) {
    return Napi::Number::New(env, -EINVAL);
  }
  Napi::Float64Array result = info[4].As<Napi::Float64Array>();
  int out = info[0].As<Napi::Number>().Int32Value();
  int in = info[1].As<Napi::Number>().Int32Value();
  double offD = info[2].As<Napi::Number>().DoubleValue();
  double countD = info[3].As<Napi::Number>().DoubleValue();
  if (!(offD >= 0 && offD <= 9007199254740992.0) || !(countD >= 0 && countD <= 9007199254740992.0)) {
    return Napi::Number::New(env, -EINVAL);
  }
  off_t off = off_t(offD);
  uint64_t left = uint64_t(countD);
  uint64_t sent = 0;
  int status = 0;
  while (left > 0) {
    // One call moves at most 0x7ffff000 bytes (the kernel's MAX_RW_COUNT).
    size_t want = left > 0x7ffff000u ? 0x7ffff000u : size_t(left);
    ssize_t n = ::sendfile(out, in, &off, want);
    if (n > 0) {
      sent += uint64_t(n);
      left -= uint64_t(n);
      continue;
    }
    if (n == 0) break;  // EOF
    if (errno == EINTR) continue;
    status = -errno;
    break;
  }
  result[0] = double(sent);
  return Napi::Number::New(env, status);
}

// pageCached(fd, offset) -> 1 | 0 | -errno
Napi::Value RingObject::pageCached(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) return Napi::Number::New(env, -EINVAL);
  double offD = info[1].As<Napi::Number>().DoubleValue();
  if (!(offD >= 0 && offD <= 9007199254740992.0)) return Napi::Number::New(env, -EINVAL);
  char byte;
  iovec iov{&byte, 1};
  ssize_t n = ::preadv2(info[0].As<Napi::Number>().Int32Value(), &iov, 1, off_t(offD), RWF_NOWAIT);
  if (n >= 0) return Napi::Number::New(env, 1);
  return Napi::Number::New(env, errno == EAGAIN ? 0 : -errno);
}

}  // namespace ringloop
