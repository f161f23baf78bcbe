#pragma once

#include <napi.h>

namespace ringloop {

Napi::Value probe(const Napi::CallbackInfo& info);
Napi::Object buildInfo(Napi::Env env);

}  // namespace ringloop
