// The subprocess transport (asyncio base_subprocess.py's BaseSubprocessTransport), written
// ONCE over the ChildEndpoint seam (src/proactor.ts "child processes"). Its pipes are pipe
// transports (the stream transport with a pipe kind, stream.ts), one per "pipe" stdio fd,
// each driven by a PipeLink, the internal protocol that forwards to the SubprocessProtocol.
//
// Order of the protocol's calls (asyncio's):
//   connectionMade(transport) first (scheduled with callSoon after the pipes' own starts);
//   anything that happens before it (data, a pipe closing, the exit) is queued and replayed
//   right after it, in order. Then pipeDataReceived(fd, data), pipeConnectionLost(fd, exc)
//   and processExited() as they happen (in completion order; the pipes' and the exit's
//   relative order is whatever the kernel made it); connectionLost(null) once, scheduled
//   with callSoon after BOTH the exit and the last pipe's connection loss.
//   pauseWriting()/resumeWriting() of the stdin pipe reach the protocol directly (asyncio).
//   An exception thrown by one of these goes to the exception handler, nothing else.
//
// Rules (asyncio's, checked against CPython's test_asyncio/test_subprocess.py):
//   - getReturncode(): null while running, then the exit status, or -(signal number).
//   - sendSignal/terminate/kill: a known-exited process is not signalled (Popen's rule);
//     once connectionLost has been called they throw ProcessLookupError's equivalent, a
//     system error with code ESRCH (Node's "kill ESRCH").
//   - close(): closes the pipes and kills (SIGKILL) a process still running; the exit and
//     connectionLost are still reported. isClosing() is true from then on.
// Lifetime (held-weakly.ts): the child endpoint reaches the transport weakly, pinned while
// the process runs (asyncio's child watcher holds it the same way); its pipes keep it alive
// while they are open (their PipeLinks reach it). Only a transport whose process has ended
// and whose pipes are closed can be garbage-collected unclosed: reported in debug mode as
// asyncio's __del__ does; there is nothing left to kill or release then.
import * as os from "node:os";
import * as util from "node:util";
import type { ChildEndpoint, ChildSink } from "../proactor.js";
import type { ReadTransport, SubprocessTransport, WriteTransport } from "../transports.js";
import type { BaseProtocol } from "../protocols.js";
import { captureStack } from "../events.js";
import { logger } from "../log.js";
import { describeType, argRangeError, argTypeError } from "../validate.js";
import { systemError, errno } from "../system-error.js";
import { StreamTransport, READ_PIPE_KIND, WRITE_PIPE_KIND, type TransportLoop } from "./stream.js";
import { HeldWeakly } from "./held-weakly.js";
import { trackUnclosed, untrack, type ResourceState } from "../resource-warnings.js";

const debugLog = util.debuglog("ringloop");
const SIGNALS = os.constants.signals as Record<string, number>;
const SIGKILL = SIGNALS.SIGKILL;
/** Highest signal number Linux has (SIGRTMAX). */
const MAX_SIGNAL = 64;

/** What getExtraInfo("subprocess") gives: asyncio gives the Popen object. */
export interface SubprocessInfo {
  readonly pid: number;
  /** argv as started: [program, ...args], or [shell, "-c", cmd]. */
  readonly args: readonly string[];
}

interface SubprocessProtocolLike extends BaseProtocol {
  pipeDataReceived?(fd: number, data: Buffer): void;
  pipeConnectionLost?(fd: number, exc: Error | null): void;
  processExited?(): void;
}

/** The signal number of `signal` (a name, or an integer 0..64); errors name the argument. */
export function signalNumber(signal: unknown): number {
  if (typeof signal === "string") {
    const n = Object.prototype.hasOwnProperty.call(SIGNALS, signal) ? SIGNALS[signal] : undefined;
    if (n === undefined) {
      const err = argTypeError(`The "signal" argument is not a known signal. Received ${describeType(signal)}`) as TypeError & { code: string };
      err.code = "ERR_UNKNOWN_SIGNAL";
      throw err;
    }
    return n;
  }
  if (typeof signal !== "number" || !Number.isInteger(signal)) throw argTypeError(`The "signal" argument must be a signal name or number. Received ${describeType(signal)}`);
  if (signal < 0 || signal > MAX_SIGNAL) throw argRangeError(`The "signal" argument must be a signal number from 0 to ${MAX_SIGNAL}. Received ${signal}`);
  return signal;
}

/** The protocol of one pipe transport: forwards to the subprocess transport (asyncio's *SubprocessPipeProto). */
class PipeLink implements BaseProtocol {
  pipe!: StreamTransport;
  disconnected = false;
  constructor(
    private readonly owner: BaseSubprocessTransport,
    readonly fd: number,
  ) {}
  connectionMade(): void {}
  dataReceived(data: Buffer): void {
    this.owner._pipeDataReceived(this.fd, data);
  }
  connectionLost(exc: Error | null): void {
    this.disconnected = true;
    this.owner._pipeConnectionLost(this.fd, exc);
  }
  pauseWriting(): void {
    this.owner._protocol.pauseWriting();
  }
  resumeWriting(): void {
    this.owner._protocol.resumeWriting();
  }
}

export class BaseSubprocessTransport implements SubprocessTransport, ChildSink {
  /** @internal */ _protocol: SubprocessProtocolLike;
  private readonly loop: TransportLoop;
  private readonly child: ChildEndpoint;
  private readonly info: SubprocessInfo;
  private readonly pipes = new Map<number, PipeLink>();
  private returncode: number | null = null;
  private closed = false;
  /** connectionLost has been scheduled (exit seen and every pipe disconnected). */
  private finished = false;
  /** connectionLost has run: signals now throw ESRCH. */
  private lost = false;
  /** Calls made before connectionMade, replayed right after it (null once it has run). */
  private pendingCalls: Array<() => void> | null = [];
  private readonly weakSelf: HeldWeakly<BaseSubprocessTransport>;
  private readonly resource: ResourceState;

  /** @internal Made by loop.subprocessExec / subprocessShell (src/subprocess.ts). */
  constructor(loop: TransportLoop, child: ChildEndpoint, protocol: SubprocessProtocolLike, args: string[]) {
    this.loop = loop;
    this.child = child;
    this._protocol = protocol;
    this.info = Object.freeze({ pid: child.pid, args: Object.freeze(args.slice()) });
    child.pipes.forEach((endpoint, fd) => {
      if (endpoint === null) return;
      const link = new PipeLink(this, fd);
      link.pipe = new StreamTransport(loop, endpoint, link, { pipe: endpoint.fd }, null, true, fd === 0 ? WRITE_PIPE_KIND : READ_PIPE_KIND);
      this.pipes.set(fd, link);
    });
    this.weakSelf = new HeldWeakly<BaseSubprocessTransport>(this);
    this.weakSelf.pin(this);
    child.setSink(new WeakChildSink(this.weakSelf));
    const debug = loop.getDebug();
    this.resource = { what: `transport <SubprocessTransport pid=${child.pid}>`, debug, cleanup: null };
    if (debug) {
      this.resource.createdAt = captureStack(3);
      debugLog(`process ${args[0]} created: pid ${child.pid}`);
    }
    trackUnclosed(this, this.resource);
    loop.callSoon(this.start);
  }

  private readonly start = (): void => {
    const queued = this.pendingCalls!;
    this.pendingCalls = null;
    try {
      this._protocol.connectionMade(this);
    } catch (exception) {
      this.loop.callExceptionHandler({ message: "Exception in protocol.connectionMade()", exception, protocol: this._protocol, transport: this });
    }
    for (const call of queued) call();
  };

  /** Runs `call` now, or after connectionMade when that has not run yet. */
  private schedule(call: () => void): void {
    if (this.pendingCalls !== null) this.pendingCalls.push(call);
    else call();
  }

  private invoke(method: "pipeDataReceived" | "pipeConnectionLost" | "processExited", ...args: unknown[]): void {
    const protocol = this._protocol;
    try {
      (protocol[method] as ((...a: unknown[]) => void) | undefined)?.apply(protocol, args);
    } catch (exception) {
      this.loop.callExceptionHandler({ message: `Exception in protocol.${method}()`, exception, protocol, transport: this });
    }
  }

  /** @internal PipeLink */
  _pipeDataReceived(fd: number, data: Buffer): void {
    this.schedule(() => this.invoke("pipeDataReceived", fd, data));
  }

  /** @internal PipeLink */
  _pipeConnectionLost(fd: number, exc: Error | null): void {
    this.schedule(() => this.invoke("pipeConnectionLost", fd, exc));
    this.tryFinish();
  }

  /** ChildSink: the process exited and was reaped. */
  onExit(returncode: number): void {
    if (this.returncode !== null) return;
    this.returncode = returncode;
    this.weakSelf.pin(null);
    if (this.resource.debug) debugLog(`${this} exited with return code ${returncode}`);
    this.schedule(() => this.invoke("processExited"));
    this.tryFinish();
  }

  private tryFinish(): void {
    if (this.finished || this.returncode === null) return;
    for (const link of this.pipes.values()) if (!link.disconnected) return;
    this.finished = true;
    this.schedule(() => this.loop.callSoon(this.callConnectionLost));
  }

  private readonly callConnectionLost = (): void => {
    this.lost = true;
    try {
      this._protocol.connectionLost(null);
    } catch (exception) {
      this.loop.callExceptionHandler({ message: "Exception in protocol.connectionLost()", exception, protocol: this._protocol, transport: this });
    }
  };

  // ------------------------------------------------------------------ SubprocessTransport

  getPid(): number {
    return this.child.pid;
  }

  getReturncode(): number | null {
    return this.returncode;
  }

  getPipeTransport(fd: number): ReadTransport | WriteTransport | null {
    return this.pipes.get(fd)?.pipe ?? null;
  }

  sendSignal(signal: NodeJS.Signals | number): void {
    const n = signalNumber(signal);
    if (this.lost) throw systemError(errno.ESRCH, "kill");
    if (this.returncode === null) this.child.signal(n);
  }

  terminate(): void {
    this.sendSignal("SIGTERM");
  }

  kill(): void {
    this.sendSignal("SIGKILL");
  }

  /** Closes the pipes; kills the process if it is still running (asyncio). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    untrack(this.resource);
    for (const link of this.pipes.values()) link.pipe.close();
    if (this.returncode === null) {
      if (this.loop.getDebug()) logger.warning(`Close running child process: kill ${this}`);
      this.child.signal(SIGKILL);
    }
  }

  isClosing(): boolean {
    return this.closed;
  }

  getExtraInfo(name: string, defaultValue: unknown = undefined): unknown {
    return name === "subprocess" ? this.info : defaultValue;
  }

  setProtocol(protocol: BaseProtocol): void {
    if (protocol === null || typeof protocol !== "object") throw argTypeError(`The "protocol" argument must be a protocol object. Received ${describeType(protocol)}`);
    this._protocol = protocol;
  }

  getProtocol(): BaseProtocol {
    return this._protocol;
  }

  toString(): string {
    const parts = ["SubprocessTransport"];
    if (this.closed) parts.push("closed");
    parts.push(`pid=${this.child.pid}`);
    parts.push(this.returncode !== null ? `returncode=${this.returncode}` : "running");
    for (const [fd, link] of this.pipes) parts.push(`${["stdin", "stdout", "stderr"][fd]}=${link.pipe}`);
    return `<${parts.join(" ")}>`;
  }
}

/** The sink the child endpoint holds: forwards to the transport, reached weakly (held-weakly.ts). */
class WeakChildSink implements ChildSink {
  constructor(private readonly target: HeldWeakly<BaseSubprocessTransport>) {}
  onExit(returncode: number): void {
    this.target.get()?.onExit(returncode);
  }
}
