// new Ring({entries, maxOps, onCompletions}): argument checks, io_uring setup, the shared
// typed arrays, and the methods. Instance properties are read-only data properties (the
// hot path reads them once). The typed arrays sit on V8-allocated ArrayBuffers that the
// Ring object holds; the object itself is held by native code until the ring is Closed,
// so the memory native code writes outlives every native write. After close() the
// arrays stay readable but are no longer used.
#include "ring_object.h"

#include <algorithm>
#include <string>

#include "errors.h"
#include "ring.h"

namespace ringloop {

namespace {

constexpr uint32_t kMaxEntries = 32768;   // IORING_MAX_ENTRIES
constexpr uint32_t kMaxOps = 1u << 24;    // indexes stay far below NO_OP_INDEX
constexpr uint32_t kMaxBusyPollUs = 1000;

// Node's "Received ..." wording: the value for primitives, the type otherwise.
std::string describe(Napi::Value v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_number: return v.ToString().Utf8Value();
    case napi_boolean: return v.As<Napi::Boolean>().Value() ? "true" : "false";
    case napi_string: return "type string ('" + v.As<Napi::String>().Utf8Value() + "')";
    case napi_function: return "function";
    case napi_symbol: return "type symbol";
    case napi_bigint: return "type bigint";
    default: return "an instance of Object";
  }
}

// Reads options[name] as an integer in [min, max]; throws and returns false otherwise.
bool readInt(Napi::Object options, const char* name, uint32_t min, uint32_t max,
             bool powerOfTwo, uint32_t* out) {
  Napi::Env env = options.Env();
  Napi::Value v = options.Get(name);
  if (env.IsExceptionPending()) return false;
  if (!v.IsNumber()) {
    throwTypeError(env, std::string("The \"options.") + name +
                            "\" property must be of type number. Received " + describe(v));
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  bool ok = d >= min && d <= max && d == double(uint32_t(d));
  if (ok && powerOfTwo) ok = (uint32_t(d) & (uint32_t(d) - 1)) == 0;
  if (!ok) {
    throwRangeError(env, std::string("The \"options.") + name + "\" property must be " +
                             (powerOfTwo ? "a power of two" : "an integer") + " >= " +
                             std::to_string(min) + " and <= " + std::to_string(max) +
                             ". Received " + describe(v));
    return false;
  }
  *out = uint32_t(d);
  return true;
}

Napi::Float64Array float64Array(Napi::Env env, size_t length, double** data) {
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, length * sizeof(double));
  *data = static_cast<double*>(buffer.Data());
  std::fill(*data, *data + length, 0.0);
  return Napi::Float64Array::New(env, length, buffer, 0);
}

Napi::Int32Array int32Array(Napi::Env env, size_t length, int32_t** data) {
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, length * sizeof(int32_t));
  *data = static_cast<int32_t*>(buffer.Data());
  return Napi::Int32Array::New(env, length, buffer, 0);
}

}  // namespace

Napi::Function RingObject::define(Napi::Env env) {
  return DefineClass(env, "Ring",
                     {
                         InstanceMethod<&RingObject::submit>("submit"),
                         InstanceMethod<&RingObject::pollNow>("pollNow"),
                         InstanceMethod<&RingObject::ref>("ref"),
                         InstanceMethod<&RingObject::unref>("unref"),
                         InstanceMethod<&RingObject::close>("close"),
                         InstanceMethod<&RingObject::trackFd>("trackFd"),
                         InstanceMethod<&RingObject::untrackFd>("untrackFd"),
                         InstanceMethod<&RingObject::closeOwnedFds>("closeOwnedFds"),
                         InstanceMethod<&RingObject::refreshMetrics>("refreshMetrics"),
                         InstanceMethod<&RingObject::bufRingHead>("bufRingHead"),
                         InstanceMethod<&RingObject::prepConnect>("prepConnect"),
                         InstanceMethod<&RingObject::prepSend>("prepSend"),
                         InstanceMethod<&RingObject::prepRecv>("prepRecv"),
                         InstanceMethod<&RingObject::setupBufRing>("setupBufRing"),
                         InstanceMethod<&RingObject::bufferAddress>("bufferAddress"),
                         InstanceMethod<&RingObject::cancelSync>("cancelSync"),
                         InstanceMethod<&RingObject::openPipe>("openPipe"),
                         InstanceMethod<&RingObject::sendfileNow>("sendfileNow"),
                         InstanceMethod<&RingObject::pageCached>("pageCached"),
                         InstanceMethod<&RingObject::freshHugeBuffer>("freshHugeBuffer"),
                         InstanceMethod<&RingObject::prepFile>("prepFile"),
                         InstanceMethod<&RingObject::prepFileVec>("prepFileVec"),
                     });
}

RingObject::RingObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingObject>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throwTypeError(env, "The \"options\" argument must be of type object. Received " +
                            describe(info[0]));
    return;
  }
  Napi::Object options = info[0].As<Napi::Object>();
  uint32_t entries = 0, maxOps = 0;
  if (!readInt(options, "entries", 1, kMaxEntries, true, &entries)) return;
  if (!readInt(options, "maxOps", 1, kMaxOps, false, &maxOps)) return;
  uint32_t busyPollUs = 0;
  if (!readInt(options, "busyPollUs", 0, kMaxBusyPollUs, false, &busyPollUs)) return;
  Napi::Value onCompletions = options.Get("onCompletions");
  if (env.IsExceptionPending()) return;
  if (!onCompletions.IsFunction()) {
    throwTypeError(env,
                   "The \"options.onCompletions\" property must be of type function. Received " +
                       describe(onCompletions));
    return;
  }

  SetupResult setup;
  ring_ = Ring::create(entries, maxOps, &setup);
  if (!ring_) {
    Napi::Error err = systemError(env, setup.err, "io_uring_setup");
    if (setup.setuidRefused) {
      err.Set("message", Napi::String::New(env,
          "ringloop refuses to set up io_uring in a setuid/setgid process (effective ids differ "
          "from the real ones: io_uring work could run with credentials the process meant to "
          "drop, CVE-2024-22017); use the fallback backend"));
      err.Set("code", Napi::String::New(env, "ERR_URING_SETUID"));
    }
    err.ThrowAsJavaScriptException();
    return;
  }
  ring_->setBusyPollNs(int64_t(busyPollUs) * 1000);

  int32_t *stage, *completions, *control;
  double* metrics;
  Napi::Object self = info.This().As<Napi::Object>();
  auto readOnly = static_cast<napi_property_attributes>(napi_enumerable);
  self.DefineProperties({
      Napi::PropertyDescriptor::Value(
          "stage", int32Array(env, size_t(entries) * STAGE_RECORD_INTS, &stage), readOnly),
      Napi::PropertyDescriptor::Value("stageCapacity", Napi::Number::New(env, entries),
                                      readOnly),
      Napi::PropertyDescriptor::Value(
          "completions",
          int32Array(env, size_t(ring_->completionCapacity()) * COMPLETION_RECORD_INTS,
                     &completions),
          readOnly),
      Napi::PropertyDescriptor::Value("completionCapacity",
                                      Napi::Number::New(env, ring_->completionCapacity()),
                                      readOnly),
      Napi::PropertyDescriptor::Value("metrics", float64Array(env, METRIC_SLOTS, &metrics), readOnly),
      Napi::PropertyDescriptor::Value("control", int32Array(env, CONTROL_INTS, &control),
                                      readOnly),
      Napi::PropertyDescriptor::Value("flags", setupFlagNames(env, setup.flags), readOnly),
      Napi::PropertyDescriptor::Value("fd", Napi::Number::New(env, ring_->fd()), readOnly),
  });
  if (env.IsExceptionPending()) return;  // ~RingObject closes the ring

  if (!ring_->attach(env, self, onCompletions.As<Napi::Function>(), stage, completions,
                     control, metrics)) {
    if (!env.IsExceptionPending()) {
      Napi::Error::New(env, "ringloop: cannot attach the ring to the libuv loop")
          .ThrowAsJavaScriptException();
    }
  }
}

RingObject::~RingObject() {
  if (ring_) ring_->releaseOwner();
}

Napi::Value RingObject::submit(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ring_->flush());
}

Napi::Value RingObject::pollNow(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ring_->pollNow());
}

void RingObject::ref(const Napi::CallbackInfo&) { ring_->ref(); }

void RingObject::unref(const Napi::CallbackInfo&) { ring_->unref(); }

void RingObject::close(const Napi::CallbackInfo&) { ring_->close(); }

void RingObject::trackFd(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) ring_->trackFd(info[0].As<Napi::Number>().Int32Value());
}

void RingObject::untrackFd(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) ring_->untrackFd(info[0].As<Napi::Number>().Int32Value());
}

void RingObject::closeOwnedFds(const Napi::CallbackInfo&) { ring_->closeOwnedFds(); }

void RingObject::refreshMetrics(const Napi::CallbackInfo&) { ring_->refreshMetrics(); }

}  // namespace ringloop
