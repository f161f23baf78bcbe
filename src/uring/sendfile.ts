// loop.sendfile's native path on io_uring (StreamEndpoint.sendfile): picks a strategy per
// send by size and runs it to its end. The core side (file mode of the transport, argument
// checks, truncation) is src/sendfile.ts.
//
// Strategies (chosen by size from measurements: SPLICE_MIN_BYTES):
//   syscall  sendfile(2) on writability (sendfile-syscall.ts): fewest round trips, but the
//            file is read on the loop's thread
//   splice   file -> pipe -> socket with IORING_OP_SPLICE (sendfile-splice.ts): the reads
//            run in io_uring's workers, one ring round trip per hop
import { SpliceSend } from "./sendfile-splice.js";
import { SyscallSend } from "./sendfile-syscall.js";
import { fileSendStats, type FileSend, type FileSendContext, type FileSendDone } from "./sendfile-op.js";

export { fileSendStats, type FileSend, type FileSendContext };

/**
 * Sends of at least this many bytes use splice, smaller ones sendfile(2).
 * perf/sendfile-bench.mjs (loopback TCP, server and reader pinned to one core each, 5 rounds,
 * medians, shared 2-core machine), warm page cache, MB/s splice / sendfile(2):
 *   4 KiB 46 / 73, 64 KiB 632 / 806, 1 MiB 1797 / 2511, 256 MiB 1265 / 1362
 * (sendfile(2) saves splice's two io-wq hand-offs per chunk). Cold page cache, 256 MiB:
 * 894 / 813 MB/s, and the worst 1 ms-timer delay in the loop 5.3 / 7.8 ms (sendfile(2)
 * reads the disk on the loop's thread; splice in io_uring's workers). So sendfile(2) for
 * everything that is likely cached, splice from 256 MiB on, where a miss is likely and the
 * warm gap is within the machine's noise.
 */
export const SPLICE_MIN_BYTES = 256 * 1024 * 1024;

export type Strategy = "auto" | "splice" | "syscall";
let forced: Strategy = "auto";

/** @internal For the benchmark and tests: force one strategy ("auto" = by size). */
export function _setSendfileStrategy(s: Strategy): void {
  forced = s;
}

export function startFileSend(ctx: FileSendContext, sock: number, file: number, offset: number, count: number, done: FileSendDone): FileSend {
  const splice = forced === "splice" || (forced === "auto" && count >= SPLICE_MIN_BYTES);
  if (splice) fileSendStats.splice++;
  else fileSendStats.syscall++;
  return splice ? new SpliceSend(ctx, sock, file, offset, count, done) : new SyscallSend(ctx, sock, file, offset, count, done);
}
