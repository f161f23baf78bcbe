// io_uring setup with flag fallbacks, shared by Ring and probe().
//
// Wanted flags (each dropped, newest first, only when the kernel says EINVAL):
//   SINGLE_ISSUER (6.0)  one task submits: the Node thread that owns the ring
//   TASKRUN_FLAG  (5.19) IORING_SQ_TASKRUN tells the reaper to enter the kernel
//   COOP_TASKRUN  (5.19) no IPI per completion; task work runs at our next syscall
//   SUBMIT_ALL    (5.18) one bad SQE does not stop the rest of the batch
//   CQSIZE        (5.5)  CQ = 2 * entries (also the kernel default without it)
// Never DEFER_TASKRUN (the ring fd then never wakes epoll, libuv sleeps through
// completions) and never SQPOLL (CPU burn, CVE-2024-22017).
//
// Hardening (kernel 5.10: IORING_SETUP_R_DISABLED, IORING_REGISTER_RESTRICTIONS,
// IORING_REGISTER_ENABLE_RINGS): the ring is created disabled; before it is enabled the
// kernel is told the only opcodes (ops/ops.h kKernelOpcodes), register ops (kRegisterOps)
// and SQE flags (kSqeFlags) it will ever take from this ring: anything else fails with
// -EACCES, so a bug or an attacker steering a record cannot make the ring run an op
// ringloop never meant to (open a file by path through OPENAT2, MSG_RING into another
// ring, URING_CMD ...). And no ring at all in a setuid/setgid process: io_uring ops run with
// the credentials the ring was created with, work that may outlive a privilege drop
// (CVE-2024-22017: Node's own io_uring use in setuid processes).
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "ops/ops.h"
#include "ring.h"

namespace ringloop {

namespace {

// Register ops used after the ring is enabled: buffer rings (setup, status), synchronous
// cancel, and the opcode probe (read-only).
constexpr unsigned kRegisterOps[] = {
    IORING_REGISTER_PROBE,          // 8   (probe.cc)
    IORING_REGISTER_PBUF_RING,      // 22  (buf_ring.cc)
    IORING_UNREGISTER_PBUF_RING,    // 23
    IORING_REGISTER_SYNC_CANCEL,    // 24  (ops/cancel.cc)
    26,                             // IORING_REGISTER_PBUF_STATUS, 6.8 (buf_ring.cc; not in liburing 2.3)
};
// SQE flags any op may carry: provided buffers (RECV, RECVMSG), io-wq offload (file reads).
constexpr unsigned kSqeFlags = IOSQE_BUFFER_SELECT | IOSQE_ASYNC;

bool setuidProcess() { return geteuid() != getuid() || getegid() != getgid(); }

// io_uring_register(2) directly: liburing 2.3's shared library does not export
// io_uring_register_restrictions / io_uring_enable_rings (its symbol map lacks them).
int registerRaw(io_uring* ring, unsigned op, void* arg, unsigned nr) {
  long r = syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nr);
  return r < 0 ? -errno : int(r);
}

// Registers the allowlist and enables the ring. 0 or -errno.
int restrictAndEnable(io_uring* ring) {
  constexpr size_t kOps = sizeof(kKernelOpcodes) / sizeof(kKernelOpcodes[0]);
  constexpr size_t kRegs = sizeof(kRegisterOps) / sizeof(kRegisterOps[0]);
  io_uring_restriction res[kOps + kRegs + 1] = {};
  size_t n = 0;
  for (int op : kKernelOpcodes) {
    res[n].opcode = IORING_RESTRICTION_SQE_OP;
    res[n++].sqe_op = uint8_t(op);
  }
  for (unsigned reg : kRegisterOps) {
    res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
    res[n++].register_op = uint8_t(reg);
  }
  res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
  res[n++].sqe_flags = uint8_t(kSqeFlags);
  int r = registerRaw(ring, IORING_REGISTER_RESTRICTIONS, res, unsigned(n));
  if (r < 0) return r;
  r = registerRaw(ring, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  return r < 0 ? r : 0;
}

}  // namespace

static const unsigned kDropOrder[] = {
    IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_TASKRUN_FLAG, IORING_SETUP_COOP_TASKRUN,
    IORING_SETUP_SUBMIT_ALL, IORING_SETUP_CQSIZE,
};

SetupResult setupRing(io_uring* ring, unsigned entries) {
  unsigned flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                   IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER;
  SetupResult out;
  if (setuidProcess()) {
    out.err = -EPERM;
    out.setuidRefused = true;
    return out;
  }
  for (size_t drop = 0;; ++drop) {
    io_uring_params params{};
    params.flags = flags | IORING_SETUP_R_DISABLED;
    params.cq_entries = 2 * entries;
    int r = io_uring_queue_init_params(entries, ring, &params);
    if (r == 0) {
      r = restrictAndEnable(ring);
      if (r < 0) {
        io_uring_queue_exit(ring);
        out.err = r;
        return out;
      }
      out.flags = ring->flags & ~unsigned(IORING_SETUP_R_DISABLED);
      out.features = params.features;
      return out;
    }
    if (r != -EINVAL || drop == sizeof(kDropOrder) / sizeof(kDropOrder[0])) {
      out.err = r;
      return out;
    }
    flags &= ~kDropOrder[drop];
  }
}

Napi::Array setupFlagNames(Napi::Env env, unsigned flags) {
  static const struct {
    unsigned flag;
    const char* name;
  } kNames[] = {
      {IORING_SETUP_IOPOLL, "IOPOLL"},
      {IORING_SETUP_SQPOLL, "SQPOLL"},
      {IORING_SETUP_SQ_AFF, "SQ_AFF"},
      {IORING_SETUP_CQSIZE, "CQSIZE"},
      {IORING_SETUP_CLAMP, "CLAMP"},
      {IORING_SETUP_ATTACH_WQ, "ATTACH_WQ"},
      {IORING_SETUP_R_DISABLED, "R_DISABLED"},
      {IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL"},
      {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"},
      {IORING_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG"},
      {IORING_SETUP_SQE128, "SQE128"},
      {IORING_SETUP_CQE32, "CQE32"},
      {IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"},
      {IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"},
  };
  Napi::Array names = Napi::Array::New(env);
  uint32_t n = 0;
  for (const auto& entry : kNames) {
    if (flags & entry.flag) names.Set(n++, entry.name);
  }
  return names;
}

}  // namespace ringloop
