// probe(): can this process set up a ring, with which flags, and which opcodes does the
// kernel support. Never throws for a setup failure (setupResult carries -errno).
// buildInfo: facts fixed at build time.
#include "probe.h"

#include <sys/utsname.h>

#include <string>

#include "ring.h"

#ifndef RINGLOOP_LIBURING_VERSION
#define RINGLOOP_LIBURING_VERSION "unknown"
#endif

namespace ringloop {

namespace {

// Opcode names by number (kernel uapi enum io_uring_op). liburing 2.3 knows 0..48
// (IORING_OP_LAST = 49); the rest are from later kernels' uapi, by number.
const char* const kOpNames[] = {
    "NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD",
    "POLL_REMOVE", "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE",
    "ACCEPT", "ASYNC_CANCEL", "LINK_TIMEOUT", "CONNECT", "FALLOCATE", "OPENAT", "CLOSE",
    "FILES_UPDATE", "STATX", "READ", "WRITE", "FADVISE", "MADVISE", "SEND", "RECV",
    "OPENAT2", "EPOLL_CTL", "SPLICE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE",
    "SHUTDOWN", "RENAMEAT", "UNLINKAT", "MKDIRAT", "SYMLINKAT", "LINKAT", "MSG_RING",
    "FSETXATTR", "SETXATTR", "FGETXATTR", "GETXATTR", "SOCKET", "URING_CMD", "SEND_ZC",
    "SENDMSG_ZC",
    // beyond liburing 2.3
    "READ_MULTISHOT", "WAITID", "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_WAITV",
    "FIXED_FD_INSTALL", "FTRUNCATE", "BIND", "LISTEN", "RECV_ZC", "EPOLL_WAIT",
    "READV_FIXED", "WRITEV_FIXED", "PIPE", "NOP128", "URING_CMD128",
};
constexpr unsigned kOpNameCount = sizeof(kOpNames) / sizeof(kOpNames[0]);
static_assert(IORING_OP_LAST <= kOpNameCount, "name every opcode liburing knows");

Napi::Object opcodeTable(Napi::Env env, io_uring* ring) {
  Napi::Object opcodes = Napi::Object::New(env);
  io_uring_probe* probe = io_uring_get_probe_ring(ring);
  if (!probe) return opcodes;
  unsigned last = probe->last_op + 1u > kOpNameCount ? probe->last_op + 1u : kOpNameCount;
  for (unsigned op = 0; op < last; ++op) {
    bool supported = io_uring_opcode_supported(probe, int(op)) != 0;
    if (op < kOpNameCount) {
      opcodes.Set(kOpNames[op], supported);
    } else if (supported) {
      opcodes.Set("OP_" + std::to_string(op), true);
    }
  }
  io_uring_free_probe(probe);
  return opcodes;
}

}  // namespace

Napi::Value probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  io_uring ring;
  SetupResult setup = setupRing(&ring, 2);
  result.Set("setupResult", setup.err);
  result.Set("flags", setupFlagNames(env, setup.flags));
  result.Set("features", setup.features);
  result.Set("opcodes", setup.err == 0 ? opcodeTable(env, &ring) : Napi::Object::New(env));
  utsname name;
  result.Set("kernel", uname(&name) == 0 ? name.release : "");
  if (setup.err == 0) io_uring_queue_exit(&ring);
  return result;
}

Napi::Object buildInfo(Napi::Env env) {
  Napi::Object info = Napi::Object::New(env);
#if defined(IO_URING_VERSION_MAJOR) && defined(IO_URING_VERSION_MINOR)
  info.Set("liburing", std::to_string(IO_URING_VERSION_MAJOR) + "." +
                           std::to_string(IO_URING_VERSION_MINOR));
#else
  info.Set("liburing", RINGLOOP_LIBURING_VERSION);
#endif
#ifdef RINGLOOP_SANITIZE
  info.Set("sanitize", true);
#else
  info.Set("sanitize", false);
#endif
  info.Freeze();
  return info;
}

}  // namespace ringloop
