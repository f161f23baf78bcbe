// loop.metrics() on io_uring: the native ring's counters (native/ring.cc adds them to a
// shared Float64Array; read here with no native call but refreshMetrics for the one the
// kernel keeps), the ops in flight by opcode (the op table), and the per-thread counters of
// the endpoints (every slower path an op took, by what and why).
import type { LoopMetrics } from "../events.js";
import * as native from "./native.js";
import type { Ring } from "./ring.js";
import type { BufRing } from "./bufring.js";
import { streamStats } from "./stream.js";
import { datagramStats } from "./datagram.js";
import { fileSendStats } from "./sendfile-op.js";

/** IORING_OP_* number (and ringloop's own record kinds) -> name, from native.ts's OP_ constants. */
const OPCODE_NAMES = new Map<number, string>(
  Object.entries(native)
    .filter(([k, v]) => k.startsWith("OP_") && typeof v === "number")
    .map(([k, v]) => [v as number, k.slice(3)]),
);

export function uringMetrics(ring: Ring, closed: boolean, timers: number, bufRings: BufRing[]): Omit<LoopMetrics, "backend"> {
  const byKind: Record<string, number> = {};
  let inFlight = 0;
  if (!closed) {
    ring.native.refreshMetrics();
    for (const [op, n] of ring.opsByOpcode()) {
      // The loop's own wake-up timer is not an operation of the program (as pendingOps()).
      const count = op === native.OP_TIMEOUT ? n - timers : n;
      if (count <= 0) continue;
      const name = OPCODE_NAMES.get(op) ?? `opcode ${op}`;
      byKind[name] = (byKind[name] ?? 0) + count;
      inFlight += count;
    }
  }
  const m = ring.native.metrics;
  return {
    opsInFlight: inFlight,
    opsInFlightByKind: byKind,
    uring: {
      sqesSubmitted: m[native.M_SQES_SUBMITTED],
      cqesReaped: m[native.M_CQES_REAPED],
      enterCalls: m[native.M_ENTER_CALLS],
      wakeups: m[native.M_WAKEUPS],
      busyPollHits: ring.spinHits,
      cqOverflows: m[native.M_CQ_OVERFLOWS],
      cqDropped: m[native.M_CQ_DROPPED],
      sqFull: m[native.M_SQ_FULL],
      enobufsRearms: streamStats.noBufs + datagramStats.noBufs,
      zeroCopySends: streamStats.zeroCopySends,
      fallbacks: {
        "RECV multishot -> single RECV (buffer ring empty: ENOBUFS)": streamStats.noBufs,
        "SEND -> POLL_ADD, then SEND again (EAGAIN on a full AF_UNIX peer)": streamStats.sendPolls,
        "SEND short -> SEND of the rest": streamStats.shortSends,
        "sendfile(2) -> POLL_ADD (socket full)": fileSendStats.syscallPolls,
        "SPLICE -> POLL_ADD (socket full)": fileSendStats.splicePolls,
        "SPLICE short -> SPLICE of the rest": fileSendStats.shortSplices,
        "RECVMSG multishot re-armed (it ended: ENOBUFS or the kernel's own limit)": datagramStats.rearms,
        "SENDTO queued behind the per-endpoint limit": datagramStats.queuedSends,
        "SEND_ZC -> SEND (the socket refused zero copy: EOPNOTSUPP)": streamStats.zeroCopyRefused,
      },
      bufRings: bufRings.map((b) => ({ group: b.group, count: b.count, size: b.size, inKernel: closed ? null : b.inKernel() })),
    },
  };
}
