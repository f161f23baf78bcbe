// Per-op storage layouts of the stream ops, filled by RingObject::prep* before the record
// is staged and read by the prep functions in ops/{send,recv}.cc.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include "../ring.h"

namespace ringloop {

struct SendSlot {
  msghdr msg;
  iovec iov[SEND_MAX_IOV];
};

struct RecvSlot {
  void* buf;
  uint32_t len;
};

}  // namespace ringloop
