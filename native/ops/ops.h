// The ops, and the ONE dispatch from a staged record's S_OPCODE to their prep functions.
//
// One file per op, ops/<op>.cc, or per op family whose ops share their per-op storage and
// its marshalling (ops/send.cc, ops/timeout.cc, ops/file.cc: the header says why). The
// file holds all of the op's native code:
//   - its per-op storage struct, if any, private to the file (anonymous namespace);
//   - the RingObject method(s) that fill that storage before JS stages the record
//     (declared in ring_object.h; JS never calls them for a slot whose op is in flight);
//   - its prep function(s), declared below: staged record -> SQE.
// Its header comment states the opcode(s), the minimum kernel, the stage-record fields it
// reads (besides S_OPCODE / S_INDEX / S_GEN, which ring.cc reads for every op), what the op
// owns while in flight (and who keeps that alive) and what it completes with.
// Adding an op: write its file, declare its prep functions here, add their cases to prepOp().
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
bool prepSendZc(const Prep& p);         // ops/send.cc
bool prepSendmsgZc(const Prep& p);      // ops/send.cc
bool prepRecv(const Prep& p);           // ops/recv.cc
bool prepRecvmsgMultishot(const Prep& p);  // ops/recvmsg.cc
bool prepSendto(const Prep& p);         // ops/sendto.cc
bool prepShutdown(const Prep& p);       // ops/shutdown.cc
bool prepPollAdd(const Prep& p);        // ops/poll.cc
bool prepSplice(const Prep& p);         // ops/splice.cc
bool prepOpenat(const Prep& p);         // ops/file.cc
bool prepRead(const Prep& p);           // ops/file.cc
bool prepWrite(const Prep& p);          // ops/file.cc
bool prepReadv(const Prep& p);          // ops/file.cc
bool prepWritev(const Prep& p);         // ops/file.cc
bool prepStatx(const Prep& p);          // ops/file.cc
bool prepFsync(const Prep& p);          // ops/file.cc
bool prepClose(const Prep& p);          // ops/file.cc

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
    case OP_SEND_ZC:
      return prepSendZc(p);
    case OP_SENDMSG_ZC:
      return prepSendmsgZc(p);
    case OP_RECV:
      return prepRecv(p);
    case OP_RECVMSG:
      return prepRecvmsgMultishot(p);
    case OP_SENDTO:
      return prepSendto(p);
    case OP_SHUTDOWN:
      return prepShutdown(p);
    case OP_POLL_ADD:
      return prepPollAdd(p);
    case OP_SPLICE:
      return prepSplice(p);
    case OP_OPENAT:
      return prepOpenat(p);
    case OP_READ:
      return prepRead(p);
    case OP_WRITE:
      return prepWrite(p);
    case OP_READV:
      return prepReadv(p);
    case OP_WRITEV:
      return prepWritev(p);
    case OP_STATX:
      return prepStatx(p);
    case OP_FSYNC:
      return prepFsync(p);
    case OP_CLOSE:
      return prepClose(p);
    default:
      return false;
  }
}

// The kernel opcodes the cases above put in SQEs (ringloop's own record kinds, such as
// OP_SENDTO = SEND with an address, map to theirs): the ring's allowlist (setup.cc,
// IORING_REGISTER_RESTRICTIONS). Adding an op: add its kernel opcode here too, or the
// kernel refuses it with -EACCES (test/hardening.test.ts compares with src/uring/native.ts).
constexpr int kKernelOpcodes[] = {
    IORING_OP_NOP,      IORING_OP_TIMEOUT, IORING_OP_TIMEOUT_REMOVE, IORING_OP_ASYNC_CANCEL,
    IORING_OP_ACCEPT,   IORING_OP_CONNECT, IORING_OP_SENDMSG,        IORING_OP_SEND,
    IORING_OP_RECV,     IORING_OP_RECVMSG, IORING_OP_SHUTDOWN,       IORING_OP_POLL_ADD,
    IORING_OP_SPLICE,   IORING_OP_OPENAT,  IORING_OP_READ,           IORING_OP_WRITE,
    IORING_OP_READV,    IORING_OP_WRITEV,  IORING_OP_STATX,          IORING_OP_FSYNC,
    IORING_OP_CLOSE,    IORING_OP_SEND_ZC, IORING_OP_SENDMSG_ZC,
};

}  // namespace ringloop
