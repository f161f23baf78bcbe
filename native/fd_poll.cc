// FdPoll: one fd's readiness on Node's libuv loop. States, ownership and libuv rules:
// fd_poll.h.
#include "fd_poll.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "errors.h"
#include "file_stat.h"

namespace ringloop {

// src/addon.ts FD_POLL_READABLE / FD_POLL_WRITABLE are libuv's own bits.
static_assert(UV_READABLE == 1 && UV_WRITABLE == 2, "src/addon.ts FD_POLL_* bits");

// Lives from start() (from Idle) to its uv_close callback.
struct FdPollObject::Handle {
  uv_poll_t poll{};
  int dup = -1;
  FdPollObject* owner = nullptr;  // null once released: no JS call through it any more
  napi_async_cleanup_hook_handle hook = nullptr;
  int events = 0;                 // what the uv handle polls now; 0 = stopped
  bool delivering = false;        // inside this handle's callback
  bool rearmed = false;           // start() was called during that callback
  bool identifiable = false;      // a socket or FIFO: (dev, ino) names the file
  uint32_t devMajor = 0, devMinor = 0;
  uint64_t ino = 0;
};

Napi::Function FdPollObject::define(Napi::Env env) {
  return DefineClass(env, "FdPoll",
                     {
                         InstanceMethod<&FdPollObject::start>("start"),
                         InstanceMethod<&FdPollObject::stop>("stop"),
                         InstanceMethod<&FdPollObject::sameFile>("sameFile"),
                         InstanceMethod<&FdPollObject::close>("close"),
                     });
}

FdPollObject::FdPollObject(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<FdPollObject>(info), env_(info.Env()), fd_(-1) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throwTypeError(env, "The \"fd\" argument must be of type number");
    return;
  }
  double fd = info[0].As<Napi::Number>().DoubleValue();
  if (!(fd >= 0 && fd <= 0x7fffffff && fd == double(int(fd)))) {
    throwRangeError(env, "The \"fd\" argument must be an integer >= 0");
    return;
  }
  if (info.Length() < 2 || !info[1].IsFunction()) {
    throwTypeError(env, "The \"callback\" argument must be of type function");
    return;
  }
  if (napi_get_uv_event_loop(env, &loop_) != napi_ok || !loop_) {
    Napi::Error::New(env, "ringloop: no libuv loop for this environment").ThrowAsJavaScriptException();
    return;
  }
  fd_ = int(fd);
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
  asyncContext_ = new CountedContext(env, "ringloop.FdPoll");
}

FdPollObject::~FdPollObject() {
  release();
  unref(asyncContext_);
}

// Idle -> a Handle polling nothing yet. 0 or -errno (nothing is left allocated on failure).
int FdPollObject::acquire() {
  int dup = fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return -errno;
  struct statx st;
  int flags = fcntl(dup, F_GETFL);
  int err = flags < 0 ? -errno : statxFd(dup, &st);
  if (err < 0) {
    ::close(dup);
    return err;
  }
  std::unique_ptr<Handle> h(new Handle());
  h->dup = dup;
  h->identifiable = S_ISSOCK(st.stx_mode) || S_ISFIFO(st.stx_mode);
  h->devMajor = st.stx_dev_major;
  h->devMinor = st.stx_dev_minor;
  h->ino = st.stx_ino;
  // uv_poll_init checks that epoll takes the fd (EPERM for a regular file) and sets
  // O_NONBLOCK on it, which the file shares with the caller's fd: put the flag back.
  err = uv_poll_init(loop_, &h->poll, dup);
  if (err != 0) {
    ::close(dup);
    return err;  // libuv errors are -errno on Unix
  }
  if (!(flags & O_NONBLOCK)) fcntl(dup, F_SETFL, flags);
  h->poll.data = h.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(&h->poll));
  h->owner = this;
  if (napi_add_async_cleanup_hook(env_, onEnvCleanup, h.get(), &h->hook) != napi_ok) {
    h->hook = nullptr;
    handle_ = h.release();
    release();
    return -ENOMEM;
  }
  handle_ = h.release();
  return 0;
}

// Waiting -> Idle: uv_close stops the handle (epoll no longer holds the duplicate), then
// the duplicate is closed; the Handle is freed in onClosed.
void FdPollObject::release() {
  Handle* h = handle_;
  if (!h) return;
  handle_ = nullptr;
  h->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&h->poll), onClosed);
  ::close(h->dup);
  h->dup = -1;
}

void FdPollObject::onClosed(uv_handle_t* handle) {
  Handle* h = static_cast<Handle*>(handle->data);
  if (h->hook) napi_remove_async_cleanup_hook(h->hook);
  delete h;
}

// Env teardown (worker exit, main thread exit): release what is still waiting; Node waits
// until onClosed removes the hook. A Handle already released just finishes closing.
void FdPollObject::onEnvCleanup(napi_async_cleanup_hook_handle, void* arg) {
  Handle* h = static_cast<Handle*>(arg);
  if (h->owner) h->owner->release();
}

Napi::Value FdPollObject::start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int events = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  if (events <= 0 || (events & ~(UV_READABLE | UV_WRITABLE)) != 0) return Napi::Number::New(env, -EINVAL);
  if (closed_) return Napi::Number::New(env, -EBADF);
  if (!handle_) {
    int err = acquire();
    if (err < 0) return Napi::Number::New(env, err);
  }
  Handle* h = handle_;
  if (h->delivering) h->rearmed = true;
  if (h->events != events) {
    int err = uv_poll_start(&h->poll, events, onPoll);
    if (err != 0) {
      release();
      return Napi::Number::New(env, err);
    }
    h->events = events;
  }
  return Napi::Number::New(env, 0);
}

void FdPollObject::stop(const Napi::CallbackInfo&) { release(); }

Napi::Value FdPollObject::sameFile(const Napi::CallbackInfo& info) {
  Handle* h = handle_;
  if (!h) return Napi::Boolean::New(info.Env(), true);
  struct statx st;
  bool same = h->identifiable && statxFd(fd_, &st) == 0 && st.stx_dev_major == h->devMajor &&
              st.stx_dev_minor == h->devMinor && st.stx_ino == h->ino;
  return Napi::Boolean::New(info.Env(), same);
}

// Dropping the callback breaks the cycle callback -> JS owner -> this object's wrapper.
void FdPollObject::close(const Napi::CallbackInfo&) {
  closed_ = true;
  release();
  callback_.Reset();
}

void FdPollObject::onPoll(uv_poll_t* poll, int status, int revents) {
  Handle* h = static_cast<Handle*>(poll->data);
  FdPollObject* self = h->owner;
  if (!self) return;
  if (status < 0) h->events = 0;  // POLLERR: libuv stopped the handle
  h->delivering = true;
  h->rearmed = false;
  self->deliver(status, revents);
  // The callback may have released this Handle (and the object may even be finalized):
  // h itself lives until its close callback, which never runs inside this one.
  h->delivering = false;
  if (h->owner != nullptr && !h->rearmed) h->owner->release();
}

// One call into JS; an exception there is Node's uncaught exception (the JS side never
// throws: it routes callback errors to the loop's exception handler).
void FdPollObject::deliver(int status, int revents) {
  if (callback_.IsEmpty()) return;
  CountedContext* context = asyncContext_;
  ++context->refs;
  napi_env env = env_;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    unref(context);
    return;
  }
  napi_value global, argv[2], result;
  napi_status s = napi_get_global(env, &global);
  if (s == napi_ok) s = napi_create_int32(env, status, &argv[0]);
  if (s == napi_ok) s = napi_create_int32(env, revents, &argv[1]);
  if (s == napi_ok) s = napi_make_callback(env, context->context, global, callback_.Value(), 2, argv, &result);
  if (s != napi_ok) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
  unref(context);
}

}  // namespace ringloop
