// The provided buffer rings multishot RECV picks from (ops/recv.cc): setupBufRing maps and
// registers one, bufferAddress gives JS the address of its own memory to put into one,
// bufRingHead reads how far the kernel has consumed one (loop.metrics()).
// Contract: src/uring/native.ts, NativeRing.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "ring.h"
#include "ring_args.h"
#include "ring_object.h"

namespace ringloop {

namespace {

void unmapFinalizer(napi_env, void* data, void* hint) {
  munmap(data, reinterpret_cast<size_t>(hint));
}

}  // namespace

// setupBufRing(count, size, group) -> { entries: ArrayBuffer, data: ArrayBuffer,
// dataAddr: number } | -errno. Provided buffer ring (kernel 5.19), mmap'd and registered
// here (liburing 2.3 has no io_uring_setup_buf_ring). `count` is a power of two <= 32768;
// every buffer starts in the ring. Both regions are unmapped by their ArrayBuffers'
// finalizers; the Ring object holds those ArrayBuffers (property bufRing<group>) and is
// itself held until the ring is Closed, so the kernel never outlives the memory.
// JS recycles buffer `bid` by writing entry (tail & (count-1)) = {addr, len, bid} and
// storing tail + 1 (uint16 at byte 14) with Atomics.store.
Napi::Value RingObject::setupBufRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ring_ || ring_->state() != Ring::State::Open || info.Length() < 3) {
    return Napi::Number::New(env, -EINVAL);
  }
  uint32_t count = info[0].As<Napi::Number>().Uint32Value();
  uint32_t size = info[1].As<Napi::Number>().Uint32Value();
  uint32_t group = info[2].As<Napi::Number>().Uint32Value();
  if (count == 0 || count > 32768 || (count & (count - 1)) || size == 0 || size > (1u << 24) ||
      group > 0xffff) {
    return Napi::Number::New(env, -EINVAL);
  }
  size_t page = size_t(sysconf(_SC_PAGESIZE));
  size_t ringBytes = (size_t(count) * sizeof(io_uring_buf) + page - 1) & ~(page - 1);
  size_t dataBytes = (size_t(count) * size + page - 1) & ~(page - 1);
  void* ringMem = mmap(nullptr, ringBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ringMem == MAP_FAILED) return Napi::Number::New(env, -errno);
  void* dataMem = mmap(nullptr, dataBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (dataMem == MAP_FAILED) {
    int e = errno;
    munmap(ringMem, ringBytes);
    return Napi::Number::New(env, -e);
  }
  auto* br = static_cast<io_uring_buf_ring*>(ringMem);
  io_uring_buf_ring_init(br);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(br, static_cast<char*>(dataMem) + size_t(i) * size, size,
                          uint16_t(i), int(count - 1), int(i));
  }
  io_uring_buf_ring_advance(br, int(count));
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(ringMem);
  reg.ring_entries = count;
  reg.bgid = uint16_t(group);
  int r = io_uring_register_buf_ring(ring_->raw(), &reg, 0);
  if (r < 0) {
    munmap(ringMem, ringBytes);
    munmap(dataMem, dataBytes);
    return Napi::Number::New(env, r);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("entries", Napi::ArrayBuffer::New(env, ringMem, ringBytes, unmapFinalizer,
                                            reinterpret_cast<void*>(ringBytes)));
  out.Set("data", Napi::ArrayBuffer::New(env, dataMem, dataBytes, unmapFinalizer,
                                         reinterpret_cast<void*>(dataBytes)));
  out.Set("dataAddr", Napi::Number::New(env, double(reinterpret_cast<uintptr_t>(dataMem))));
  info.This().As<Napi::Object>().Set("bufRing" + std::to_string(group), out);
  return out;
}

// bufferAddress(u8) -> address of u8's first byte | -EINVAL. For JS-owned memory put into
// the buffer ring (BufRing hands ring memory to protocols and refills the entry from a
// slab): the caller keeps the memory referenced while any ring entry points into it, and
// the ring's registration (until Closed) never outlives the Ring object that holds it.
Napi::Value RingObject::bufferAddress(const Napi::CallbackInfo& info) {
  void* data = nullptr;
  size_t len = 0;
  if (info.Length() < 1 || !bytesOf(info[0], &data, &len) || len == 0) {
    return Napi::Number::New(info.Env(), -EINVAL);
  }
  return Napi::Number::New(info.Env(), double(reinterpret_cast<uintptr_t>(data)));
}

// bufRingHead(group) -> the kernel's head of buffer group `group` (uint16, wraps) | -errno.
// IORING_REGISTER_PBUF_STATUS (kernel 6.8; liburing 2.3 has no wrapper, hence the raw
// syscall): entries the kernel may still take = tail - head. -EINVAL on older kernels.
Napi::Value RingObject::bufRingHead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ring_ || ring_->state() != Ring::State::Open || info.Length() < 1 || !info[0].IsNumber()) {
    return Napi::Number::New(env, -EINVAL);
  }
  constexpr unsigned kRegisterPbufStatus = 26;  // IORING_REGISTER_PBUF_STATUS
  struct PbufStatus {
    uint32_t buf_group;
    uint32_t head;
    uint32_t resv[8];
  } status{};
  status.buf_group = info[0].As<Napi::Number>().Uint32Value();
  long r = syscall(__NR_io_uring_register, ring_->fd(), kRegisterPbufStatus, &status, 1);
  if (r < 0) return Napi::Number::New(env, -errno);
  return Napi::Number::New(env, status.head);
}

}  // namespace ringloop
