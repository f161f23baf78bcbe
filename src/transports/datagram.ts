// The datagram transport (asyncio's _SelectorDatagramTransport), written ONCE over the
// DatagramEndpoint seam: it is the endpoint's DatagramSink and turns completions into
// DatagramProtocol calls. Both backends (and the readiness endpoint for Unix datagrams on a
// backend without a native one) use it unchanged.
//
// asyncio's rules, kept here:
//   - sendto(data, addr?): on a connected endpoint `addr` must be omitted/null or equal to
//     the remote address (else TypeError, code ERR_INVALID_ARG_VALUE: asyncio's ValueError);
//     on an unconnected one it is required. The bytes are copied by the endpoint (the
//     caller may reuse its Buffer at once). Empty datagrams are sent.
//   - Errors of a send or a receive (ECONNREFUSED from an ICMP error on a connected socket,
//     EACCES for a broadcast without allowBroadcast, EMSGSIZE for a truncated datagram: see
//     proactor.ts "Truncation rule") go to protocol.errorReceived(exc); the transport stays
//     open. An exception thrown by a protocol method goes to the exception handler
//     (asyncio's context keys) and the transport stays open too, as in asyncio, where it
//     propagates out of the reader callback.
//   - close(): receiving stops at once; datagrams already handed to sendto() go out first,
//     then the endpoint closes and connectionLost(null) runs once. abort(): what is not
//     sent yet is dropped, the endpoint closes. sendto() after close()/abort() is dropped;
//     the 5th such call logs asyncio's warning "socket.send() raised exception.".
//   - Flow control (asyncio's _FlowControlMixin): the write buffer size is the bytes of the
//     datagrams handed to the endpoint and not yet sent; pauseWriting() when it rises above
//     `high` (64 KiB by default), resumeWriting() when it falls to `low` (16 KiB) or below.
//   - pauseReading()/resumeReading() (asyncio 3.12 has them on every selector transport):
//     datagrams that arrive while paused are held and delivered, in order, on resume.
//
// Lifecycle (Phase, one way): Open --close()--> Draining (receiving stopped; the sends in
// flight finish) --nothing in flight--> Closing (endpoint.close() issued) --onClosed-->
// Closed (connectionLost once). abort() goes from Open or Draining straight to Closing.
//
// Lifetime (held-weakly.ts): the endpoint reaches the transport only through a forwarding
// sink that holds it weakly, pinned while there is work in flight (receiving wanted, sends
// not yet completed, a close). An idle transport nobody references (reading paused,
// nothing to send) is garbage-collected: its endpoint is closed, and in debug mode an
// "unclosed transport" warning names it, as asyncio's ResourceWarning does.
import type { DatagramEndpoint, DatagramSink } from "../proactor.js";
import type { DatagramTransport } from "../transports.js";
import type { BaseProtocol } from "../protocols.js";
import { captureStack, type SockAddr, type SockAddrInput } from "../events.js";
import { logger } from "../log.js";
import { describeType, argTypeError } from "../validate.js";
import { TransportSocket } from "./socket.js";
import { HeldWeakly } from "./held-weakly.js";
import type { TransportLoop } from "./stream.js";
import { WriteFlow } from "./write-limits.js";
import { Phase, TransportBase } from "./base.js";
import { trackUnclosed, untrack, type ResourceState } from "../resource-warnings.js";

/** asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES. */
const SENDS_AFTER_CLOSE_WARNING = 5;

interface DatagramProtocolLike extends BaseProtocol {
  datagramReceived?(data: Buffer, addr: SockAddr | null): void;
  errorReceived?(exc: Error): void;
}

/** Checks a sendto address against the connected one and resolves it (the caller validates shape). */
export type AddressResolver = (addr: SockAddrInput, name: string) => SockAddr;

export interface DatagramTransportOptions {
  /** createDatagramEndpoint's remoteAddr (resolved), or null. */
  remote: SockAddr | null;
  /** The socket is connected to `remote`; false with allowBroadcast, where `remote` is only the default destination. */
  connected: boolean;
  /** Turns a sendto() address into the resolved form the endpoint takes (TypeError/RangeError naming it). */
  resolve: AddressResolver;
}

function sameAddr(a: SockAddrInput, b: SockAddr): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return a.host === b.host && a.port === b.port && (a.family === undefined || a.family === b.family);
}

export class DatagramTransportImpl extends TransportBase<DatagramProtocolLike> implements DatagramTransport, DatagramSink {
  private readonly loop: TransportLoop;
  private readonly endpoint: DatagramEndpoint;
  private readonly remote: SockAddr | null;
  /** Where a sendto() without an address goes: null = the connected peer. */
  private readonly defaultTarget: SockAddr | null;
  private readonly resolve: AddressResolver;
  private readonly weakSelf: HeldWeakly<DatagramTransportImpl>;
  private pinned = false;
  private readonly resource: ResourceState;

  private started = false;
  private lostExc: Error | null = null;
  /** Bytes handed to the endpoint whose onSent has not come. */
  private buffered = 0;
  /** Datagrams handed to the endpoint whose onSent has not come. */
  private sending = 0;
  private readonly flow: WriteFlow;
  private sendsAfterClose = 0;

  private reading = true;
  private endpointReceiving = false;
  /** Datagrams (data, addr pairs flattened) that arrived while paused. */
  private held: Array<Buffer | SockAddr | null> = [];

  constructor(loop: TransportLoop, endpoint: DatagramEndpoint, protocol: unknown, opts: DatagramTransportOptions) {
    const sockname = endpoint.sockname();
    const peername = endpoint.peername();
    super(protocol, { sockname, peername, socket: new TransportSocket(endpoint.fd, sockname, peername) });
    this.loop = loop;
    this.endpoint = endpoint;
    this.remote = opts.remote;
    this.defaultTarget = opts.connected ? null : opts.remote;
    this.resolve = opts.resolve;
    this.flow = new WriteFlow((context) => loop.callExceptionHandler(context), this);
    this.weakSelf = new HeldWeakly<DatagramTransportImpl>(this);
    endpoint.setSink(new WeakDatagramSink(this.weakSelf));
    const debug = loop.getDebug();
    this.resource = { what: `transport ${this}`, debug, cleanup: () => endpoint.close() };
    if (debug) this.resource.createdAt = captureStack(3);
    trackUnclosed(this, this.resource);
    this.syncPin();
    // asyncio: connection_made via call_soon, reading starts after it.
    loop.callSoon(this.start);
  }

  private readonly start = (): void => {
    if (this.phase !== Phase.Open) return;
    this.started = true;
    try {
      this.protocol.connectionMade(this);
    } catch (exc) {
      this.report(exc, "Fatal error: protocol.connectionMade() call failed.");
      this.forceClose(exc instanceof Error ? exc : new Error(String(exc)));
      return;
    }
    this.startReceiving();
  };

  // ------------------------------------------------------------------ BaseTransport (isClosing, getExtraInfo, setProtocol, getProtocol: base.ts)

  /** Receiving stops; queued datagrams go out; then connectionLost(null) once. */
  close(): void {
    if (this.phase !== Phase.Open) return;
    this.phase = Phase.Draining;
    this.stopReceiving();
    this.held = [];
    if (this.sending === 0) this.closeEndpoint(null);
  }

  abort(): void {
    this.forceClose(null);
  }

  // ------------------------------------------------------------------ reading

  isReading(): boolean {
    return this.reading && this.phase === Phase.Open;
  }

  pauseReading(): void {
    if (this.phase !== Phase.Open || !this.reading) return;
    this.reading = false;
    this.stopReceiving();
    this.syncPin();
  }

  resumeReading(): void {
    if (this.phase !== Phase.Open || this.reading) return;
    this.reading = true;
    this.syncPin();
    if (this.held.length > 0) this.loop.callSoon(this.replayHeld);
    else if (this.started) this.startReceiving();
  }

  private readonly replayHeld = (): void => {
    while (this.held.length > 0 && this.reading && this.phase === Phase.Open) {
      const data = this.held.shift() as Buffer;
      const addr = this.held.shift() as SockAddr | null;
      this.deliver(data, addr);
    }
    if (this.held.length === 0) this.startReceiving();
  };

  private startReceiving(): void {
    if (this.endpointReceiving || this.phase !== Phase.Open || !this.reading) return;
    this.endpointReceiving = true;
    this.endpoint.startReceiving();
  }

  private stopReceiving(): void {
    if (!this.endpointReceiving) return;
    this.endpointReceiving = false;
    this.endpoint.stopReceiving();
  }

  // ------------------------------------------------------------------ DatagramSink

  onDatagram(data: Buffer, addr: SockAddr | null): void {
    if (this.phase !== Phase.Open) return;
    if (!this.reading || this.held.length > 0) {
      this.held.push(data, addr);
      return;
    }
    this.deliver(data, addr);
  }

  onReceiveError(err: Error): void {
    if (this.phase !== Phase.Open) return;
    this.errorReceived(err);
  }

  onSent(bytes: number, err: Error | null): void {
    this.sending--;
    this.buffered -= bytes;
    if (this.phase >= Phase.Closing) return;
    if (err !== null) this.errorReceived(err);
    if (this.sending === 0) {
      if (this.pinned) this.syncPin();
      if (this.phase === Phase.Draining) {
        this.closeEndpoint(null);
        return;
      }
    }
    this.maybeResumeProtocol();
  }

  onClosed(): void {
    if (this.phase === Phase.Closed) return;
    this.phase = Phase.Closed;
    this.buffered = 0;
    this.sending = 0;
    untrack(this.resource);
    this.syncPin();
    if (!this.started) return;
    try {
      this.protocol.connectionLost(this.lostExc);
    } catch (exc) {
      this.report(exc, "Exception in protocol.connectionLost()");
    }
  }

  private deliver(data: Buffer, addr: SockAddr | null): void {
    try {
      this.protocol.datagramReceived?.(data, addr);
    } catch (exc) {
      this.report(exc, "Exception in protocol.datagramReceived()");
    }
  }

  private errorReceived(err: Error): void {
    try {
      this.protocol.errorReceived?.(err);
    } catch (exc) {
      this.report(exc, "Exception in protocol.errorReceived()");
    }
  }

  // ------------------------------------------------------------------ sending

  sendto(data: Uint8Array, addr?: SockAddrInput | null): void {
    if (!(data instanceof Uint8Array)) {
      throw argTypeError(`The "data" argument must be a Buffer or Uint8Array. Received ${describeType(data)}`);
    }
    let to: SockAddr | null;
    if (this.remote !== null) {
      if (addr !== undefined && addr !== null && !sameAddr(addr, this.remote)) {
        throw argTypeError(`The "addr" argument must be omitted or the connected address ${formatAddr(this.remote)} on a connected endpoint. Received ${formatAddr(addr)}`, "ERR_INVALID_ARG_VALUE");
      }
      to = this.defaultTarget;
    } else {
      if (addr === undefined || addr === null) throw argTypeError(`The "addr" argument is required: the endpoint is not connected (no remoteAddr)`, "ERR_MISSING_ARGS");
      to = this.resolve(addr, "addr");
    }
    if (this.phase >= Phase.Closing) {
      if (++this.sendsAfterClose === SENDS_AFTER_CLOSE_WARNING) logger.warning("socket.send() raised exception.");
      return;
    }
    this.sending++;
    this.buffered += data.byteLength;
    if (!this.pinned) this.syncPin();
    this.endpoint.sendto(data, to);
    this.maybePauseProtocol();
  }

  getWriteBufferSize(): number {
    return this.buffered;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return this.flow.limits();
  }

  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    this.flow.setLimits(high, low);
    this.maybePauseProtocol();
  }

  private maybePauseProtocol(): void {
    this.flow.maybePause(this.buffered, this.protocol);
  }

  private maybeResumeProtocol(): void {
    if (this.phase < Phase.Closing) this.flow.maybeResume(this.buffered, this.protocol);
  }


  // ------------------------------------------------------------------ closing

  private report(exc: unknown, message: string): void {
    this.loop.callExceptionHandler({ message, exception: exc, transport: this, protocol: this.protocol });
  }

  private forceClose(exc: Error | null): void {
    if (this.phase >= Phase.Closing) return;
    this.held = [];
    this.closeEndpoint(exc);
  }

  private closeEndpoint(exc: Error | null): void {
    this.phase = Phase.Closing;
    this.lostExc = exc;
    this.endpointReceiving = false;
    this.syncPin();
    this.endpoint.close();
  }

  /** Pinned while receiving is wanted, sends are in flight, or a close is under way. */
  private syncPin(): void {
    const active = this.phase === Phase.Closing || (this.phase !== Phase.Closed && ((this.reading && this.phase === Phase.Open) || this.sending > 0));
    if (active === this.pinned) return;
    this.pinned = active;
    this.weakSelf.pin(active ? this : null);
  }

  override toString(): string {
    return `<DatagramTransport fd=${this.endpoint.fd} ${this.phaseName()}>`;
  }
}

/** The sink the endpoint holds: forwards to the transport, reached weakly (held-weakly.ts). */
class WeakDatagramSink implements DatagramSink {
  constructor(private readonly target: HeldWeakly<DatagramTransportImpl>) {}
  onDatagram(data: Buffer, addr: SockAddr | null): void {
    this.target.get()?.onDatagram(data, addr);
  }
  onReceiveError(err: Error): void {
    this.target.get()?.onReceiveError(err);
  }
  onSent(bytes: number, err: Error | null): void {
    this.target.get()?.onSent(bytes, err);
  }
  onClosed(): void {
    this.target.get()?.onClosed();
  }
}

function formatAddr(a: unknown): string {
  if (typeof a === "string") return JSON.stringify(a);
  if (a !== null && typeof a === "object") {
    const { host, port } = a as { host?: unknown; port?: unknown };
    return `${String(host)}:${String(port)}`;
  }
  return describeType(a);
}
