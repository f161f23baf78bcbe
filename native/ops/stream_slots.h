// Per-op storage layout of RECV, filled by RingObject::prep* before the record
// is staged and read by the prep functions in ops/recv.cc.
#pragma once

#include <cstdint>

#include "../ring.h"

namespace ringloop {

struct RecvSlot {
  void* buf;
  uint32_t len;
};

}  // namespace ringloop
