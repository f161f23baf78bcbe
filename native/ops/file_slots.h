// Per-op storage layout of the file ops, filled by RingObject::prepFile / prepFileVec
// (native/ring_file.cc) before the record is staged and read by ops/file.cc.
//
// Ownership: every pointer here points into memory the JS op record keeps referenced
// until the op's final CQE (the NUL-terminated path, the data buffer, the struct statx
// buffer, the iovec array and the buffers it points to). The slot itself only holds
// pointers: a path (up to PATH_MAX) or an iovec array does not fit in kOpSlotBytes.
#pragma once

#include <sys/uio.h>

#include <cstdint>

#include "../ring.h"

namespace ringloop {

struct FileSlot {
  const char* path;  // OPENAT, STATX: NUL-terminated
  void* buf;         // READ / WRITE data; STATX: struct statx (>= sizeof(struct statx))
  uint32_t len;      // bytes of buf
  uint32_t nr;       // READV / WRITEV: iovecs in iov
  iovec* iov;        // READV / WRITEV
};

}  // namespace ringloop
