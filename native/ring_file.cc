// RingObject methods of the file ops: fill an op's per-op storage (FileSlot, see
// ops/file_slots.h) before JS stages its record. Contract: src/uring/native.ts, NativeRing.
//
// Ownership: the slot belongs to the op in `slot` until its final CQE; JS never calls
// these for a slot whose op is in flight. The path, buffers and iovec array the slot
// points to are JS memory the JS op record keeps referenced until that CQE.
#include <sys/mman.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <new>

#include "ops/file_slots.h"
#include "ring.h"
#include "ring_args.h"
#include "ring_object.h"

namespace ringloop {

// prepFile(slot, path: Uint8Array | null, buf: Uint8Array | null) -> 0 | -EINVAL
// `path` must end with a NUL byte. A refused call leaves the slot zeroed, so the record
// staged after it completes with -EINVAL instead of using an earlier op's pointers.
Napi::Value RingObject::prepFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot;
  if (!slotArg(info, ring_, &slot) || info.Length() < 3) return Napi::Number::New(env, -EINVAL);
  void* mem = ring_->opSlot(slot);
  if (!mem) return Napi::Number::New(env, -ENOMEM);
  auto* fs = new (mem) FileSlot();
  void* path = nullptr;
  size_t pathLen = 0;
  if (!info[1].IsNull()) {
    if (!bytesOf(info[1], &path, &pathLen) || pathLen == 0 ||
        static_cast<const char*>(path)[pathLen - 1] != '\0') {
      return Napi::Number::New(env, -EINVAL);
    }
  }
  void* buf = nullptr;
  size_t len = 0;
  if (!info[2].IsNull()) {
    if (!bytesOf(info[2], &buf, &len) || len > 0x7ffff000) return Napi::Number::New(env, -EINVAL);
    // A zero-length view may have no backing store: any valid address will do, nothing is
    // transferred.
    if (!buf) buf = fs;
  }
  fs->path = static_cast<const char*>(path);
  fs->buf = buf;
  fs->len = uint32_t(len);
  return Napi::Number::New(env, 0);
}

// prepFileVec(slot, bufs: Uint8Array[], iovStore: Uint8Array) -> total bytes | -EINVAL
// Writes one iovec per buffer into iovStore (>= 16 bytes per buffer, 8-byte aligned, kept
// referenced by JS with the buffers) and points the slot at it. At most IOV_MAX buffers.
Napi::Value RingObject::prepFileVec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot;
  if (!slotArg(info, ring_, &slot) || info.Length() < 3 || !info[1].IsArray()) {
    return Napi::Number::New(env, -EINVAL);
  }
  void* mem = ring_->opSlot(slot);
  if (!mem) return Napi::Number::New(env, -ENOMEM);
  auto* fs = new (mem) FileSlot();
  Napi::Array bufs = info[1].As<Napi::Array>();
  uint32_t n = bufs.Length();
  void* store;
  size_t storeLen;
  if (n == 0 || n > IOV_MAX || !bytesOf(info[2], &store, &storeLen) ||
      storeLen < size_t(n) * sizeof(iovec) || reinterpret_cast<uintptr_t>(store) % alignof(iovec) != 0) {
    return Napi::Number::New(env, -EINVAL);
  }
  auto* iov = static_cast<iovec*>(store);
  double total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    void* data;
    size_t len;
    if (!bytesOf(bufs.Get(i), &data, &len)) return Napi::Number::New(env, -EINVAL);
    iov[i].iov_base = data ? data : iov;  // zero-length: any valid address
    iov[i].iov_len = len;
    total += double(len);
  }
  fs->iov = iov;
  fs->nr = n;
  return Napi::Number::New(env, total);
}

// adviseHugePages(buf: Uint8Array) -> bytes advised | -errno
// madvise(MADV_HUGEPAGE) on the 2 MiB-aligned interior of `buf`: memory that has not been
// touched yet (readFile's fresh buffer) then faults in 2 MiB pages, one fault per 2 MiB
// instead of 512. Advice only: pages already present stay as they are, the bytes are
// untouched, and a kernel without THP (or with it set to "never") answers EINVAL or
// ignores it; the caller goes on either way. 0 when no aligned 2 MiB fits inside `buf`.
Napi::Value RingObject::adviseHugePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data;
  size_t len;
  if (info.Length() < 1 || !bytesOf(info[0], &data, &len)) return Napi::Number::New(env, -EINVAL);
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  uintptr_t start = (uintptr_t(data) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (uintptr_t(data) + len) & ~(kHuge - 1);
  if (end <= start) return Napi::Number::New(env, 0);
  if (::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE) != 0) {
    return Napi::Number::New(env, -errno);
  }
  return Napi::Number::New(env, double(end - start));
}

}  // namespace ringloop
