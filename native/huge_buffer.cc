// freshHugeBuffer: memory for readFile's result (FileOps.freshBuffer), 2 MiB aligned and
// advised MADV_HUGEPAGE, and the process-wide pool of mappings it reuses.
// Contract: src/uring/native.ts, NativeRing.
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <mutex>
#include <vector>

#include "ring_object.h"

namespace ringloop {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;

struct HugeMapping {
  void* base;
  size_t length;
  size_t accounted;
};

// Mappings whose Buffer the GC has freed, kept for the next freshHugeBuffer of the same
// length (see there), oldest first. Shared by every thread's addon instance, hence the
// mutex; never destroyed, as finalizers may run while the process exits.
constexpr size_t kMaxPooledBytes = size_t(128) << 20;
std::mutex hugePoolMutex;
std::deque<HugeMapping*>* hugePool = new std::deque<HugeMapping*>();
size_t hugePoolBytes = 0;

void unmapHuge(HugeMapping* m) {
  munmap(m->base, m->length);
  delete m;
}

HugeMapping* takePooled(size_t length) {
  std::lock_guard<std::mutex> lock(hugePoolMutex);
  for (auto it = hugePool->rbegin(); it != hugePool->rend(); ++it) {
    HugeMapping* m = *it;
    if (m->length != length) continue;
    hugePool->erase(std::next(it).base());
    hugePoolBytes -= length;
    return m;
  }
  return nullptr;
}

// The Buffer's finalizer: takes its size back from V8's external-memory count and pools
// the mapping, advised MADV_FREE (the kernel may reclaim its pages under memory pressure
// instead of swapping them; reused before that, they are still there). The oldest pooled
// mappings are unmapped to stay within kMaxPooledBytes.
void releaseHuge(Napi::Env env, uint8_t* /*data*/, HugeMapping* m) {
  int64_t ignored;
  napi_adjust_external_memory(env, -int64_t(m->accounted), &ignored);
  if (m->length > kMaxPooledBytes) {
    unmapHuge(m);
    return;
  }
  madvise(m->base, m->length, MADV_FREE);
  std::vector<HugeMapping*> evicted;
  {
    std::lock_guard<std::mutex> lock(hugePoolMutex);
    hugePool->push_back(m);
    hugePoolBytes += m->length;
    while (hugePoolBytes > kMaxPooledBytes) {
      evicted.push_back(hugePool->front());
      hugePoolBytes -= hugePool->front()->length;
      hugePool->pop_front();
    }
  }
  for (HugeMapping* e : evicted) unmapHuge(e);
}

}  // namespace

// freshHugeBuffer(size) -> Buffer | -errno
// Memory for readFile's result (FileOps.freshBuffer): a private anonymous mapping whose
// bytes start on a 2 MiB boundary, advised MADV_HUGEPAGE over the whole 2 MiB pages it
// holds. Compared with a malloc'd ArrayBuffer (16 bytes past a page boundary, interior
// advice only): every huge page is used, and the kernel's copy into a page-aligned
// destination runs faster (perf/RESULTS.md, fs-bench notes). The mapping's length is the
// size rounded up to 2 MiB, plus 2 MiB of slack for the alignment (address space only).
// Reuse: a mapping whose Buffer the GC has freed is pooled (at most kMaxPooledBytes,
// oldest unmapped first) and taken again by the next call whose length falls in the same
// 2 MiB step. Its pages are then already faulted in: first touch of fresh memory, not the
// copy, bounds readFile here (fs-bench: 64 MiB readFile 3.1-4.8x node:fs/promises with the
// pool, 2.3-3.3x without). Like Buffer.allocUnsafe's memory, a reused mapping holds old
// bytes of this process until they are overwritten; readFile overwrites what it returns.
// Ownership: an external Buffer; its finalizer (on the JS thread, when the GC frees the
// Buffer) pools or unmaps it. Its size is reported to V8 as external memory while it
// lives, as an ordinary ArrayBuffer's would be, so it drives the GC the same way.
Napi::Value RingObject::freshHugeBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return Napi::Number::New(env, -EINVAL);
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d <= 9007199254740991.0) || d != double(size_t(d))) return Napi::Number::New(env, -EINVAL);
  size_t size = size_t(d);
  // Lengths in whole 2 MiB steps, so that sizes in the same step share pooled mappings.
  size_t length = ((size + kHugePage - 1) & ~(kHugePage - 1)) + kHugePage;
  HugeMapping* m = takePooled(length);
  if (m == nullptr) {
    void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return Napi::Number::New(env, -errno);
    m = new HugeMapping{base, length, 0};
  }
  m->accounted = size;
  auto* data = reinterpret_cast<uint8_t*>((uintptr_t(m->base) + kHugePage - 1) & ~uintptr_t(kHugePage - 1));
  size_t whole = size & ~(kHugePage - 1);
  if (whole > 0) madvise(data, whole, MADV_HUGEPAGE);  // advice: refused (THP off) is fine
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, data, size, releaseHuge, m);
  int64_t ignored;
  napi_adjust_external_memory(env, int64_t(size), &ignored);
  return buf;
}

}  // namespace ringloop
