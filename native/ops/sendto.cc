// IORING_OP_SEND for ONE datagram with its destination address (sendto: the address in
// sqe->addr2 / addr_len, kernel 6.0; cheaper than SENDMSG, which copies a msghdr and imports
// an iovec per datagram). Staged as the ringloop record kind OP_SENDTO (the kernel opcode
// SEND in its low byte), so no native call is made per datagram: JS copies the address and
// the payload into its send arena (src/uring/dgram-arena.ts) and the record says where.
//
// Record: S_FD = a datagram socket, S_FLAGS = msg flags (JS adds MSG_NOSIGNAL), S_LEN =
// payload bytes, S_OFF_LO / S_OFF_HI = address of the region (64 bits), S_NAME_LEN = bytes
// of sockaddr at the start of the region (0: no address, the connected peer; at most
// sizeof(sockaddr_un)); the payload follows at the next 8-byte boundary.
// Per-op storage: none (the SQE points into the region).
// Owns while in flight: the region, which the JS arena keeps referenced (a chunk Buffer
// whose address JS got from ring.bufferAddress) until this op's final CQE.
// Completes with: the bytes sent or -errno (EACCES: broadcast without SO_BROADCAST,
// ECONNREFUSED: an earlier ICMP error on a connected socket, EMSGSIZE, ...).
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>

#include "ops.h"

namespace ringloop {

bool prepSendto(const Prep& p) {
  uint64_t addr = uint64_t(uint32_t(p.rec[S_OFF_LO])) | (uint64_t(uint32_t(p.rec[S_OFF_HI])) << 32);
  int len = p.rec[S_LEN];
  int namelen = p.rec[S_NAME_LEN];
  if (addr == 0 || len < 0 || namelen < 0 || namelen > int(sizeof(sockaddr_un))) return false;
  auto* region = reinterpret_cast<unsigned char*>(uintptr_t(addr));
  io_uring_prep_send(p.sqe, p.rec[S_FD], region + ((unsigned(namelen) + 7u) & ~7u), size_t(len), int(p.rec[S_FLAGS]));
  if (namelen > 0) io_uring_prep_send_set_addr(p.sqe, reinterpret_cast<const sockaddr*>(region), uint16_t(namelen));
  return true;
}

}  // namespace ringloop
