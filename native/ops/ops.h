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
bool prepAcceptMultishot(const Prep& p);  // ops/accept.cc
bool prepConnect(const Prep& p);        // ops/connect.cc
bool prepSendmsg(const Prep& p);        // ops/send.cc
bool prepSend(const Prep& p);           // ops/send.cc
bool prepRecv(const Prep& p);           // ops/recv.cc
bool prepShutdown(const Prep& p);       // ops/shutdown.cc
bool prepPollAdd(const Prep& p);        // ops/poll.cc
bool prepSplice(const Prep& p);         // ops/splice.cc

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
    case OP_ACCEPT:
      return prepAcceptMultishot(p);
    case OP_CONNECT:
      return prepConnect(p);
    case OP_SENDMSG:
      return prepSendmsg(p);
    case OP_SEND:
      return prepSend(p);
    case OP_RECV:
      return prepRecv(p);
    case OP_SHUTDOWN:
      return prepShutdown(p);
    case OP_POLL_ADD:
      return prepPollAdd(p);
    case OP_SPLICE:
      return prepSplice(p);
    default:
      return false;
  }
}

}  // namespace ringloop
