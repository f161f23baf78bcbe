// FallbackProactor: the Proactor over Node's own libuv modules (net, dgram, fs, ...), so
// everything but fd readiness works wherever Node does, with no native code. Timers: ONE
// Node timeout for the earliest deadline, re-armed as it changes. Keep-alive while
// running: one ref'd interval (it also holds the process while fd waits are pending: the
// polls themselves are never ref'd).
// Streams: FallbackStreamEndpoint (net.Socket) and FallbackListener (net.Server); listen is
// asynchronous in node:net, so listenStream/adoptListener return Promises.
// Fd readiness (sock_* methods, addReader/addWriter): libuv poll handles through the native
// addon (fallback/fd-watch.ts), wherever the addon loads; without it, NotImplementedError.
import * as net from "node:net";
import type * as dgram from "node:dgram";
import type { ConnectOptions, DatagramEndpoint, DatagramOpenOptions, FdWatchCallback, Listener, ListenOptions, Proactor, ProactorHost, StreamEndpoint } from "../src/proactor.js";
import type { LoopMetrics, SockAddr } from "../src/events.js";
import { monotonicMs } from "../src/clock.js";
import { abortReason, NotImplementedError } from "../src/exceptions.js";
import { FallbackStreamEndpoint, type FallbackHost } from "./stream.js";
import { FallbackListener } from "./listener.js";
import { FallbackFileOps } from "./files.js";
import { FallbackDatagramEndpoint, type DatagramHost } from "./datagram.js";
import { FdWatches, type FallbackFdWatch } from "./fd-watch.js";
import { loadAddon } from "../src/addon.js";

/** Longest delay Node's setTimeout takes (2^31-1 ms); later deadlines re-arm on the way. */
const MAX_TIMEOUT_MS = 0x7fffffff;

export class FallbackProactor implements Proactor {
  readonly backend = "fallback" as const;
  /**
   * Node timers count from libuv's cached loop time, so they may fire up to 1 ms early
   * against hrtime; a timer is still never run early: the core finds nothing due and
   * re-arms for the rest.
   */
  readonly clockResolution = 0;
  private host: ProactorHost | null = null;
  private timer: NodeJS.Timeout | null = null;
  private deadline: number | null = null;
  private keepAlive: NodeJS.Timeout | null = null;
  private closed = false;
  /** Files (fallback/files.ts) over node:fs/promises. */
  readonly files = new FallbackFileOps();

  /** Fd readiness, made on first use (null until then). */
  private watches: FdWatches | null = null;

  attach(host: ProactorHost): void {
    this.host = host;
    this.watches?.attach(host);
  }

  get timerDeadline(): number | null {
    return this.deadline;
  }

  setTimer(whenMs: number | null): void {
    if (whenMs === this.deadline || this.closed) return;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.deadline = whenMs;
    if (whenMs === null) return;
    // A timeout that fired early leaves < 1 ms: sleep one more ms. Re-checking on every
    // libuv turn instead was measured worse (p99 ~3 ms): a busy process loses the CPU to
    // the scheduler on a shared machine.
    const remaining = whenMs - monotonicMs();
    this.timer = setTimeout(this.onTimer, Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.ceil(remaining))));
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.deadline = null;
    this.host?._runOnce();
  };

  /** Node's libuv I/O cannot be polled from JS: completions wait for the next libuv turn. */
  pollNow(): void {}

  ref(): void {
    if (this.keepAlive === null && !this.closed) this.keepAlive = setInterval(() => {}, MAX_TIMEOUT_MS);
  }

  unref(): void {
    if (this.keepAlive !== null) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }

  /** Fd watches waiting (node:net's own operations are not counted). */
  pendingOps(): number {
    return this.watches?.waiting ?? 0;
  }

  /** Node's own handles are not counted; the only operations of ours are fd waits. */
  metrics(): Omit<LoopMetrics, "backend"> {
    const waiting = this.pendingOps();
    return { opsInFlight: waiting, opsInFlightByKind: waiting > 0 ? { fdWatch: waiting } : {} };
  }

  /** Sockets and servers still open; close() releases them. */
  private readonly live = new Set<net.Socket | net.Server>();

  private readonly streamHost: FallbackHost = {
    // After each completion delivered to a sink: one loop iteration, as the seam requires.
    notify: () => this.host?._runOnce(),
    track: (handle) => {
      if (this.live.has(handle)) return;
      this.live.add(handle);
      handle.once("close", () => this.live.delete(handle));
    },
  };

  /** node:dgram sockets still open (closed with the proactor). */
  private readonly dgramSockets = new Set<dgram.Socket>();
  private readonly dgramHost: DatagramHost = {
    track: (socket) => {
      this.dgramSockets.add(socket);
      socket.once("close", () => this.dgramSockets.delete(socket));
    },
  };

  connectStream(addr: SockAddr, opts: ConnectOptions): Promise<StreamEndpoint> {
    return new Promise((resolve, reject) => {
      const signal = opts.signal;
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      let socket: net.Socket;
      if (typeof addr === "string") {
        socket = net.connect({ path: addr, allowHalfOpen: true });
      } else {
        const local = typeof opts.localAddr === "object" ? opts.localAddr : undefined;
        socket = net.connect({ host: addr.host, port: addr.port, family: addr.family, allowHalfOpen: true, localAddress: local?.host, localPort: local?.port || undefined, autoSelectFamily: false });
      }
      socket.pause();
      this.streamHost.track(socket);
      const cleanup = (): void => {
        socket.removeListener("connect", onConnect);
        socket.removeListener("error", onError);
        signal?.removeEventListener("abort", onAbort);
      };
      const onConnect = (): void => {
        cleanup();
        resolve(new FallbackStreamEndpoint(socket, this.streamHost, typeof addr === "string" ? { sockname: "", peername: addr } : null));
      };
      const onError = (err: Error): void => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      const onAbort = (): void => {
        cleanup();
        socket.destroy();
        reject(abortReason(signal!));
      };
      socket.once("connect", onConnect);
      socket.once("error", onError);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  listenStream(addr: SockAddr, opts: ListenOptions): Promise<Listener> {
    return FallbackListener.listen(addr, opts, this.streamHost);
  }

  adoptStream(fd: number): StreamEndpoint {
    const socket = new net.Socket({ fd, allowHalfOpen: true, readable: true, writable: true, pauseOnCreate: true } as net.SocketConstructorOpts);
    const tcp = socket.remoteAddress !== undefined || socket.localAddress !== undefined;
    return new FallbackStreamEndpoint(socket, this.streamHost, tcp ? null : { sockname: null, peername: null });
  }

  adoptListener(fd: number): Promise<Listener> {
    return FallbackListener.listen({ fd }, { backlog: 100, reuseAddress: true, reusePort: false, ipv6Only: false }, this.streamHost);
  }

  /** UDP over node:dgram; Unix datagrams (node:dgram has none): null, the core's readiness endpoint. */
  openDatagram(opts: DatagramOpenOptions): Promise<DatagramEndpoint> | null {
    return opts.family === 0 ? null : FallbackDatagramEndpoint.open(opts, this.dgramHost);
  }

  adoptDatagram(fd: number, family: 0 | 4 | 6): Promise<DatagramEndpoint> | null {
    return family === 0 ? null : FallbackDatagramEndpoint.adopt(fd, family, this.dgramHost);
  }

  /** Node exposes no uv_poll of its own: fd readiness needs the addon's FdPoll. */
  checkFdWatch(): void {
    this.fdWatches();
  }

  watchFd(fd: number, events: number, callback: FdWatchCallback): FallbackFdWatch {
    return this.fdWatches().watch(fd, events, callback);
  }

  private fdWatches(): FdWatches {
    if (this.closed) throw new Error("the fallback proactor is closed");
    if (this.watches !== null) return this.watches;
    const { addon, error } = loadAddon();
    if (addon === null) {
      throw new NotImplementedError(
        `the fallback backend waits for fd readiness through the ringloop native addon, which is unavailable here (${error}), ` +
          "so sock_* methods and addReader/addWriter are not available; build the addon (npm run build:native) " +
          "or use transports (createConnection / createServer / createUnixConnection)",
      );
    }
    this.watches = new FdWatches(addon);
    this.watches.attach(this.host);
    return this.watches;
  }

  detachedCleanup(): null {
    // Every Node handle it holds is unref'd when the loop is not running.
    return null;
  }

  close(): void {
    if (this.closed) return;
    this.setTimer(null);
    this.unref();
    this.closed = true;
    for (const handle of this.live) {
      if (handle instanceof net.Server) handle.close();
      else handle.destroy();
    }
    this.live.clear();
    for (const socket of [...this.dgramSockets]) {
      try {
        socket.close();
      } catch {
        // already closing
      }
    }
    this.dgramSockets.clear();
    this.watches?.close(new Error("the event loop was closed while waiting for the socket"));
    this.files.release();
    this.host = null;
  }
}
