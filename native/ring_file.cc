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
  int err;
  auto* fs = freshSlot<FileSlot>(info, ring_, &err);
  if (!fs) return Napi::Number::New(env, err);
  if (info.Length() < 3) return Napi::Number::New(env, -EINVAL);
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
  int err;
  auto* fs = freshSlot<FileSlot>(info, ring_, &err);
  if (!fs) return Napi::Number::New(env, err);
  if (info.Length() < 3 || !info[1].IsArray()) return Napi::Number::New(env, -EINVAL);
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

namespace {

constexpr size_t kHugePage = size_t(2) << 20;

struct HugeMapping {
  void* base;
  size_t length;
  size_t accounted;
};

// The Buffer's finalizer: unmaps the whole mapping (slack included) and takes its size back
// from V8's external-memory count.
void unmapHuge(Napi::Env env, uint8_t* /*data*/, HugeMapping* m) {
  munmap(m->base, m->length);
  int64_t ignored;
  napi_adjust_external_memory(env, -int64_t(m->accounted), &ignored);
  delete m;
}

}  // namespace

// freshHugeBuffer(size) -> Buffer | -errno
// Memory for readFile's result (FileOps.freshBuffer): a private anonymous mapping whose
// bytes start on a 2 MiB boundary, advised MADV_HUGEPAGE over the whole 2 MiB pages it
// holds. Compared with a malloc'd ArrayBuffer (16 bytes past a page boundary, interior
// advice only): every huge page is used, and the kernel's copy into a page-aligned
// destination runs faster (perf/RESULTS.md, fs-bench notes). The mapping has 2 MiB of
// untouched slack for the alignment (address space only).
// Ownership: an external Buffer; its finalizer (on the JS thread, when the GC frees the
// Buffer) unmaps it. Its size is reported to V8 as external memory while it lives, as an
// ordinary ArrayBuffer's would be, so it drives the GC the same way.
Napi::Value RingObject::freshHugeBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return Napi::Number::New(env, -EINVAL);
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d <= 9007199254740991.0) || d != double(size_t(d))) return Napi::Number::New(env, -EINVAL);
  size_t size = size_t(d);
  size_t length = size + kHugePage;
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return Napi::Number::New(env, -errno);
  auto* data = reinterpret_cast<uint8_t*>((uintptr_t(base) + kHugePage - 1) & ~uintptr_t(kHugePage - 1));
  size_t whole = size & ~(kHugePage - 1);
  if (whole > 0) madvise(data, whole, MADV_HUGEPAGE);  // advice: refused (THP off) is fine
  auto* m = new HugeMapping{base, length, size};
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, data, size, unmapHuge, m);
  int64_t ignored;
  napi_adjust_external_memory(env, int64_t(size), &ignored);
  return buf;
}

}  // namespace ringloop
