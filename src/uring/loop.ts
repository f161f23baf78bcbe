// UringEventLoop: the asyncio loop over io_uring (UringProactor).
import * as os from "node:os";
import { BaseEventLoop } from "../base-events.js";
import { UringProactor } from "./proactor.js";
import { DEFAULT_RING_CONFIG } from "./ring.js";
import { DEFAULT_DGRAM_BUF_COUNT, DEFAULT_DGRAM_BUF_SIZE, RECV_HEADER_BYTES } from "./datagram.js";
import { DEFAULT_ZERO_COPY_MIN } from "./stream.js";
import { argRangeError, argTypeError } from "../validate.js";

/** Largest busyPollUs (the native Ring checks the same bound, kMaxBusyPollUs in ring_object.cc). */
const BUSY_POLL_MAX_US = 1000;

export interface UringLoopOptions {
  /** SQ entries (power of two, 1..32768; default 4096). */
  entries?: number;
  /** Op table size: operations in flight at once (default 32768). */
  maxOps?: number;
  /** Provided receive buffers shared by all connections (power of two, default 512). */
  bufCount?: number;
  /** Bytes per receive buffer (default 16384). */
  bufSize?: number;
  /**
   * After a wake-up that delivered completions, keep watching the ring this many
   * microseconds before sleeping in libuv's poll (0..1000, default 50; 0 = off; a
   * completion restarts the window, and one wake-up's poll ends after 500 us at most, the
   * native kBusyPollMaxNs). A reply arriving within it costs no sleep and wake-up; the
   * price is up to this much CPU spent spinning after the last completion of a burst.
   * Default 0 on a machine with one CPU, where the spin would only hold off whoever is to
   * answer.
   */
  busyPollUs?: number;
  /** Datagram receive buffers shared by all datagram endpoints (power of two, 1..32768, default 64). */
  dgramBufCount?: number;
  /**
   * Largest datagram payload received whole, in bytes (default 65536: any UDP datagram;
   * 1..16777088). A larger datagram is dropped and reported to errorReceived as EMSGSIZE
   * with its real `size` (README, Datagrams).
   */
  dgramBufSize?: number;
  /**
   * Writes to a TCP socket of at least this many bytes go by IORING_OP_SEND_ZC (zero copy:
   * the kernel sends from the write's staging memory, which stays lent to it until the
   * completion's notification); 0 = never. Default DEFAULT_ZERO_COPY_MIN (README, zc-bench).
   * Kernels without SEND_ZC / SENDMSG_ZC (before 6.1) never use it.
   */
  zeroCopyMin?: number;
}

export class UringEventLoop extends BaseEventLoop {
  /** @internal */ declare readonly _proactor: UringProactor;

  constructor(opts: UringLoopOptions = {}) {
    if (opts === null || typeof opts !== "object") throw argTypeError("The \"opts\" argument must be an object");
    const { bufCount = DEFAULT_RING_CONFIG.bufCount, bufSize = DEFAULT_RING_CONFIG.bufSize, busyPollUs = defaultBusyPollUs() } = opts;
    const { dgramBufCount = DEFAULT_DGRAM_BUF_COUNT, dgramBufSize = DEFAULT_DGRAM_BUF_SIZE, zeroCopyMin = DEFAULT_ZERO_COPY_MIN } = opts;
    for (const [name, v] of [["bufCount", bufCount], ["bufSize", bufSize], ["busyPollUs", busyPollUs], ["dgramBufCount", dgramBufCount], ["dgramBufSize", dgramBufSize], ["zeroCopyMin", zeroCopyMin]] as const) {
      if (typeof v !== "number") throw argTypeError(`The "opts.${name}" property must be of type number. Received type ${typeof v}`);
    }
    if (!Number.isInteger(bufCount) || bufCount < 1 || bufCount > 32768 || (bufCount & (bufCount - 1)) !== 0) {
      throw argRangeError(`The "opts.bufCount" property must be a power of two >= 1 and <= 32768. Received ${String(bufCount)}`);
    }
    if (!Number.isInteger(bufSize) || bufSize < 1 || bufSize > 1 << 24) {
      throw argRangeError(`The "opts.bufSize" property must be an integer >= 1 and <= 16777216. Received ${String(bufSize)}`);
    }
    if (!Number.isInteger(dgramBufCount) || dgramBufCount < 1 || dgramBufCount > 32768 || (dgramBufCount & (dgramBufCount - 1)) !== 0) {
      throw argRangeError(`The "opts.dgramBufCount" property must be a power of two >= 1 and <= 32768. Received ${String(dgramBufCount)}`);
    }
    if (!Number.isInteger(dgramBufSize) || dgramBufSize < 1 || dgramBufSize > (1 << 24) - RECV_HEADER_BYTES) {
      throw argRangeError(`The "opts.dgramBufSize" property must be an integer >= 1 and <= ${(1 << 24) - RECV_HEADER_BYTES}. Received ${String(dgramBufSize)}`);
    }
    if (!Number.isInteger(zeroCopyMin) || zeroCopyMin < 0) {
      throw argRangeError(`The "opts.zeroCopyMin" property must be an integer >= 0 (bytes; 0 = never). Received ${String(zeroCopyMin)}`);
    }
    if (!Number.isInteger(busyPollUs) || busyPollUs < 0 || busyPollUs > BUSY_POLL_MAX_US) {
      throw argRangeError(`The "opts.busyPollUs" property must be an integer >= 0 and <= ${BUSY_POLL_MAX_US}. Received ${String(busyPollUs)}`);
    }
    super(
      new UringProactor({
        entries: opts.entries ?? DEFAULT_RING_CONFIG.entries,
        maxOps: opts.maxOps ?? DEFAULT_RING_CONFIG.maxOps,
        busyPollUs,
        bufCount,
        bufSize,
        dgramBufCount,
        dgramBufSize,
        zeroCopyMin,
      }),
    );
  }

  /** The busy poll in effect, in microseconds (options.busyPollUs or its default). */
  get busyPollUs(): number {
    return this._proactor.config.busyPollUs ?? DEFAULT_RING_CONFIG.busyPollUs;
  }

  /** io_uring setup flags this loop's ring runs with. */
  get ringFlags(): string[] {
    return this._proactor.flags;
  }
}

/**
 * RINGLOOP_BUSY_POLL_US when set (for loops made by a policy or the CLI), else 50 us
 * (DEFAULT_RING_CONFIG), or 0 when the machine has a single CPU (see busyPollUs).
 */
function defaultBusyPollUs(): number {
  const env = process.env.RINGLOOP_BUSY_POLL_US;
  if (env !== undefined && env !== "") {
    if (!/^\d{1,4}$/.test(env) || Number(env) > BUSY_POLL_MAX_US) {
      throw argRangeError(`RINGLOOP_BUSY_POLL_US must be an integer >= 0 and <= ${BUSY_POLL_MAX_US}. Received "${env}"`);
    }
    return Number(env);
  }
  return os.cpus().length > 1 ? DEFAULT_RING_CONFIG.busyPollUs : 0;
}
