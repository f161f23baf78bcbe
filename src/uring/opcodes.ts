// Opcodes the io_uring backend needs from the kernel (checked by the default policy's
// probe). Each later op family adds its opcodes here; an opcode listed in OPTIONAL_OPCODES
// may be missing, and that op alone falls back (DESIGN.md, Backend choice).
import { probeOnce } from "../addon.js";

export const NEEDED_OPCODES = [
  "NOP", "TIMEOUT", "TIMEOUT_REMOVE", "ASYNC_CANCEL",
  // streams: multishot ACCEPT 5.19, multishot RECV with a buffer ring 6.0
  "ACCEPT", "CONNECT", "RECV", "SEND", "SENDMSG", "SHUTDOWN", "POLL_ADD",
  // datagrams: multishot RECVMSG with a buffer ring 6.0, SEND with a destination address 6.0 (above)
  "RECVMSG",
  // loop.sendfile's native path: SPLICE 5.7
  "SPLICE",
  // files: READV/WRITEV/FSYNC 5.1, OPENAT/CLOSE/STATX/READ/WRITE 5.6 (pipes: READ, WRITE, WRITEV)
  "OPENAT", "CLOSE", "READ", "WRITE", "READV", "WRITEV", "STATX", "FSYNC",
] as const;

// Kernel 6.7. Without READ_MULTISHOT pipes read with single-shot READ (src/uring/pipe.ts);
// without WAITID a child's exit is watched with POLL_ADD on its pidfd (src/uring/child.ts).
export const OPTIONAL_OPCODES = ["READ_MULTISHOT", "WAITID"] as const;
export type OptionalOpcode = (typeof OPTIONAL_OPCODES)[number];

/**
 * The optional opcodes a new proactor uses: those the kernel has (probed once, probeOnce),
 * minus the ones named in RINGLOOP_URING_WITHOUT (comma-separated, read for each new
 * proactor), so the fallback path of an op can be run on a kernel that has the op.
 */
export function optionalOpcodes(): Record<OptionalOpcode, boolean> {
  const probed = probeOnce()?.opcodes ?? {};
  const without = new Set((process.env.RINGLOOP_URING_WITHOUT ?? "").split(",").map((s) => s.trim()));
  const out = {} as Record<OptionalOpcode, boolean>;
  for (const op of OPTIONAL_OPCODES) out[op] = probed[op] === true && !without.has(op);
  return out;
}
