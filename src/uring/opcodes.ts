// Opcodes the io_uring backend needs from the kernel (checked by the default policy's
// probe). Each later op family adds its opcodes here; an opcode listed in OPTIONAL_OPCODES
// may be missing, and that op alone falls back (DESIGN.md, Backend choice).
export const NEEDED_OPCODES = [
  "NOP", "TIMEOUT", "TIMEOUT_REMOVE", "ASYNC_CANCEL",
  // streams: multishot ACCEPT 5.19, multishot RECV with a buffer ring 6.0
  "ACCEPT", "CONNECT", "RECV", "SEND", "SENDMSG", "SHUTDOWN", "POLL_ADD",
  // datagrams: multishot RECVMSG with a buffer ring 6.0, SEND with a destination address 6.0 (above)
  "RECVMSG",
  // loop.sendfile's native path: SPLICE 5.7
  "SPLICE",
  // files: READV/WRITEV/FSYNC 5.1, OPENAT/CLOSE/STATX/READ/WRITE 5.6
  "OPENAT", "CLOSE", "READ", "WRITE", "READV", "WRITEV", "STATX", "FSYNC",
] as const;
export const OPTIONAL_OPCODES = [] as const;
