// JS errors thrown by the addon: Node-style system errors and argument errors.
#pragma once

#include <napi.h>

namespace ringloop {

// Error with code ("EPERM"), errno (negative, as Node's), syscall, and Node's message
// format: "EPERM: operation not permitted, io_uring_setup".
Napi::Error systemError(Napi::Env env, int negErrno, const char* syscall);

// Throw a TypeError / RangeError with a Node-style code (ERR_INVALID_ARG_TYPE,
// ERR_OUT_OF_RANGE); the message names the argument.
void throwTypeError(Napi::Env env, const std::string& message);
void throwRangeError(Napi::Env env, const std::string& message);

}  // namespace ringloop
