// The ring: io_uring setup, staging records -> SQEs, submit, reap, libuv integration.
//
// Layouts and constants mirror src/uring/native.ts, which is THE authority: change them
// there first, then here (the static_asserts below pin the kernel numbers).
//
// Threading: a Ring belongs to the Node environment (main thread or worker) that created
// it; every method runs on that thread. SINGLE_ISSUER relies on it.
//
// Lifecycle:  Open --close() / env cleanup--> Closing --both uv handles closed--> Closed
//   Open     stage flushed in the uv_prepare hook; CQEs reaped when the ring fd polls
//            readable and delivered to onCompletions.
//   Closing  synchronous part of close(): everything in flight is cancelled and its CQEs
//            waited for (bounded), the ring is exited, uv_close() issued. No JS calls.
//   Closed   JS references dropped, the env cleanup hook removed, per-op storage freed
//            (unless the bounded wait timed out: then it is leaked on purpose).
// The JS Ring object is kept alive (strong reference) from construction until Closed, so
// a Ring that is never closed lives until close() or env teardown; the Ring core is
// deleted by the JS object's finalizer, which can only run once Closed.
//
// Rules of the shared arrays:
//   - Every staged record gets exactly one SQE, hence at least one CQE: a record native
//     cannot prepare (unknown opcode, index >= maxOps, bad fields) gets an SQE the kernel
//     completes with -EINVAL. A record that gets no SQE (submit failed) stays staged.
//   - control[CTRL_INFLIGHT]: +1 per SQE prepared (fire-and-forget ones included), -1 at
//     each CQE without IORING_CQE_F_MORE. Written before every onCompletions call and
//     after every flush.
//   - CQEs are copied out and the CQ advanced before onCompletions runs; the callback may
//     stage, submit() or close() (the wake-up then stops at once).
#pragma once

#include <unordered_set>

#include <liburing.h>
#include <napi.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace ringloop {

// ---- mirrored from src/uring/native.ts --------------------------------------------------
constexpr uint32_t NO_OP_INDEX = 0xFFFFFFFFu;  // -1 as int32: fire and forget

constexpr int STAGE_RECORD_INTS = 16;
constexpr int S_OPCODE = 0;
constexpr int S_INDEX = 1;
constexpr int S_GEN = 2;
constexpr int S_FD = 3;
constexpr int S_FLAGS = 4;
constexpr int S_LEN = 5;
constexpr int S_TARGET_INDEX = 6;
constexpr int S_TARGET_GEN = 7;
constexpr int S_TV_SEC = 8;
constexpr int S_TV_NSEC = 9;
constexpr int S_BUF_GROUP = 10;  // RECV: provided-buffer group (multishot), -1 = the slot's buffer
constexpr int S_OFF_LO = 11;     // SPLICE off_in, file ops: 64-bit offset, low / high 32 bits
constexpr int S_OFF_HI = 12;     // (-1/-1: none / the file position)
constexpr int S_SPLICE_FD_IN = 13;  // SPLICE: fd_in (S_FD is fd_out)
constexpr int S_FILE_FLAGS = 14; // file ops: FILE_F_* below
constexpr int S_NAME_LEN = 13;   // OP_SENDTO: sockaddr bytes at the start of its region
constexpr int FILE_F_ASYNC = 1;  // READ/WRITE/READV/WRITEV: IOSQE_ASYNC (io-wq, kernel 5.6)

constexpr int COMPLETION_RECORD_INTS = 4;
constexpr int C_INDEX = 0;
constexpr int C_GEN = 1;
constexpr int C_RES = 2;
constexpr int C_FLAGS = 3;

constexpr int CTRL_STAGED = 0;
constexpr int CTRL_INFLIGHT = 1;
constexpr int CTRL_SPIN_HITS = 2;  // wake-ups' busy polls that found work (native counts; wraps)
constexpr int CONTROL_INTS = 4;  // 3 reserved

// Ring health counters (Float64Array `metrics`: native adds, JS reads on demand; doubles
// are exact to 2^53).
constexpr int M_SQES_SUBMITTED = 0;  // SQEs the kernel took
constexpr int M_CQES_REAPED = 1;     // CQEs consumed (fire-and-forget ones included)
constexpr int M_ENTER_CALLS = 2;     // io_uring_enter syscalls (submits, get_events)
constexpr int M_CQ_OVERFLOWS = 3;    // reaps that found the CQ overflowed (CQEs parked in the kernel)
constexpr int M_CQ_DROPPED = 4;      // CQEs the kernel dropped (cq.koverflow; refreshMetrics)
constexpr int M_WAKEUPS = 5;         // ring fd poll wake-ups
constexpr int M_SQ_FULL = 6;         // submits forced by a full stage (JS) or SQ (flush) mid-way
constexpr int METRIC_SLOTS = 8;

constexpr int OP_NOP = 0;
constexpr int OP_TIMEOUT = 11;
constexpr int OP_TIMEOUT_REMOVE = 12;
constexpr int OP_ASYNC_CANCEL = 14;
constexpr int OP_SENDMSG = 9;
constexpr int OP_SEND = 26;
constexpr int OP_SEND_ZC = 47;
constexpr int OP_SENDMSG_ZC = 48;
constexpr int OP_POLL_ADD = 6;
constexpr int OP_ACCEPT = 13;
constexpr int OP_CONNECT = 16;
constexpr int OP_RECV = 27;
constexpr int OP_SHUTDOWN = 34;
constexpr int OP_SPLICE = 30;
constexpr int OP_READV = 1;
constexpr int OP_WRITEV = 2;
constexpr int OP_FSYNC = 3;
constexpr int OP_OPENAT = 18;
constexpr int OP_CLOSE = 19;
constexpr int OP_STATX = 21;
constexpr int OP_READ = 22;
constexpr int OP_WRITE = 23;
constexpr int OP_RECVMSG = 10;
// ringloop record kinds beyond the kernel's opcodes: >= 256, the kernel opcode in the low byte.
constexpr int OP_SENDTO = 0x100 | OP_SEND;  // ops/sendto.cc
constexpr int SEND_MAX_IOV = 4;  // iovecs per SENDMSG op (JS merges the rest)

static_assert(OP_NOP == IORING_OP_NOP, "native.ts OP_NOP");
static_assert(OP_TIMEOUT == IORING_OP_TIMEOUT, "native.ts OP_TIMEOUT");
static_assert(OP_TIMEOUT_REMOVE == IORING_OP_TIMEOUT_REMOVE, "native.ts OP_TIMEOUT_REMOVE");
static_assert(OP_ASYNC_CANCEL == IORING_OP_ASYNC_CANCEL, "native.ts OP_ASYNC_CANCEL");
static_assert(OP_SENDMSG == IORING_OP_SENDMSG, "native.ts OP_SENDMSG");
static_assert(OP_SEND == IORING_OP_SEND, "native.ts OP_SEND");
static_assert(OP_SEND_ZC == IORING_OP_SEND_ZC, "native.ts OP_SEND_ZC");
static_assert(OP_SENDMSG_ZC == IORING_OP_SENDMSG_ZC, "native.ts OP_SENDMSG_ZC");
static_assert(IORING_CQE_F_NOTIF == 1u << 3, "native.ts IORING_CQE_F_NOTIF");
static_assert(OP_POLL_ADD == IORING_OP_POLL_ADD, "native.ts OP_POLL_ADD");
static_assert(OP_ACCEPT == IORING_OP_ACCEPT, "native.ts OP_ACCEPT");
static_assert(OP_CONNECT == IORING_OP_CONNECT, "native.ts OP_CONNECT");
static_assert(OP_RECV == IORING_OP_RECV, "native.ts OP_RECV");
static_assert(OP_SHUTDOWN == IORING_OP_SHUTDOWN, "native.ts OP_SHUTDOWN");
static_assert(OP_SPLICE == IORING_OP_SPLICE, "native.ts OP_SPLICE");
static_assert(OP_READV == IORING_OP_READV, "native.ts OP_READV");
static_assert(OP_WRITEV == IORING_OP_WRITEV, "native.ts OP_WRITEV");
static_assert(OP_FSYNC == IORING_OP_FSYNC, "native.ts OP_FSYNC");
static_assert(OP_OPENAT == IORING_OP_OPENAT, "native.ts OP_OPENAT");
static_assert(OP_CLOSE == IORING_OP_CLOSE, "native.ts OP_CLOSE");
static_assert(OP_STATX == IORING_OP_STATX, "native.ts OP_STATX");
static_assert(OP_READ == IORING_OP_READ, "native.ts OP_READ");
static_assert(OP_WRITE == IORING_OP_WRITE, "native.ts OP_WRITE");
static_assert(OP_RECVMSG == IORING_OP_RECVMSG, "native.ts OP_RECVMSG");
static_assert((OP_SENDTO & 0xff) == IORING_OP_SEND, "native.ts OP_SENDTO");
static_assert(IORING_FSYNC_DATASYNC == 1u << 0, "native.ts IORING_FSYNC_DATASYNC");
static_assert(IORING_CQE_F_BUFFER == 1u << 0, "native.ts IORING_CQE_F_BUFFER");
static_assert(IORING_CQE_BUFFER_SHIFT == 16, "native.ts IORING_CQE_BUFFER_SHIFT");
static_assert(IORING_ASYNC_CANCEL_FD == 1u << 1, "native.ts IORING_ASYNC_CANCEL_FD");
static_assert(IORING_TIMEOUT_ABS == 1u << 0, "native.ts IORING_TIMEOUT_ABS");
static_assert(IORING_TIMEOUT_UPDATE == 1u << 1, "native.ts IORING_TIMEOUT_UPDATE");
static_assert(IORING_CQE_F_MORE == 1u << 1, "native.ts IORING_CQE_F_MORE");
static_assert(IORING_ASYNC_CANCEL_ALL == 1u << 0, "native.ts IORING_ASYNC_CANCEL_ALL");
// -----------------------------------------------------------------------------------------

// user_data = (uint64(generation) << 32) | uint32(index). Fire-and-forget records
// (index NO_OP_INDEX) always get generation 0, so no op ever carries user_data ~0ULL
// (liburing's LIBURING_UDATA_TIMEOUT).
constexpr uint64_t makeUserData(uint32_t index, uint32_t gen) {
  return (uint64_t(gen) << 32) | index;
}

// Bytes of native storage per op index (timespec, sockaddr, msghdr + SEND_MAX_IOV iovecs).
// Grow it when an op family needs more; the static_assert in Prep::slot enforces it.
constexpr size_t kOpSlotBytes = 128;
struct alignas(16) OpSlot {
  unsigned char bytes[kOpSlotBytes];
};

class Ring;

// What a per-opcode prep function gets. It fills `sqe` from `rec` (user_data is set by
// the ring afterwards) and returns false if the record is invalid; the ring then turns
// the SQE into one the kernel completes with -EINVAL, so the op still gets its CQE.
struct Prep {
  Ring& ring;
  io_uring_sqe* sqe;
  const int32_t* rec;
  uint32_t index;  // op index (< maxOps) or NO_OP_INDEX

  // Per-op storage of this op: stable address, owned by the op until its final CQE.
  // nullptr for NO_OP_INDEX (or if allocation failed).
  template <class T>
  T* slot() const;
  // Per-SQE scratch: valid until the kernel has consumed this SQE (its submission), for
  // arguments the kernel copies at prep time (e.g. a timeout update's timespec).
  template <class T>
  T* scratch() const;
  // Per-op storage already filled before the record was staged, by the op's RingObject
  // method in the same ops/<op>.cc (e.g. prepConnect); not re-initialized.
  template <class T>
  T* filled() const;
  // user_data of the target op (S_TARGET_INDEX / S_TARGET_GEN).
  uint64_t target() const {
    uint32_t ti = uint32_t(rec[S_TARGET_INDEX]);
    return makeUserData(ti, ti == NO_OP_INDEX ? 0 : uint32_t(rec[S_TARGET_GEN]));
  }
};

// io_uring setup with the flag fallbacks (shared by Ring and probe()).
struct SetupResult {
  int err = 0;  // 0 or -errno
  unsigned flags = 0;
  unsigned features = 0;
  // err is -EPERM because this process runs setuid/setgid (effective ids differ from the
  // real ones): ringloop refuses io_uring there (setup.cc).
  bool setuidRefused = false;
};
// A ring as every Ring gets it: flag fallbacks, refused in a setuid/setgid process, and
// hardened (created disabled, restricted to ringloop's opcodes, register ops and SQE flags,
// then enabled).
SetupResult setupRing(io_uring* ring, unsigned entries);
Napi::Array setupFlagNames(Napi::Env env, unsigned flags);

class Ring {
 public:
  enum class State { Open, Closing, Closed };

  // io_uring_setup (CQ = 2 * entries). Returns nullptr with setup.err on failure.
  static Ring* create(unsigned entries, uint32_t maxOps, SetupResult* setup);
  ~Ring();

  // Starts the uv handles (unref'd) and the env cleanup hook. `self` is the JS Ring object
  // (kept alive until Closed); the three arrays live in ArrayBuffers it holds.
  bool attach(Napi::Env env, Napi::Object self, Napi::Function onCompletions,
              int32_t* stage, int32_t* completions, int32_t* control, double* metrics);

  // Staged records -> SQEs -> io_uring_submit. Returns SQEs submitted, or -errno when
  // submission failed (the records that got no SQE stay staged, moved to the front).
  int flush();
  // Between two loop iterations run back to back in one JS turn (no libuv poll between
  // them): flush what is staged, then copy the completions already available into
  // `completions` WITHOUT calling JS. Returns the number of records; JS dispatches them.
  unsigned pollNow();
  void ref();
  void unref();
  void close();
  // Socket fds owned by this ring's endpoints and listeners (JS tracks them while open).
  // Closed by the ring itself only when JS cannot: env teardown (a worker exiting with
  // connections open) and closeOwnedFds() from a garbage-collected loop's cleanup. JS
  // untracks an fd BEFORE closing it, so the ring never closes a number it does not own.
  void trackFd(int fd) { ownedFds_.insert(fd); }
  void untrackFd(int fd) { ownedFds_.erase(fd); }
  void closeOwnedFds();
  // The counters only the kernel knows (M_CQ_DROPPED), copied into `metrics` now.
  void refreshMetrics();
  // The JS object is being finalized: delete now if Closed, else when Closed.
  void releaseOwner();

  int fd() const { return ring_.ring_fd; }
  io_uring* raw() { return &ring_; }
  uint32_t maxOps() const { return maxOps_; }
  unsigned entries() const { return entries_; }
  unsigned completionCapacity() const { return 2 * entries_; }
  // Busy poll after a wake-up (see Ring::busyPoll): 0 = off.
  void setBusyPollNs(int64_t ns) { busyPollNs_ = ns; }
  State state() const { return state_; }

  void* opSlot(uint32_t index);
  void* sqeScratch(const io_uring_sqe* sqe) {
    return &scratch_[sqe - ring_.sq.sqes];
  }

 private:
  Ring(unsigned entries, uint32_t maxOps) : entries_(entries), maxOps_(maxOps) {}

  void prepRecord(io_uring_sqe* sqe, const int32_t* rec);
  int submitPending(int* submitted);
  unsigned reap();
  unsigned reapWithParked();
  void drainCompletions();
  bool workWaiting();
  void busyPoll();
  bool deliver(unsigned count);
  bool cancelAndWait();
  void finishClose();
  void freeSlots();

  static void onPrepare(uv_prepare_t* handle);
  static void onPoll(uv_poll_t* handle, int status, int events);
  static void onHandleClosed(uv_handle_t* handle);
  static void onEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);

  io_uring ring_{};
  const unsigned entries_;
  const uint32_t maxOps_;
  State state_ = State::Open;
  bool attached_ = false;
  bool sqPending_ = false;    // SQEs prepared but not yet taken by the kernel
  bool refed_ = false;
  bool ownerGone_ = false;    // JS object finalized
  bool leakSlots_ = false;    // close timed out: the kernel may still use op storage
  int openHandles_ = 0;
  int64_t inflight_ = 0;      // SQEs prepared whose final CQE has not been reaped
  int64_t busyPollNs_ = 0;

  int32_t* stage_ = nullptr;
  int32_t* completions_ = nullptr;
  int32_t* control_ = nullptr;
  double metricsUnattached_[METRIC_SLOTS] = {};  // counts before attach (a failed construction)
  double* metrics_ = metricsUnattached_;

  // Per-op storage: chunks of kSlotsPerChunk slots, allocated on first use, never moved.
  static constexpr uint32_t kChunkShift = 8;
  static constexpr uint32_t kSlotsPerChunk = 1u << kChunkShift;
  std::unique_ptr<OpSlot*[]> chunks_;
  std::unique_ptr<OpSlot[]> scratch_;  // one per SQ entry

  napi_env env_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::ObjectReference self_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
  uv_poll_t poll_{};
  uv_prepare_t prepare_{};
  std::unordered_set<int> ownedFds_;
};

template <class T>
T* Prep::slot() const {
  static_assert(sizeof(T) <= kOpSlotBytes && alignof(T) <= alignof(OpSlot),
                "grow kOpSlotBytes for this op family");
  void* p = ring.opSlot(index);
  return p ? new (p) T() : nullptr;
}

template <class T>
T* Prep::filled() const {
  static_assert(sizeof(T) <= kOpSlotBytes && alignof(T) <= alignof(OpSlot),
                "grow kOpSlotBytes for this op family");
  return static_cast<T*>(ring.opSlot(index));
}

template <class T>
T* Prep::scratch() const {
  static_assert(sizeof(T) <= kOpSlotBytes && alignof(T) <= alignof(OpSlot),
                "grow kOpSlotBytes for this op family");
  return new (ring.sqeScratch(sqe)) T();
}

}  // namespace ringloop
