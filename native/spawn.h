// Child processes (posix_spawn + pidfd) for the io_uring backend's subprocesses.
// Contract: src/addon.ts, NativeChildren.
#pragma once

#include <signal.h>

#include <napi.h>

namespace ringloop {

Napi::Object childFunctions(Napi::Env env);

// asyncio's returncode from a waitid() result: the exit status, or -(signal number).
int returncodeOf(const siginfo_t& si);

}  // namespace ringloop
