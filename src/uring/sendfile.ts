// loop.sendfile's native path on io_uring (StreamEndpoint.sendfile): picks a strategy per
// send by size and runs it to its end. The core side (file mode of the transport, argument
// checks, truncation) is src/sendfile.ts.
//
// Strategies (measured: perf/sendfile-bench.mjs over loopback TCP, see SPLICE_MIN_BYTES):
//   syscall  sendfile(2) on writability (sendfile-syscall.ts): fewest round trips, but the
//            file is read on the loop's thread
//   splice   file -> pipe -> socket with IORING_OP_SPLICE (sendfile-splice.ts): the reads
//            run in io_uring's workers, one ring round trip per hop
import type { Ring } from "./ring.js";
import type { PipePool } from "./sendfile-pipes.js";
import { SpliceSend } from "./sendfile-splice.js";
import { SyscallSend } from "./sendfile-syscall.js";

/** What a file send needs from its loop. */
export interface FileSendContext {
  readonly ring: Ring;
  pipes(): PipePool;
}

/** `sent` bytes reached the socket; `err` null with sent < count = the file ended early. */
export type FileSendDone = (sent: number, err: Error | null) => void;

export interface FileSend {
  /** Cancels the op in flight; done() still runs, after its final CQE. */
  cancel(): void;
  /** The ring is closed (no op can still complete): release what is held, report nothing. */
  forceRelease(): void;
}

/**
 * Sends of at least this many bytes use splice, smaller ones sendfile(2).
 * TODO(bench): set from perf/sendfile-bench.mjs.
 */
export const SPLICE_MIN_BYTES = 1024 * 1024;

/** Counters for tests and profiling (process-wide). */
export const fileSendStats = { splice: 0, syscall: 0, splicePolls: 0, syscallPolls: 0, shortSplices: 0 };

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
