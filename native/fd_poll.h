// The JS-visible `FdPoll` class: readiness of one fd through a libuv poll handle (uv_poll_t)
// on Node's own loop, for the fallback backend (contract: src/addon.ts, NativeFdPoll). It
// has nothing to do with the io_uring Ring.
//
// The handle polls a private duplicate of the caller's fd (F_DUPFD_CLOEXEC), never the fd:
// - libuv forbids closing an fd that an active uv_poll_t watches (its watcher table would
//   route the events of whatever reuses the number, Node's own handles included, to the
//   stale handle); the caller may close its fd at any time, the duplicate keeps the file.
// - libuv allows one poll handle per fd NUMBER; each duplicate is a number of its own.
// So, as an io_uring POLL_ADD does, a poll that waits holds a reference to the file.
//
// States (per object):
//   Idle     no duplicate, no handle.
//   Waiting  start(events): duplicate + handle, polling `events` (UV_READABLE | UV_WRITABLE).
//            An event -> callback(status, revents) once. Unless start() is called during
//            that callback, the poll goes back to Idle when the callback returns (single
//            shot); started again inside it, the handle stays as it is: re-arming
//            level-triggered readiness with the same events costs no syscall (uv_poll_start
//            itself always costs an epoll_ctl DEL + ADD).
//            stop() -> Idle.
//   Closed   close(): Idle for good; start() returns -EBADF; the callback is dropped.
// status < 0 in the callback is libuv's report of POLLERR (it has stopped the handle):
// error readiness, which the caller's next syscall reports.
//
// Handles: a Handle (uv_poll_t + duplicate) is allocated by start() from Idle and freed in
// its uv_close callback; the duplicate is closed right after uv_close() (libuv: the fd may be
// closed once uv_close returned). Each Handle holds an async env cleanup hook, removed in
// that close callback: a Worker that exits with polls waiting closes them before its loop
// is closed (uv_loop_close with a handle open aborts Node). Nothing calls into JS once a
// Handle is released (stop, close, the object's finalizer, the cleanup hook).
//
// Ref: never. A waiting poll does not keep the process alive by itself: while the loop
// runs the proactor's keep-alive does, as for the ring's handle (DESIGN.md "Node
// integration": a loop that is not running holds nothing).
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

namespace ringloop {

class FdPollObject : public Napi::ObjectWrap<FdPollObject> {
 public:
  static Napi::Function define(Napi::Env env);
  // new FdPoll(fd, callback(status, revents))
  explicit FdPollObject(const Napi::CallbackInfo& info);
  ~FdPollObject() override;

 private:
  struct Handle;

  // start(events): Idle -> Waiting, or a new event mask; 0 or -errno (EBADF for a closed
  // fd, EPERM for a file epoll cannot watch, EMFILE...).
  Napi::Value start(const Napi::CallbackInfo& info);
  // stop(): back to Idle (handle and duplicate released). Idempotent.
  void stop(const Napi::CallbackInfo& info);
  // sameFile(): true when Idle, or when the fd still names the file being polled. Only a
  // socket or a FIFO can be told apart by (st_dev, st_ino); for anything else (eventfd and
  // the other anonymous inodes share one inode) it answers false.
  Napi::Value sameFile(const Napi::CallbackInfo& info);
  // close(): Closed. Idempotent.
  void close(const Napi::CallbackInfo& info);

  int acquire();
  void release();
  void deliver(int status, int revents);

  static void onPoll(uv_poll_t* poll, int status, int revents);
  static void onClosed(uv_handle_t* handle);
  static void onEnvCleanup(napi_async_cleanup_hook_handle hook, void* arg);

  napi_env env_;
  uv_loop_t* loop_ = nullptr;
  int fd_;                       // the caller's; never closed here
  bool closed_ = false;
  Handle* handle_ = nullptr;     // null when Idle
  Napi::FunctionReference callback_;
  // Shared with a delivery in progress, which keeps it even if the object goes meanwhile.
  // Counted by hand (JS thread only): std::shared_ptr's count would make the prebuilds need
  // __libc_single_threaded (GLIBC_2.32).
  struct CountedContext {
    CountedContext(Napi::Env env, const char* name) : context(env, name) {}
    Napi::AsyncContext context;
    int refs = 1;
  };
  static void unref(CountedContext* c) {
    if (c != nullptr && --c->refs == 0) delete c;
  }
  CountedContext* asyncContext_ = nullptr;
};

}  // namespace ringloop
