// probe(): can this process set up a ring (as every Ring is set up: setup.cc), with which
// flags, which opcodes does the kernel support, and is the ring's allowlist enforced (an
// allowed NOP and a refused FALLOCATE submitted on the probe ring, their results reported).
// Never throws for a setup failure (setupResult carries -errno; setuidRefused says when
// ringloop itself refused).
// buildInfo: facts fixed at build time.
#include "probe.h"

#include <sys/utsname.h>

#include <string>

#include "ops/ops.h"
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

// The allowlist as opcode names (what the hardened ring accepts).
Napi::Array allowedOpcodes(Napi::Env env) {
  Napi::Array names = Napi::Array::New(env);
  uint32_t n = 0;
  for (int op : kKernelOpcodes) {
    names.Set(n++, unsigned(op) < kOpNameCount ? kOpNames[op] : ("OP_" + std::to_string(op)).c_str());
  }
  return names;
}

// Submits a NOP (allowed) and a FALLOCATE (never used by ringloop, so refused) and waits
// for both: {nop, refused} results, or -errno when the check itself could not run.
Napi::Object restrictionCheck(Napi::Env env, io_uring* ring) {
  Napi::Object out = Napi::Object::New(env);
  io_uring_sqe* nop = io_uring_get_sqe(ring);
  io_uring_sqe* refused = io_uring_get_sqe(ring);
  if (!nop || !refused) return out;
  io_uring_prep_nop(nop);
  io_uring_sqe_set_data64(nop, 1);
  io_uring_prep_fallocate(refused, -1, 0, 0, 1);
  io_uring_sqe_set_data64(refused, 2);
  int r = io_uring_submit_and_wait(ring, 2);
  if (r < 0) {
    out.Set("error", r);
    return out;
  }
  for (int i = 0; i < 2; ++i) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(ring, &cqe) != 0 || !cqe) break;
    out.Set(cqe->user_data == 1 ? "nop" : "refused", cqe->res);
    io_uring_cqe_seen(ring, cqe);
  }
  return out;
}

}  // namespace

Napi::Value probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  io_uring ring;
  SetupResult setup = setupRing(&ring, 2);
  result.Set("setupResult", setup.err);
  result.Set("setuidRefused", setup.setuidRefused);
  result.Set("allowedOpcodes", allowedOpcodes(env));
  result.Set("restrictions", setup.err == 0 ? restrictionCheck(env, &ring) : Napi::Object::New(env));
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
