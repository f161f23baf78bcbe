// Synchronous socket syscalls (they never block on non-blocking sockets, so they do not
// go through the ring). Every function returns >= 0 or -errno; src/addon.ts (check) turns
// -errno into a system error. Contract: src/addon.ts, NativeSockets.
#pragma once

#include <napi.h>

namespace ringloop {

Napi::Object socketFunctions(Napi::Env env);

}  // namespace ringloop
