// Shared pieces of the datagram suite: a protocol that collects what it is told, a UDP port
// nobody listens on, and a socat UDP echo peer.
import * as dgram from "node:dgram";
import { spawn, type ChildProcess } from "node:child_process";
import { DatagramProtocol, type DatagramTransport, type SockAddr } from "ringloop";
import { deferred, type Deferred } from "../streams/_streams.js";

export { inLoop, within, deferred, runChild } from "../streams/_streams.js";

/** Records every protocol call; `next()` resolves with the next datagram. */
export class DgramCollector extends DatagramProtocol {
  transport: DatagramTransport | null = null;
  readonly made = deferred<DatagramTransport>();
  readonly lost = deferred<Error | null>();
  readonly datagrams: Array<[Buffer, SockAddr | null]> = [];
  readonly errors: Error[] = [];
  paused = 0;
  resumed = 0;
  private waiters: Array<Deferred<[Buffer, SockAddr | null]>> = [];
  private errorWaiters: Array<Deferred<Error>> = [];
  private taken = 0;
  private errorsTaken = 0;

  override connectionMade(t: DatagramTransport): void {
    this.transport = t;
    this.made.resolve(t);
  }
  override datagramReceived(data: Buffer, addr: SockAddr): void {
    this.datagrams.push([data, addr]);
    this.waiters.shift()?.resolve(this.datagrams[this.taken++]);
  }
  override errorReceived(exc: Error): void {
    this.errors.push(exc);
    this.errorWaiters.shift()?.resolve(this.errors[this.errorsTaken++]);
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
  override pauseWriting(): void {
    this.paused++;
  }
  override resumeWriting(): void {
    this.resumed++;
  }
  /** The next datagram not yet taken. */
  next(): Promise<[Buffer, SockAddr | null]> {
    if (this.taken < this.datagrams.length) return Promise.resolve(this.datagrams[this.taken++]);
    const d = deferred<[Buffer, SockAddr | null]>();
    this.waiters.push(d);
    return d.promise;
  }
  /** Marks every datagram received so far as taken (no waiter may be pending). */
  skipReceived(): void {
    this.taken = this.datagrams.length;
  }
  /** The next error not yet taken. */
  nextError(): Promise<Error> {
    if (this.errorsTaken < this.errors.length) return Promise.resolve(this.errors[this.errorsTaken++]);
    const d = deferred<Error>();
    this.errorWaiters.push(d);
    return d.promise;
  }
}

/** A UDP port on `host` that nothing is bound to (bound once by node:dgram, then closed). */
export async function closedUdpPort(host = "127.0.0.1"): Promise<number> {
  const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((r) => s.bind(0, host, r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return port;
}

export function port(addr: unknown): number {
  return (addr as { port: number }).port;
}

/** `socat UDP-LISTEN ... PIPE`: echoes each datagram of its first peer (one at a time keeps boundaries). */
export function startSocatEcho(portNumber: number, v6 = false): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const listen = v6 ? `UDP6-LISTEN:${portNumber},bind=[::1]` : `UDP4-LISTEN:${portNumber},bind=127.0.0.1`;
  const child = spawn("socat", ["-T", "20", "-b", "65536", listen, "PIPE"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, exited, stderr: () => err };
}
