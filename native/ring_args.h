// Argument readers shared by the RingObject methods that fill per-op storage (ops/*.cc),
// cancelSync (ops/cancel.cc), the buffer ring (buf_ring.cc) and the plain syscalls
// (sockets.cc, fds.cc, spawn.cc). They never throw: a bad argument makes the caller return -EINVAL (an op
// staged after it completes with -EINVAL).
#pragma once

#include <napi.h>
#include <sys/uio.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <new>

#include "ring.h"

namespace ringloop {

// info[0] as an op slot index of an Open ring.
inline bool slotArg(const Napi::CallbackInfo& info, Ring* ring, uint32_t* slot) {
  if (!ring || ring->state() != Ring::State::Open || info.Length() < 1 || !info[0].IsNumber()) {
    return false;
  }
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < ring->maxOps())) return false;
  *slot = uint32_t(d);
  return true;
}

// The per-op storage of info[0]'s slot, constructed afresh (zeroed) as a T before the prep
// reads its other arguments: a record staged after a refused prep then completes with
// -EINVAL instead of using what an earlier op of this slot pointed to. nullptr with *err =
// -EINVAL (not a slot of an Open ring) or -ENOMEM (no storage).
template <typename T>
T* freshSlot(const Napi::CallbackInfo& info, Ring* ring, int* err) {
  uint32_t slot;
  if (!slotArg(info, ring, &slot)) {
    *err = -EINVAL;
    return nullptr;
  }
  void* mem = ring->opSlot(slot);
  if (!mem) {
    *err = -ENOMEM;
    return nullptr;
  }
  return new (mem) T();
}

// info[i] as an int32 (an fd, a flag, a signal), or -1 when it is not a number.
inline int32_t intArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : -1;
}

// A Uint8Array's memory (JS keeps the array referenced while an op uses it).
inline bool bytesOf(Napi::Value v, void** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u8 = v.As<Napi::Uint8Array>();
  *data = u8.Data();
  *len = u8.ByteLength();
  return true;
}

// One iovec per Uint8Array of `bufs` (1..IOV_MAX of them), written into `store`: JS memory
// of at least 16 bytes per buffer, 8-byte aligned, kept referenced by JS with the buffers
// while an op uses them. Returns the total length, or -EINVAL (*iov untouched).
inline double iovecsInto(Napi::Value bufs, Napi::Value store, iovec** iovOut, uint32_t* countOut) {
  if (!bufs.IsArray()) return -EINVAL;
  Napi::Array list = bufs.As<Napi::Array>();
  uint32_t n = list.Length();
  void* mem;
  size_t memLen;
  if (n == 0 || n > IOV_MAX || !bytesOf(store, &mem, &memLen) || memLen < size_t(n) * sizeof(iovec) ||
      reinterpret_cast<uintptr_t>(mem) % alignof(iovec) != 0) {
    return -EINVAL;
  }
  auto* iov = static_cast<iovec*>(mem);
  double total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    void* data;
    size_t len;
    if (!bytesOf(list.Get(i), &data, &len)) return -EINVAL;
    iov[i].iov_base = data ? data : iov;  // zero-length: any valid address
    iov[i].iov_len = len;
    total += double(len);
  }
  *iovOut = iov;
  *countOut = n;
  return total;
}

}  // namespace ringloop
