// statx(2) by raw syscall (kernel 4.11) for the few places that need a file's type or
// identity. Not glibc's stat/fstat: those are symbols of GLIBC_2.33 when built against a
// newer glibc, and the prebuilt addons must load on glibc 2.26 (scripts/prebuild-targets.mjs).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ringloop {

// 0 and *out filled, or -errno. Type, mode bits and inode are always asked for.
inline int statxPath(const char* path, struct statx* out) {
  long r = syscall(SYS_statx, AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_MODE | STATX_INO, out);
  return r < 0 ? -errno : 0;
}

inline int statxFd(int fd, struct statx* out) {
  long r = syscall(SYS_statx, fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_MODE | STATX_INO, out);
  return r < 0 ? -errno : 0;
}

}  // namespace ringloop
