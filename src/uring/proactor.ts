// UringProactor: the Proactor over one io_uring ring per loop, living inside Node's libuv
// loop (native/ring.cc). Ops are staged into shared memory and submitted once per libuv
// iteration; completions arrive in batches and end with one host._runOnce().
import type { ConnectOptions, DatagramEndpoint, DatagramOpenOptions, FdWatch, FdWatchCallback, ListenOptions, Listener, Proactor, ProactorHost, StreamEndpoint } from "../proactor.js";
import type { LoopMetrics, SockAddr } from "../events.js";
import { Ring, DEFAULT_RING_CONFIG, type OpHandler, type RingConfig } from "./ring.js";
import { RingTimer } from "./timer.js";
import { OP_NOP, OP_ASYNC_CANCEL, NO_OP_INDEX } from "./native.js";
import { uringMetrics } from "./metrics.js";
import { probeOnce } from "../addon.js";
import { DEFAULT_ZERO_COPY_MIN } from "./stream.js";
import { BufRing } from "./bufring.js";
import { PipePool } from "./sendfile-pipes.js";
import { startFileSend, type FileSend } from "./sendfile.js";
import type { StreamContext } from "./stream.js";
import { connectStream, listenStream, adoptStream, adoptListener } from "./stream-setup.js";
import { UringFdWatch, type FdWatchContext } from "./fd-watch.js";
import { UringFileOps } from "./files.js";
import { UringDatagramEndpoint, DGRAM_GROUP, DEFAULT_DGRAM_BUF_COUNT, DEFAULT_DGRAM_BUF_SIZE, RECV_HEADER_BYTES, type DatagramContext } from "./datagram.js";
import { SendArena } from "./dgram-arena.js";
import { openDatagramSocket } from "../datagram-socket.js";

export class UringProactor implements Proactor, StreamContext, FdWatchContext, DatagramContext {
  readonly backend = "uring" as const;
  /** IORING_TIMEOUT_ABS fires at or after the deadline, never before. */
  readonly clockResolution = 0;
  /** @internal */ readonly ring: Ring;
  private readonly timer: RingTimer;
  private host: ProactorHost | null = null;
  private refed = false;
  private closed = false;
  /** @internal */ readonly config: RingConfig;
  /** StreamContext: SEND_ZC from this many bytes (0 = never: the option, or a kernel without SEND_ZC / SENDMSG_ZC). */
  readonly zeroCopyMin: number;
  private buffers: BufRing | null = null;
  private dgramBuffers: BufRing | null = null;
  private arena: SendArena | null = null;
  /** sendfile's splice pipes (no fd until the first splice). */
  private readonly pipePool: PipePool;
  /** Endpoints and listeners whose fd is open, by fd (closed with the proactor). */
  private readonly open = new Map<number, { _forceClose(): void; _beforeRingClose?(): void }>();
  /** sockSendfile sends in flight: close() releases them and ends them with an error. */
  private readonly socketSends = new Set<{ send: FileSend | null; done: (sent: number, err: Error | null) => void }>();
  /** @internal FdWatchContext: readiness waits in flight (ended by close()). */
  readonly watches = new Set<UringFdWatch>();
  /** Files (src/uring/files.ts): OPENAT, READ, WRITE, STATX, ... on this ring. */
  readonly files: UringFileOps;

  constructor(config: RingConfig = DEFAULT_RING_CONFIG) {
    this.config = config;
    const zcMin = config.zeroCopyMin ?? DEFAULT_ZERO_COPY_MIN;
    const ops = probeOnce()?.opcodes ?? {};
    this.zeroCopyMin = zcMin > 0 && ops.SEND_ZC === true && ops.SENDMSG_ZC === true ? zcMin : 0;
    this.ring = new Ring(
      config,
      () => this.host?._runOnce(),
      (exception, handler) =>
        this.host?.callExceptionHandler({ message: "Exception in io_uring completion handler", exception, handler }),
    );
    this.timer = new RingTimer(this.ring, () => {});
    this.pipePool = new PipePool(this.ring.native);
    this.files = new UringFileOps(this.ring);
  }

  attach(host: ProactorHost): void {
    this.host = host;
  }

  get flags(): string[] {
    return this.ring.flags;
  }

  get timerDeadline(): number | null {
    return this.timer.deadline;
  }

  setTimer(whenMs: number | null): void {
    if (this.closed) return;
    this.timer.set(whenMs);
  }

  pollNow(): void {
    if (!this.closed) this.ring.pollNow();
  }

  /** IORING_OP_NOP: completes with res 0; for the ring round-trip benchmark and tests. */
  nop(handler: OpHandler): number {
    const slot = this.ring.alloc(handler);
    this.ring.stageRecord(OP_NOP, slot, -1);
    return slot;
  }

  /**
   * IORING_OP_ASYNC_CANCEL of the op in `slot` (fire and forget, kernel >= 5.5). The target
   * still completes (usually -ECANCELED) and keeps its slot, buffers and fds until then.
   */
  cancel(slot: number): void {
    if (!this.closed) this.ring.stageTargeted(OP_ASYNC_CANCEL, NO_OP_INDEX, slot, 0);
  }

  // ---- streams (src/uring/stream-setup.ts does the socket work)

  connectStream(addr: SockAddr, opts: ConnectOptions): Promise<StreamEndpoint> {
    return connectStream(this, addr, opts);
  }

  listenStream(addr: SockAddr, opts: ListenOptions): Listener {
    return listenStream(this, addr, opts);
  }

  adoptStream(fd: number): StreamEndpoint {
    return adoptStream(this, fd);
  }

  adoptListener(fd: number): Listener {
    return adoptListener(this, fd);
  }

  /** @internal StreamContext: the loop's buffer ring for multishot recv (group 0), made on first use. */
  bufRing(): BufRing {
    if (this.buffers === null) {
      this.buffers = new BufRing(this.ring.native, this.config.bufCount ?? DEFAULT_RING_CONFIG.bufCount, this.config.bufSize ?? DEFAULT_RING_CONFIG.bufSize, 0);
    }
    return this.buffers;
  }

  // ---- datagrams (src/uring/datagram.ts)

  openDatagram(opts: DatagramOpenOptions): DatagramEndpoint {
    if (this.closed) throw new Error("the io_uring proactor is closed");
    return new UringDatagramEndpoint(this, openDatagramSocket(opts));
  }

  adoptDatagram(fd: number): DatagramEndpoint {
    if (this.closed) throw new Error("the io_uring proactor is closed");
    return new UringDatagramEndpoint(this, fd);
  }

  /** @internal DatagramContext: the datagram buffer ring (group 1), made on first use. */
  dgramBufRing(): BufRing {
    if (this.dgramBuffers === null) {
      const payload = this.config.dgramBufSize ?? DEFAULT_DGRAM_BUF_SIZE;
      this.dgramBuffers = new BufRing(this.ring.native, this.config.dgramBufCount ?? DEFAULT_DGRAM_BUF_COUNT, RECV_HEADER_BYTES + payload, DGRAM_GROUP);
    }
    return this.dgramBuffers;
  }

  /** @internal DatagramContext: where sendto() copies datagrams (one arena per loop). */
  get sendArena(): SendArena {
    return (this.arena ??= new SendArena(this.ring.native, this.config.maxOps));
  }

  /** @internal StreamContext: track an endpoint or listener while its fd is open. */
  track(fd: number, owner: { _forceClose(): void }): void {
    if (this.closed) throw new Error("the io_uring proactor is closed");
    this.open.set(fd, owner);
    this.ring.native.trackFd(fd);
  }

  /** @internal StreamContext: called BEFORE the owner closes `fd`. */
  released(fd: number): void {
    this.open.delete(fd);
    if (!this.closed) this.ring.native.untrackFd(fd);
  }

  // ---- readiness (src/uring/fd-watch.ts)

  checkFdWatch(): void {
    if (this.closed) throw new Error("the io_uring proactor is closed");
  }

  watchFd(fd: number, events: number, callback: FdWatchCallback): FdWatch {
    this.checkFdWatch();
    return new UringFdWatch(this, fd, events, callback);
  }

  /** loop.sockSendfile's native path: the same strategies as a stream endpoint's sendfile. */
  sendFileToSocket(sock: number, file: number, offset: number, count: number, done: (sent: number, err: Error | null) => void): FileSend {
    if (this.closed) throw new Error("the io_uring proactor is closed");
    const entry = { send: null as FileSend | null, done };
    entry.send = startFileSend(this, sock, file, offset, count, (sent, err) => {
      this.socketSends.delete(entry);
      done(sent, err);
    });
    this.socketSends.add(entry);
    return entry.send;
  }

  /** @internal StreamContext */
  pipes(): PipePool {
    return this.pipePool;
  }

  ref(): void {
    if (this.refed || this.closed) return;
    this.refed = true;
    this.ring.native.ref();
  }

  unref(): void {
    if (!this.refed || this.closed) return;
    this.refed = false;
    this.ring.native.unref();
  }

  /** Ops in flight, not counting the loop's own wake-up timer. */
  pendingOps(): number {
    return this.closed ? 0 : this.ring.pending - this.timer.held;
  }

  metrics(): Omit<LoopMetrics, "backend"> {
    const bufRings = [this.buffers, this.dgramBuffers].filter((b): b is BufRing => b !== null);
    return uringMetrics(this.ring, this.closed, this.timer.held, bufRings);
  }

  detachedCleanup(): () => void {
    const native = this.ring.native;
    const pipes = this.pipePool;
    return () => {
      native.close();
      native.closeOwnedFds();
      pipes.close();
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host = null;
    this.files.release();
    // Zero-copy sends waiting for their notification on a socket with unsent data would
    // hold the ring's close up (it waits for every final CQE): those sockets go first.
    for (const owner of [...this.open.values()]) owner._beforeRingClose?.();
    this.ring.close();
    this.files.abandon();
    // The ring waited for every op's final CQE; the fds still open are released now.
    for (const owner of this.open.values()) owner._forceClose();
    this.open.clear();
    const closedErr = new Error("the event loop was closed while waiting for the socket");
    for (const { send, done } of [...this.socketSends]) {
      send?.forceRelease();
      done(0, new Error("the event loop was closed while sending a file to the socket"));
    }
    this.socketSends.clear();
    for (const watch of [...this.watches]) watch._abandon(closedErr);
    this.pipePool.close();
  }
}
