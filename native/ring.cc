// The ring core: staging -> SQEs -> submit (uv_prepare), reap -> onCompletions (uv_poll),
// close and env teardown. State machine and ownership rules: ring.h.
#include "ring.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "ops/ops.h"

namespace ringloop {

namespace {

// Passes (reap + one JS call) per wake-up, so a flood of CQEs cannot starve the rest
// of Node's loop; the ring fd stays readable (level-triggered) for the rest.
constexpr int kMaxPasses = 4;

// An SQE the kernel fails with -EINVAL at submission (any opcode >= IORING_OP_LAST does):
// an invalid record still gets exactly one CQE, so JS accounting never diverges.
constexpr uint8_t kInvalidOpcode = 0xFF;

// close(): bounded wait for every in-flight op's final CQE.
constexpr int64_t kCloseWaitNs = 2000000000;
// user_data of close()'s own IORING_ASYNC_CANCEL_ANY (never delivered).
constexpr uint64_t kCloseCancelUserData = makeUserData(NO_OP_INDEX, 0) | (uint64_t(1) << 32);

// Longest busy poll per wake-up (Ring::busyPoll).
constexpr int64_t kBusyPollMaxNs = 500000;

// Rings of this process that are Open (any thread), and the CPUs online: the busy poll
// runs only while the first is below the second (Ring::busyPoll).
std::atomic<int> openRings{0};
const long onlineCpus = sysconf(_SC_NPROCESSORS_ONLN);

// One spin-wait step: tells the CPU (and a hyperthread sibling) that we are spinning.
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#endif
}

int64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

Ring* Ring::create(unsigned entries, uint32_t maxOps, SetupResult* setup) {
  std::unique_ptr<Ring> ring(new Ring(entries, maxOps));
  *setup = setupRing(&ring->ring_, entries);
  if (setup->err != 0) {
    ring->state_ = State::Closed;  // nothing to exit
    return nullptr;
  }
  ring->chunks_.reset(new OpSlot*[(maxOps + kSlotsPerChunk - 1) >> kChunkShift]());
  ring->scratch_.reset(new OpSlot[ring->ring_.sq.ring_entries]);
  openRings.fetch_add(1, std::memory_order_relaxed);
  return ring.release();
}

Ring::~Ring() { freeSlots(); }

// Frees per-op storage once no op can be in flight. After a timed-out close the kernel
// may still write storage of ops whose final CQE never came: then it is leaked on purpose
// rather than handed back to the allocator.
void Ring::freeSlots() {
  if (!chunks_) return;
  if (!leakSlots_) {
    for (size_t i = 0, n = (maxOps_ + kSlotsPerChunk - 1) >> kChunkShift; i < n; ++i) {
      std::free(chunks_[i]);
    }
    chunks_.reset();
    scratch_.reset();
  } else {
    chunks_.release();
    scratch_.release();
  }
}

void* Ring::opSlot(uint32_t index) {
  if (index >= maxOps_) return nullptr;
  OpSlot*& chunk = chunks_[index >> kChunkShift];
  if (!chunk) chunk = static_cast<OpSlot*>(std::calloc(kSlotsPerChunk, sizeof(OpSlot)));
  return chunk ? &chunk[index & (kSlotsPerChunk - 1)] : nullptr;
}

bool Ring::attach(Napi::Env env, Napi::Object self, Napi::Function onCompletions,
                  int32_t* stage, int32_t* completions, int32_t* control, double* metrics) {
  env_ = env;
  stage_ = stage;
  completions_ = completions;
  control_ = control;
  metrics_ = metrics;
  self_ = Napi::Persistent(self);
  callback_ = Napi::Persistent(onCompletions);
  asyncContext_.reset(new Napi::AsyncContext(env, "ringloop.Ring"));

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) return false;
  if (uv_poll_init(loop, &poll_, ring_.ring_fd) != 0) return false;
  uv_prepare_init(loop, &prepare_);
  poll_.data = this;
  prepare_.data = this;
  attached_ = true;
  uv_prepare_start(&prepare_, onPrepare);
  int err = uv_poll_start(&poll_, UV_READABLE, onPoll);
  uv_unref(reinterpret_cast<uv_handle_t*>(&poll_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
  if (err != 0) return false;
  return napi_add_async_cleanup_hook(env, onEnvCleanup, this, &cleanupHook_) == napi_ok;
}

// ---- submission --------------------------------------------------------------------------

inline void Ring::prepRecord(io_uring_sqe* sqe, const int32_t* rec) {
  uint32_t index = uint32_t(rec[S_INDEX]);
  uint32_t gen = index == NO_OP_INDEX ? 0 : uint32_t(rec[S_GEN]);
  Prep prep{*this, sqe, rec, index};
  bool ok = (index < maxOps_ || index == NO_OP_INDEX) && prepOp(prep);
  if (!ok) {
    io_uring_prep_nop(sqe);
    sqe->opcode = kInvalidOpcode;
  }
  io_uring_sqe_set_data64(sqe, makeUserData(index, gen));
  ++inflight_;
}

// Submits every prepared SQE. 0, or -errno (the SQEs stay in the SQ for the next try).
int Ring::submitPending(int* submitted) {
  while (io_uring_sq_ready(&ring_) != 0) {
    int r = io_uring_submit(&ring_);
    metrics_[M_ENTER_CALLS] += 1;
    if (r < 0) return r;
    metrics_[M_SQES_SUBMITTED] += r;
    if (r == 0) return -EAGAIN;
    *submitted += r;
  }
  return 0;
}

int Ring::flush() {
  if (state_ != State::Open) return 0;
  int32_t staged = control_[CTRL_STAGED];
  if (staged < 0) staged = 0;
  if (staged > int32_t(entries_)) staged = int32_t(entries_);
  int submitted = 0;
  int err = 0;
  int32_t done = 0;
  while (done < staged) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {  // SQ full: submit and go on
      metrics_[M_SQ_FULL] += 1;
      err = submitPending(&submitted);
      if (err != 0) break;
      continue;
    }
    prepRecord(sqe, stage_ + size_t(done) * STAGE_RECORD_INTS);
    ++done;
  }
  if (err == 0) err = submitPending(&submitted);
  sqPending_ = io_uring_sq_ready(&ring_) != 0;
  int32_t left = staged - done;
  if (left > 0) {  // never drop a record: keep it staged for the next iteration
    std::memmove(stage_, stage_ + size_t(done) * STAGE_RECORD_INTS,
                 size_t(left) * STAGE_RECORD_INTS * sizeof(int32_t));
  }
  control_[CTRL_STAGED] = left;
  control_[CTRL_INFLIGHT] = int32_t(inflight_);
  return err != 0 ? err : submitted;
}

void Ring::onPrepare(uv_prepare_t* handle) {
  Ring* ring = static_cast<Ring*>(handle->data);
  if (ring->control_[CTRL_STAGED] == 0 && !ring->sqPending_) return;
  ring->flush();
}

// ---- completion --------------------------------------------------------------------------

// Copies CQEs into `completions` until it is full or the CQ is empty; fire-and-forget
// CQEs are consumed without a record. An op is finished at a CQE without F_MORE.
unsigned Ring::reap() {
  io_uring_cq& cq = ring_.cq;
  unsigned head = *cq.khead;
  const unsigned first = head;
  const unsigned tail = io_uring_smp_load_acquire(cq.ktail);
  const unsigned mask = cq.ring_mask;
  const unsigned capacity = completionCapacity();
  int32_t* out = completions_;
  unsigned n = 0;
  int64_t finished = 0;
  for (; head != tail && n < capacity; ++head) {
    const io_uring_cqe& cqe = cq.cqes[head & mask];
    const uint64_t userData = cqe.user_data;
    const uint32_t flags = cqe.flags;
    finished += !(flags & IORING_CQE_F_MORE);
    if (uint32_t(userData) == NO_OP_INDEX) continue;
    out[C_INDEX] = int32_t(uint32_t(userData));
    out[C_GEN] = int32_t(uint32_t(userData >> 32));
    out[C_RES] = cqe.res;
    out[C_FLAGS] = int32_t(flags);
    out += COMPLETION_RECORD_INTS;
    ++n;
  }
  io_uring_cq_advance(&ring_, head - first);
  metrics_[M_CQES_REAPED] += head - first;
  inflight_ -= finished;
  return n;
}

// reap(), and when the CQ is empty, also the CQEs parked in the kernel: overflowed (the
// CQ was full) or waiting for task work (COOP_TASKRUN posts them at our next syscall).
unsigned Ring::reapWithParked() {
  unsigned n = reap();
  unsigned kflags = IO_URING_READ_ONCE(*ring_.sq.kflags);
  if (n == 0 && (kflags & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN))) {
    if (kflags & IORING_SQ_CQ_OVERFLOW) metrics_[M_CQ_OVERFLOWS] += 1;
    io_uring_get_events(&ring_);
    metrics_[M_ENTER_CALLS] += 1;
    n = reap();
  }
  control_[CTRL_INFLIGHT] = int32_t(inflight_);
  return n;
}

unsigned Ring::pollNow() {
  if (state_ != State::Open) return 0;
  if (control_[CTRL_STAGED] != 0 || sqPending_) flush();
  return reapWithParked();
}

void Ring::drainCompletions() {
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    unsigned n = reapWithParked();
    if (n == 0 || !deliver(n)) return;
    // What the callbacks staged goes out now, one submit for the whole batch, instead of
    // waiting a trip around libuv for the prepare hook: ops that complete inline are
    // reaped by the next pass of this same wake-up (measured: depth-1 NOP round trips
    // 0.5M -> 0.9M/s, depth 256 11.3M -> 11.7M/s).
    if (control_[CTRL_STAGED] != 0 || sqPending_) flush();
  }
}

// One call into JS. Returns false when the wake-up must stop (ring closed by the
// callback, JS threw, or JS cannot run any more).
bool Ring::deliver(unsigned count) {
  napi_env env = env_;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return false;
  napi_value global, argv, result;
  napi_status status = napi_get_global(env, &global);
  if (status == napi_ok) status = napi_create_uint32(env, count, &argv);
  if (status == napi_ok) {
    status = napi_make_callback(env, *asyncContext_, global, callback_.Value(), 1, &argv,
                                &result);
  }
  if (status != napi_ok) {
    // JS promised never to throw; if it does, Node's uncaught-exception machinery
    // decides. Native state is already consistent (records were consumed).
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) {
        napi_fatal_exception(env, error);
      }
    }
  }
  napi_close_handle_scope(env, scope);
  return status == napi_ok && state_ == State::Open;
}

// A CQE is waiting, or the kernel holds completions for us: task work queued while we run
// (COOP_TASKRUN posts CQEs only at our next syscall; TASKRUN_FLAG tells us it is there) or
// an overflowed CQ. Reads shared ring memory only: no syscall.
bool Ring::workWaiting() {
  io_uring_cq& cq = ring_.cq;
  return *cq.khead != io_uring_smp_load_acquire(cq.ktail) ||
         (IO_URING_READ_ONCE(*ring_.sq.kflags) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN));
}

// Busy poll: after a wake-up's completions, keep watching the ring for busyPollNs_ before
// going back to libuv's blocking epoll_wait, and deliver what arrives. A reply that
// comes back within the window then costs no sleep and no wake-up (on this VM a wake-up
// costs more CPU than the spin it replaces: 64 B x1 echo 2.8x round trips at 0.65x CPU
// per op). Rules: only while ops are in flight (something can complete); each delivery
// restarts the window; the whole poll ends after kBusyPollMaxNs, so libuv's timers and
// other handles wait at most that long; and only while this process has fewer open rings
// than online CPUs, so spinning loops never take every CPU (measured: `ringloop serve
// --workers 2` beside wrk on 2 CPUs made 0.90x the req/s with both workers spinning).
void Ring::busyPoll() {
  const int64_t start = monotonicNs();
  int64_t last = start;
  int64_t now = start;
  while (state_ == State::Open && inflight_ > 0 && now - last < busyPollNs_ &&
         now - start < kBusyPollMaxNs) {
    if (workWaiting()) {
      control_[CTRL_SPIN_HITS] = int32_t(uint32_t(control_[CTRL_SPIN_HITS]) + 1u);  // wraps, no UB
      drainCompletions();
      now = last = monotonicNs();
      continue;
    }
    cpuRelax();
    now = monotonicNs();
  }
}

void Ring::onPoll(uv_poll_t* handle, int, int) {
  Ring* ring = static_cast<Ring*>(handle->data);
  if (ring->state_ != State::Open) return;
  ring->metrics_[M_WAKEUPS] += 1;
  ring->drainCompletions();
  if (ring->busyPollNs_ > 0 && openRings.load(std::memory_order_relaxed) < onlineCpus) ring->busyPoll();
}

void Ring::refreshMetrics() {
  if (state_ == State::Open && ring_.cq.koverflow) metrics_[M_CQ_DROPPED] = double(IO_URING_READ_ONCE(*ring_.cq.koverflow));
}

// ---- ref / close / teardown --------------------------------------------------------------

void Ring::ref() {
  if (state_ != State::Open || !attached_ || refed_) return;
  refed_ = true;
  uv_ref(reinterpret_cast<uv_handle_t*>(&poll_));
  uv_ref(reinterpret_cast<uv_handle_t*>(&prepare_));
}

void Ring::unref() {
  if (state_ != State::Open || !attached_ || !refed_) return;
  refed_ = false;
  uv_unref(reinterpret_cast<uv_handle_t*>(&poll_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
}

// Cancels everything in flight and reaps (discards) CQEs until no op is in flight or the
// deadline passes. Returns true when nothing is left in flight.
bool Ring::cancelAndWait() {
  int submitted = 0;
  submitPending(&submitted);  // SQEs already prepared must reach the kernel to finish
  if (inflight_ == 0) return true;
  if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) {
    // ANY: every request of this ring (5.19); on older kernels this fails with -EINVAL
    // and the wait below only sees ops that end by themselves.
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(sqe, kCloseCancelUserData);
    ++inflight_;
    submitPending(&submitted);
  }
  const int64_t deadline = monotonicNs() + kCloseWaitNs;
  while (inflight_ > 0) {
    int64_t left = deadline - monotonicNs();
    if (left <= 0) break;
    __kernel_timespec ts{left / 1000000000, left % 1000000000};
    io_uring_cqe* cqe = nullptr;
    int r = io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN) break;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      // LIBURING_UDATA_TIMEOUT: liburing's own wait timeout on pre-5.11 kernels.
      if (cqe->user_data != LIBURING_UDATA_TIMEOUT && !(cqe->flags & IORING_CQE_F_MORE)) {
        --inflight_;
      }
    }
    io_uring_cq_advance(&ring_, seen);
  }
  return inflight_ <= 0;
}

void Ring::close() {
  if (state_ != State::Open) return;
  state_ = State::Closing;
  openRings.fetch_sub(1, std::memory_order_relaxed);
  if (attached_) {
    // Stop polling before the fd is closed (libuv must not watch a closed fd).
    uv_prepare_stop(&prepare_);
    uv_poll_stop(&poll_);
  }
  leakSlots_ = !cancelAndWait();
  io_uring_queue_exit(&ring_);
  if (control_) {
    control_[CTRL_STAGED] = 0;
    control_[CTRL_INFLIGHT] = leakSlots_ ? int32_t(inflight_) : 0;
  }
  if (!attached_) {
    finishClose();
    return;
  }
  openHandles_ = 2;
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), onHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), onHandleClosed);
}

void Ring::onHandleClosed(uv_handle_t* handle) {
  Ring* ring = static_cast<Ring*>(handle->data);
  if (--ring->openHandles_ == 0) ring->finishClose();
}

// Both uv handles are closed: drop every JS reference, then let the env go.
void Ring::finishClose() {
  state_ = State::Closed;
  if (env_) {
    napi_handle_scope scope;
    bool scoped = napi_open_handle_scope(env_, &scope) == napi_ok;
    asyncContext_.reset();
    callback_.Reset();
    self_.Reset();
    if (scoped) napi_close_handle_scope(env_, scope);
  }
  freeSlots();
  if (cleanupHook_) {
    napi_remove_async_cleanup_hook(cleanupHook_);
    cleanupHook_ = nullptr;
  }
  if (ownerGone_) delete this;
}

void Ring::releaseOwner() {
  ownerGone_ = true;
  if (state_ == State::Open) close();  // only reachable for a Ring whose attach failed
  if (state_ == State::Closed) delete this;
}

// Env teardown (worker exit, main thread exit): close as close() does; Node waits until
// finishClose() removes the hook. A Ring already closing just finishes closing.
void Ring::onEnvCleanup(napi_async_cleanup_hook_handle, void* arg) {
  Ring* ring = static_cast<Ring*>(arg);
  ring->close();
  ring->closeOwnedFds();  // after close(): no op in flight uses them any more
}

void Ring::closeOwnedFds() {
  for (int fd : ownedFds_) ::close(fd);
  ownedFds_.clear();
}

}  // namespace ringloop
