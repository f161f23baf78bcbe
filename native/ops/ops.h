// Per-opcode prep functions, one file per op family (ops/<family>.cc), and the ONE
// dispatch from a staged record's S_OPCODE to them. Adding a family: write its file,
// declare its prep functions here, add their cases to prepOp().
#pragma once

#include "../ring.h"

namespace ringloop {

bool prepNop(const Prep& p);            // ops/nop.cc
bool prepTimeout(const Prep& p);        // ops/timeout.cc
bool prepTimeoutRemove(const Prep& p);  // ops/timeout.cc
bool prepAsyncCancel(const Prep& p);    // ops/cancel.cc

// false: unknown opcode or invalid record (the ring completes it with -EINVAL).
inline bool prepOp(const Prep& p) {
  switch (p.rec[S_OPCODE]) {
    case OP_NOP:
      return prepNop(p);
    case OP_TIMEOUT:
      return prepTimeout(p);
    case OP_TIMEOUT_REMOVE:
      return prepTimeoutRemove(p);
    case OP_ASYNC_CANCEL:
      return prepAsyncCancel(p);
    default:
      return false;
  }
}

}  // namespace ringloop
