// asyncio's write buffer limits (_FlowControlMixin._set_write_buffer_limits), shared by the
// stream and datagram transports: high defaults to 64 KiB (or 4 * low), low to high / 4;
// both must be numbers >= 0 and high >= low.
import { describeType } from "../validate.js";

export const DEFAULT_HIGH_WATER = 64 * 1024;

/** The [high, low] marks setWriteBufferLimits(high?, low?) sets; TypeError/RangeError naming the argument. */
export function writeBufferLimits(high?: number | null, low?: number | null): [high: number, low: number] {
  if (high !== undefined && high !== null) checkLimit(high, "high");
  if (low !== undefined && low !== null) checkLimit(low, "low");
  if (high === undefined || high === null) high = low === undefined || low === null ? DEFAULT_HIGH_WATER : 4 * low;
  if (low === undefined || low === null) low = Math.floor(high / 4);
  if (!(high >= low && low >= 0)) throw new RangeError(`high (${high}) must be >= low (${low}) must be >= 0`);
  return [high, low];
}

function checkLimit(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`The "${name}" argument must be a number. Received ${describeType(value)}`);
  }
  if (value < 0) throw new RangeError(`The "${name}" argument must be >= 0. Received ${value}`);
}
