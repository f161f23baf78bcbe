// The JS-visible `Ring` class (contract: src/uring/native.ts, NativeRing / RingOptions).
#pragma once

#include <napi.h>

namespace ringloop {

class Ring;

class RingObject : public Napi::ObjectWrap<RingObject> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit RingObject(const Napi::CallbackInfo& info);
  ~RingObject() override;

 private:
  // Each method is listed under the file that defines it.
  // ring_object.cc (as are define(), the constructor and the destructor)
  Napi::Value submit(const Napi::CallbackInfo& info);
  Napi::Value pollNow(const Napi::CallbackInfo& info);
  void ref(const Napi::CallbackInfo& info);
  void unref(const Napi::CallbackInfo& info);
  void close(const Napi::CallbackInfo& info);
  void trackFd(const Napi::CallbackInfo& info);
  void untrackFd(const Napi::CallbackInfo& info);
  void closeOwnedFds(const Napi::CallbackInfo& info);
  void refreshMetrics(const Napi::CallbackInfo& info);
  // ops/<op>.cc: fill an op's per-op storage before JS stages its record
  Napi::Value prepConnect(const Napi::CallbackInfo& info);  // ops/connect.cc
  Napi::Value prepSend(const Napi::CallbackInfo& info);     // ops/send.cc
  Napi::Value prepRecv(const Napi::CallbackInfo& info);     // ops/recv.cc
  Napi::Value prepFile(const Napi::CallbackInfo& info);     // ops/file.cc
  Napi::Value prepFileVec(const Napi::CallbackInfo& info);  // ops/file.cc
  // ops/cancel.cc
  Napi::Value cancelSync(const Napi::CallbackInfo& info);
  // buf_ring.cc
  Napi::Value setupBufRing(const Napi::CallbackInfo& info);
  Napi::Value bufferAddress(const Napi::CallbackInfo& info);
  Napi::Value bufRingHead(const Napi::CallbackInfo& info);
  // huge_buffer.cc
  Napi::Value freshHugeBuffer(const Napi::CallbackInfo& info);
  // sendfile.cc
  Napi::Value openPipe(const Napi::CallbackInfo& info);
  Napi::Value sendfileNow(const Napi::CallbackInfo& info);
  Napi::Value pageCached(const Napi::CallbackInfo& info);

  Ring* ring_ = nullptr;  // owned: deleted via Ring::releaseOwner()
};

}  // namespace ringloop
