#include "errors.h"

#include <uv.h>

namespace ringloop {

// libuv error codes are -errno on Unix, so uv_err_name / uv_strerror give Node's names.
Napi::Error systemError(Napi::Env env, int negErrno, const char* syscall) {
  std::string code = uv_err_name(negErrno);
  std::string message = code + ": " + uv_strerror(negErrno) + ", " + syscall;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, negErrno));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void throwTypeError(Napi::Env env, const std::string& message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message.c_str());
}

void throwRangeError(Napi::Env env, const std::string& message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message.c_str());
}

}  // namespace ringloop
