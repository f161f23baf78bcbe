// loop.sendfile's native path on io_uring (StreamEndpoint.sendfile): picks a strategy per
// send by page-cache state and runs it to its end. The core side (file mode of the transport, argument
// checks, truncation) is src/sendfile.ts.
//
// Strategies (chosen by page-cache state from measurements: CACHE_CHECK_MIN_BYTES):
//   syscall  sendfile(2) on writability (sendfile-syscall.ts): fewest round trips, but the
//            file is read on the loop's thread
//   splice   file -> pipe -> socket with IORING_OP_SPLICE (sendfile-splice.ts): the reads
//            run in io_uring's workers, one ring round trip per hop
import { SpliceSend } from "./sendfile-splice.js";
import { SyscallSend } from "./sendfile-syscall.js";
import { fileSendStats, type FileSend, type FileSendContext, type FileSendDone } from "./sendfile-op.js";

export { fileSendStats, type FileSend, type FileSendContext };

/**
 * The choice ("auto"): sendfile(2), unless the first page to send is NOT in the page cache
 * (NativeRing.pageCached: preadv2 RWF_NOWAIT), then splice. Sends smaller than
 * CACHE_CHECK_MIN_BYTES skip the check (one disk read of them blocks the loop briefly).
 * Measured (perf/sendfile-bench.mjs, loopback TCP, server and reader pinned to one core
 * each, 5 rounds, medians, shared 2-core machine), warm page cache, MB/s splice / sendfile(2):
 *   4 KiB 46 / 73, 64 KiB 632 / 806, 1 MiB 1797 / 2511, 256 MiB 1265 / 1362
 * (sendfile(2) saves splice's two io-wq hand-offs per chunk); `ringloop serve` 256 MiB with
 * curl, 2 x 5 downloads alternated: sendfile(2) 2850 / 2717 MB/s at 375 / 383 us CPU per MiB,
 * splice 2082 / 2543 MB/s at 477 / 375 us (nginx 2794 / 2257 at 375 / 383). Cold page cache,
 * 256 MiB: 894 / 813 MB/s, and the worst 1 ms-timer delay in the loop 5.3 / 7.8 ms:
 * sendfile(2) reads the disk on the loop's thread, splice in io_uring's workers.
 */
export const CACHE_CHECK_MIN_BYTES = 64 * 1024;

export type Strategy = "auto" | "splice" | "syscall";
let forced: Strategy = "auto";

/** @internal For the benchmark and tests: force one strategy ("auto": by page-cache state). */
export function _setSendfileStrategy(s: Strategy): void {
  forced = s;
}

export function startFileSend(ctx: FileSendContext, sock: number, file: number, offset: number, count: number, done: FileSendDone): FileSend {
  const splice = forced === "splice" || (forced === "auto" && count >= CACHE_CHECK_MIN_BYTES && ctx.ring.native.pageCached(file, offset) === 0);
  if (splice) fileSendStats.splice++;
  else fileSendStats.syscall++;
  return splice ? new SpliceSend(ctx, sock, file, offset, count, done) : new SyscallSend(ctx, sock, file, offset, count, done);
}
