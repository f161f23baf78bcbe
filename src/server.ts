// Server (asyncio base_events.Server, 3.12 semantics): owns the listeners, makes a
// transport + protocol per accepted connection, and counts the live connections.
// close() stops listening (connections stay up: closeClients()/abortClients() end them);
// waitClosed() settles once the server is closed AND its last connection is gone.
//
// Accept errors (EMFILE, ENFILE, ENOBUFS, ENOMEM): the listener backs off and resumes by
// itself (ACCEPT_RETRY_DELAY_MS in each backend); the server reports ONE exception-handler
// call per episode, an episode ending with the next successful accept.
//
// Lifetime (transports/held-weakly.ts): the listeners reach the server weakly, pinned while
// it is serving; its connections keep it alive while they are (they name it as their owner).
// A server that is not serving, has no live connection and is referenced by nobody is
// garbage-collected: its listeners are closed, and in debug mode it is reported unclosed.
import * as fs from "node:fs";
import type { Listener, ListenerSink, StreamEndpoint, StreamSink } from "./proactor.js";
import { captureStack, type AbstractEventLoop, type AbstractFuture, type AbstractServer } from "./events.js";
import { CancelledError } from "./exceptions.js";
import { StreamTransport, type ServerClient, type TransportLoop, type TransportOwner } from "./transports/stream.js";
import { TransportSocket } from "./transports/socket.js";
import { isIpAddr } from "./sockaddr.js";
import { HeldWeakly } from "./transports/held-weakly.js";
import { trackUnclosed, untrack, type ResourceState } from "./resource-warnings.js";
import type { TlsLoop } from "./tls/layer.js";
import type { TlsSettings } from "./tls/options.js";
import { tlsOverEndpoint } from "./tls/start.js";
import { argTypeError } from "./validate.js";

/** The loop a server runs on: the public loop API plus the transports' and the TLS layer's internal hooks. */
export type ServerLoop = AbstractEventLoop & TransportLoop & TlsLoop;

export type ProtocolFactory = () => unknown;

/** A Unix socket file the server created: removed on close if it is still the same file. */
export interface UnixPathOwner {
  path: string;
  ino: number;
  dev: number;
}

/** A sink that only waits for onClosed (endpoints nobody will use). */
export function discardEndpoint(endpoint: StreamEndpoint): Promise<void> {
  return new Promise((resolve) => {
    const sink: StreamSink = {
      onData() {},
      onReadInto() {},
      onEof() {},
      onReadError() {},
      onWriteDone() {},
      onShutdownDone() {},
      onClosed: () => resolve(),
    };
    endpoint.setSink(sink);
    endpoint.close();
  });
}

export class Server implements AbstractServer, TransportOwner {
  private readonly loop: ServerLoop;
  private listeners: Listener[] | null;
  private readonly socketList: TransportSocket[];
  private readonly protocolFactory: ProtocolFactory;
  private readonly unixPath: UnixPathOwner | null;
  private serving = false;
  private readonly clients = new Set<ServerClient>();
  private waiters: Array<AbstractFuture<void>> | null = [];
  private servingForever: AbstractFuture<void> | null = null;
  private acceptErrorReported = false;
  private readonly sink: ListenerSink;
  private readonly weakSelf: HeldWeakly<Server>;
  private readonly resource: ResourceState;

  /** @internal Made by loop.createServer / createUnixServer. */
  constructor(
    loop: ServerLoop,
    listeners: Listener[],
    protocolFactory: ProtocolFactory,
    unixPath: UnixPathOwner | null = null,
    /** ssl: each connection is the server side of a TLS connection (its handshake failures are only logged, as asyncio). */
    private readonly tls: TlsSettings | null = null,
  ) {
    this.loop = loop;
    this.listeners = listeners;
    this.socketList = listeners.map((l) => new TransportSocket(l.fd, l.sockname()));
    this.protocolFactory = protocolFactory;
    this.unixPath = unixPath;
    const weakSelf = (this.weakSelf = new HeldWeakly<Server>(this));
    this.sink = {
      onAccept: (ep) => {
        const server = weakSelf.get();
        if (server !== undefined) server.onAccept(ep);
        else void discardEndpoint(ep);
      },
      onAcceptError: (err) => weakSelf.get()?.onAcceptError(err),
    };
    const debug = loop.getDebug();
    this.resource = { what: `server ${this}`, debug, cleanup: () => closeListeners(listeners, unixPath) };
    if (debug) this.resource.createdAt = captureStack(3);
    trackUnclosed(this, this.resource);
  }

  getLoop(): AbstractEventLoop {
    return this.loop;
  }

  isServing(): boolean {
    return this.serving;
  }

  /** The listening sockets; empty once closed (asyncio returns ()). */
  get sockets(): TransportSocket[] {
    return this.listeners === null ? [] : this.socketList.slice();
  }

  async startServing(): Promise<void> {
    this.startServingNow();
    // asyncio: await sleep(0), so a connection may be accepted before this resolves.
    await new Promise<void>((resolve) => this.loop.callSoon(resolve));
  }

  private startServingNow(): void {
    if (this.serving || this.listeners === null) return;
    this.serving = true;
    this.weakSelf.pin(this);
    for (const l of this.listeners) l.startAccepting(this.sink);
  }

  /** Serves until the server is closed (then rejects with CancelledError) or `signal` aborts. */
  async serveForever(opts: { signal?: AbortSignal } = {}): Promise<never> {
    if (this.servingForever !== null) throw new Error(`server ${this} is already being awaited on serveForever()`);
    if (this.listeners === null) throw new Error(`server ${this} is closed`);
    const signal = opts?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError(`The "opts.signal" argument must be an AbortSignal`);
    this.startServingNow();
    const fut = this.loop.createFuture<void>();
    this.servingForever = fut;
    const onAbort = (): void => {
      fut.cancel();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) fut.cancel();
    try {
      await fut;
      throw new CancelledError();
    } catch (err) {
      // asyncio (3.12): close, then wait_closed(), which also waits for every connection
      // to end; a caller that wants it sooner calls closeClients()/abortClients().
      this.close();
      await this.waitClosed();
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.servingForever = null;
    }
  }

  close(): void {
    const listeners = this.listeners;
    if (listeners === null) return;
    this.listeners = null;
    this.serving = false;
    this.weakSelf.pin(null);
    untrack(this.resource);
    closeListeners(listeners, this.unixPath);
    if (this.servingForever !== null && !this.servingForever.done()) this.servingForever.cancel();
    if (this.clients.size === 0) this.wakeup();
  }

  /** Settles when the server is closed and every connection it accepted has ended. */
  async waitClosed(): Promise<void> {
    if (this.waiters === null) return;
    const fut = this.loop.createFuture<void>();
    this.waiters.push(fut);
    await fut;
  }

  closeClients(): void {
    for (const t of [...this.clients]) t.close();
  }

  abortClients(): void {
    for (const t of [...this.clients]) t.abort();
  }

  /** @internal */
  _attach(client: ServerClient): void {
    this.clients.add(client);
  }

  /** @internal */
  _detach(client: ServerClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0 && this.listeners === null) this.wakeup();
  }

  private wakeup(): void {
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters === null) return;
    for (const w of waiters) if (!w.done()) w.setResult(undefined);
  }

  private onAccept(endpoint: StreamEndpoint): void {
    this.acceptErrorReported = false;
    if (this.listeners === null) {
      void discardEndpoint(endpoint);
      return;
    }
    let protocol: unknown;
    try {
      protocol = this.protocolFactory();
      if (protocol === null || typeof protocol !== "object") throw argTypeError(`protocolFactory() must return a protocol object. Received ${protocol === null ? "null" : typeof protocol}`, "ERR_INVALID_RETURN_VALUE");
    } catch (exc) {
      this.loop.callExceptionHandler({ message: "Error on transport creation for incoming connection", exception: exc, socket: this.socketList[0] });
      void discardEndpoint(endpoint);
      return;
    }
    if (isIpAddr(endpoint.sockname())) endpoint.setNoDelay(true);
    if (this.tls !== null) tlsOverEndpoint(this.loop, endpoint, protocol, this.tls, this);
    else new StreamTransport(this.loop, endpoint, protocol, StreamTransport.extraFor(endpoint), this);
  }

  private onAcceptError(err: Error): void {
    if (this.acceptErrorReported) return;
    this.acceptErrorReported = true;
    this.loop.callExceptionHandler({ message: "socket.accept() out of system resource", exception: err, socket: this.socketList[0] });
  }

  toString(): string {
    const names = this.socketList.map((s) => {
      const a = s.getsockname();
      return typeof a === "string" ? JSON.stringify(a) : a === null ? "?" : `${a.family === 6 ? `[${a.host}]` : a.host}:${a.port}`;
    });
    return `<Server sockets=(${names.join(", ")})>`;
  }
}

function closeListeners(listeners: Listener[], unixPath: UnixPathOwner | null): void {
  for (const l of listeners) l.close();
  if (unixPath !== null) removeSocketFile(unixPath);
}

/** Unlinks the server's socket file unless someone replaced it meanwhile (asyncio 3.13 cleanup_socket). */
function removeSocketFile(owner: UnixPathOwner): void {
  try {
    const st = fs.lstatSync(owner.path);
    if (st.isSocket() && st.ino === owner.ino && st.dev === owner.dev) fs.unlinkSync(owner.path);
  } catch {
    // Already gone (libuv unlinks the pipes it bound when it closes them).
  }
}
