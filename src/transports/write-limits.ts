// asyncio's write flow control (_FlowControlMixin), shared by the stream and the datagram
// transport: the marks (high defaults to 64 KiB or 4 * low, low to high / 4; numbers >= 0,
// high >= low), and the rule: pauseWriting() once when the write buffer rises above high,
// resumeWriting() once when it falls to low or below. A protocol method that throws is
// reported to the exception handler ("protocol.pauseWriting() failed"), never raised.
import type { BaseProtocol } from "../protocols.js";
import type { ExceptionContext } from "../events.js";
import { describeType, argRangeError, argTypeError } from "../validate.js";

export const DEFAULT_HIGH_WATER = 64 * 1024;

/** The [high, low] marks setWriteBufferLimits(high?, low?) sets; TypeError/RangeError naming the argument. */
export function writeBufferLimits(high?: number | null, low?: number | null): [high: number, low: number] {
  if (high !== undefined && high !== null) checkLimit(high, "high");
  if (low !== undefined && low !== null) checkLimit(low, "low");
  if (high === undefined || high === null) high = low === undefined || low === null ? DEFAULT_HIGH_WATER : 4 * low;
  if (low === undefined || low === null) low = Math.floor(high / 4);
  if (!(high >= low && low >= 0)) throw argRangeError(`high (${high}) must be >= low (${low}) must be >= 0`);
  return [high, low];
}

/** One transport's marks and whether its protocol is paused. */
export class WriteFlow {
  high = DEFAULT_HIGH_WATER;
  low = DEFAULT_HIGH_WATER / 4;
  private paused = false;

  constructor(
    private readonly report: (context: ExceptionContext) => void,
    private readonly transport: object,
  ) {}

  limits(): [low: number, high: number] {
    return [this.low, this.high];
  }

  setLimits(high?: number | null, low?: number | null): void {
    [this.high, this.low] = writeBufferLimits(high, low);
  }

  /** `size` bytes are buffered: pauseWriting() if it just rose above high. */
  maybePause(size: number, protocol: BaseProtocol): void {
    if (this.paused || size <= this.high) return;
    this.paused = true;
    this.call(protocol, "pauseWriting");
  }

  /** `size` bytes are buffered: resumeWriting() if it just fell to low. */
  maybeResume(size: number, protocol: BaseProtocol): void {
    if (!this.paused || size > this.low) return;
    this.paused = false;
    this.call(protocol, "resumeWriting");
  }

  private call(protocol: BaseProtocol, method: "pauseWriting" | "resumeWriting"): void {
    try {
      protocol[method]();
    } catch (exc) {
      this.report({ message: `protocol.${method}() failed`, exception: exc, transport: this.transport, protocol });
    }
  }
}

function checkLimit(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw argTypeError(`The "${name}" argument must be a number. Received ${describeType(value)}`);
  }
  if (value < 0) throw argRangeError(`The "${name}" argument must be >= 0. Received ${value}`);
}
