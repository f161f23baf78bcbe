// What every transport written over the seam shares: asyncio's BaseTransport surface
// (isClosing, getExtraInfo, setProtocol, getProtocol) over its protocol, its extra-info
// record, and the one-way Phase of its lifecycle:
//   Open --close()--> Draining (what was handed over goes out first) --nothing left-->
//   Closing (the endpoint is closing; the sink hears nothing more but onClosed) --onClosed-->
//   Closed (connectionLost once). abort() and fatal errors skip Draining.
import type { BaseProtocol } from "../protocols.js";
import { describeType, argTypeError } from "../validate.js";

export const enum Phase {
  Open,
  Draining,
  Closing,
  Closed,
}

/** A protocol is any object (its methods are optional, as asyncio's defaults do nothing). */
export function validateProtocol(protocol: unknown): asserts protocol is BaseProtocol {
  if (protocol === null || typeof protocol !== "object") {
    throw argTypeError(`The "protocol" argument must be a protocol object. Received ${describeType(protocol)}`);
  }
}

export abstract class TransportBase<P extends BaseProtocol> {
  /** @internal */
  protected phase = Phase.Open;
  /** @internal */
  protected protocol: P;
  /** @internal */
  protected readonly extra: Record<string, unknown>;

  constructor(protocol: unknown, extra: Record<string, unknown>) {
    this.extra = extra;
    validateProtocol(protocol);
    this.protocol = protocol as P;
  }

  isClosing(): boolean {
    return this.phase !== Phase.Open;
  }

  /** asyncio: a missing or None value gives the default. */
  getExtraInfo(name: string, defaultValue: unknown = undefined): unknown {
    const extra = this.extra;
    return Object.prototype.hasOwnProperty.call(extra, name) && extra[name] !== null ? extra[name] : defaultValue;
  }

  setProtocol(protocol: BaseProtocol): void {
    validateProtocol(protocol);
    this.protocol = protocol as P;
  }

  getProtocol(): BaseProtocol {
    return this.protocol;
  }

  /** @internal The phase as toString() shows it. */
  protected phaseName(): "open" | "closing" | "closed" {
    return this.phase === Phase.Closed ? "closed" : this.phase === Phase.Open ? "open" : "closing";
  }
}
