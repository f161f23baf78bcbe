// Child processes (clone + execve, then a pidfd) for the io_uring backend's subprocesses.
// Contract: src/addon.ts, NativeChildren.
#pragma once

#include <signal.h>

#include <napi.h>

namespace ringloop {

Napi::Object childFunctions(Napi::Env env);

// asyncio's returncode from a waitid() result: the exit status, or -(signal number).
int returncodeOf(const siginfo_t& si);

// SIGKILL through the pidfd, then wait (at most kReapOnCloseMs) for the exit and reap it.
// For children still running when their loop goes away (Ring::closeOwnedFds, and the
// proactor's close through reap()). The pidfd stays open: the caller closes it.
constexpr int kReapOnCloseMs = 1000;
void killAndReap(int pidfd);

}  // namespace ringloop
