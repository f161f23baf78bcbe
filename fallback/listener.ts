// FallbackListener: the Listener seam over a node:net Server (allowHalfOpen, pauseOnConnect,
// so an accepted socket reads nothing until its transport starts reading).
//
// node:net cannot stop accepting without closing: while stopAccepting() is in effect,
// accepted connections wait in a queue of at most `backlog` (as they would in the kernel's
// backlog) and are handed over on startAccepting(); beyond that they are closed.
// Accept errors: at EMFILE/ENFILE libuv closes its reserve fd, accepts every pending
// connection and closes it at once (uv__emfile_trick), and tells JS nothing: it never
// spins, but those clients see their connection closed and no exception-handler report is
// possible on this backend. Other accept errors reach Node as 'error' -> onAcceptError. Node 20's listen() cannot set SO_REUSEPORT
// (reusePort arrived in Node 22.12/23.1) and always sets SO_REUSEADDR on TCP.
import * as net from "node:net";
import type { Listener, ListenerSink, ListenOptions } from "../src/proactor.js";
import type { SockAddr } from "../src/events.js";
import { NotImplementedError } from "../src/exceptions.js";
import { FallbackStreamEndpoint, handleFd, type FallbackHost } from "./stream.js";

/** Node's net and dgram take reusePort from 22.12 / 23.1 on. */
export function nodeHasReusePort(): boolean {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major >= 23 || (major === 22 && minor >= 12);
}

export class FallbackListener implements Listener {
  readonly fd: number;
  private sink: ListenerSink | null = null;
  private accepting = false;
  private closed = false;
  private readonly waiting: net.Socket[] = [];
  private readonly name: SockAddr;

  private constructor(
    private readonly server: net.Server,
    private readonly host: FallbackHost,
    private readonly backlog: number,
  ) {
    host.track(server);
    this.fd = handleFd((server as unknown as { _handle?: unknown })._handle);
    const a = server.address();
    this.name = typeof a === "string" ? a : a === null ? "" : { host: a.address, port: a.port, family: (a.family as string | number) === "IPv6" || (a.family as string | number) === 6 ? 6 : 4 };
    server.on("connection", this.onConnection);
    server.on("error", this.onError);
  }

  /** Listens on `addr` (or adopts the listening socket `fd`); resolves once listening. */
  static listen(target: SockAddr | { fd: number }, opts: ListenOptions, host: FallbackHost): Promise<FallbackListener> {
    if (opts.reusePort && !nodeHasReusePort()) {
      return Promise.reject(new NotImplementedError(`reusePort: the fallback backend (node:net of Node ${process.versions.node}) cannot set SO_REUSEPORT; use the uring backend or Node >= 22.12`));
    }
    return new Promise((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
      const onError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once("error", onError);
      let listenOpts: net.ListenOptions;
      if (typeof target === "string") listenOpts = { path: target, backlog: opts.backlog };
      else if ("fd" in target) listenOpts = { fd: target.fd, backlog: opts.backlog } as net.ListenOptions;
      else listenOpts = { host: target.host, port: target.port, backlog: opts.backlog, ipv6Only: opts.ipv6Only, ...(opts.reusePort ? { reusePort: true } : {}) };
      server.listen(listenOpts, () => {
        server.removeListener("error", onError);
        resolve(new FallbackListener(server, host, opts.backlog));
      });
    });
  }

  private readonly onConnection = (socket: net.Socket): void => {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (!this.accepting || this.sink === null) {
      if (this.waiting.length < Math.max(1, this.backlog)) {
        this.host.track(socket);
        this.waiting.push(socket);
      }
      else socket.destroy();
      return;
    }
    this.sink.onAccept(this.wrap(socket));
    this.host.notify();
  };

  private wrap(socket: net.Socket): FallbackStreamEndpoint {
    return new FallbackStreamEndpoint(socket, this.host, typeof this.name === "string" ? { sockname: this.name, peername: "" } : null);
  }

  private readonly onError = (err: Error): void => {
    if (this.closed || this.sink === null) return;
    this.sink.onAcceptError(err);
    this.host.notify();
  };

  sockname(): SockAddr {
    return this.name;
  }

  startAccepting(sink: ListenerSink): void {
    if (this.closed) return;
    this.sink = sink;
    this.accepting = true;
    if (this.waiting.length > 0) {
      process.nextTick(() => {
        while (this.accepting && !this.closed && this.waiting.length > 0) sink.onAccept(this.wrap(this.waiting.shift()!));
        this.host.notify();
      });
    }
  }

  stopAccepting(): void {
    this.accepting = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.accepting = false;
    for (const s of this.waiting.splice(0)) s.destroy();
    this.server.close();
  }
}
