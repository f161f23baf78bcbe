// Plain fd syscalls (dup, O_NONBLOCK) for the pipe transports. Contract: src/addon.ts, NativeFds.
#pragma once

#include <napi.h>

namespace ringloop {

Napi::Object fdFunctions(Napi::Env env);

}  // namespace ringloop
