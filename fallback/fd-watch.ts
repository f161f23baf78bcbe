// The fallback's fd readiness (Proactor.watchFd, src/proactor.ts "fd readiness") over the
// addon's FdPoll: a libuv poll handle on Node's own loop, polling a private duplicate of
// the fd (src/addon.ts NativeFdPoll, native/fd_poll.h).
//
// One FdPoll per fd, shared by every watch waiting on it (a reader and a writer, sockRecv
// beside sockSendall), polling the union of their events: an event ends the watches it
// satisfies (single shot) and the poll goes on for the rest.
//
// Entry lifecycle (FdEntry, one per fd and file):
//   - made by the first watch of an fd; later watches of that fd join it while sameFile()
//     says the fd still names the file it polls. Otherwise (the fd was closed and its number
//     reused, or a file that cannot be told apart) the entry leaves the map: with watches
//     it stays an orphan that serves them to the end, as an io_uring poll keeps its file;
//     the new watch gets an entry of its own.
//   - an event that ends its last watch leaves it idle: the native poll lets go of the file
//     when the callback returns unless a watch joins during it (the usual sockRecv ->
//     sockRecv or addReader re-arm, which then costs one fstat and no poll syscall). Idle
//     entries, their file already let go, leave the map at the next event of any entry.
//   - cancel() of its last watch closes it at once (the caller may close the fd next).
// Rules of the seam kept here: a callback runs at most once, never inside watchFd() (a
// poll that cannot start fails its watch from a setImmediate), then host._runOnce(); status
// < 0 from libuv (POLLERR) counts as readiness, the retried syscall reports the error;
// close() ends every waiting watch with the given error after releasing every poll.
import type { FdWatch, FdWatchCallback, ProactorHost } from "../src/proactor.js";
import { WATCH_READ, WATCH_WRITE } from "../src/proactor.js";
import { FD_POLL_READABLE, FD_POLL_WRITABLE, type NativeAddon, type NativeFdPoll } from "../src/addon.js";
import { systemError } from "../src/system-error.js";

const BOTH = FD_POLL_READABLE | FD_POLL_WRITABLE;

/** FD_POLL_* bits of WATCH_* events. */
function pollEvents(events: number): number {
  return (events & WATCH_READ ? FD_POLL_READABLE : 0) | (events & WATCH_WRITE ? FD_POLL_WRITABLE : 0);
}

export class FallbackFdWatch implements FdWatch {
  /** @internal The entry polling for it; null before it joins one and once it has ended. */
  _entry: FdEntry | null = null;

  constructor(
    private readonly watches: FdWatches,
    /** @internal FD_POLL_* bits. */ readonly _events: number,
    private callback: FdWatchCallback | null,
  ) {}

  cancel(): void {
    if (this.callback === null) return;
    this.callback = null;
    this.watches._cancelled(this);
  }

  /** @internal Runs the callback (once). */
  _finish(err: Error | null): void {
    const cb = this.callback;
    if (cb === null) return;
    this.callback = null;
    this.watches._ended(this);
    try {
      cb(err);
    } catch (exception) {
      this.watches._host()?.callExceptionHandler({ message: "Exception in an fd readiness callback", exception });
    }
  }
}

class FdEntry {
  readonly watches = new Set<FallbackFdWatch>();
  readonly poll: NativeFdPoll;
  /** In FdWatches.idle, waiting for the next sweep. */
  listedIdle = false;

  constructor(
    readonly fd: number,
    private readonly owner: FdWatches,
    addon: NativeAddon,
  ) {
    // Native code holds the callback strongly; through a WeakRef it does not hold the entry,
    // so a loop dropped unclosed is collected and its polls' finalizers let go of the files.
    const self = new WeakRef(this);
    this.poll = new addon.FdPoll(fd, (status, revents) => self.deref()?.onPoll(status, revents));
  }

  private onPoll(status: number, revents: number): void {
    this.owner._onPoll(this, status, revents);
  }

  /** The union of what its watches wait for. */
  events(): number {
    let events = 0;
    for (const w of this.watches) events |= w._events;
    return events;
  }
}

/** The fd watches of one FallbackProactor. */
export class FdWatches {
  /** The entry a new watch of an fd joins. */
  private readonly current = new Map<number, FdEntry>();
  /** Entries whose fd now names another file, serving their watches to the end. */
  private readonly orphans = new Set<FdEntry>();
  /** Entries left without watches by an event: closed at the next sweep unless re-armed. */
  private idle: FdEntry[] = [];
  /** Watches whose poll could not start, failed from one setImmediate. */
  private failed: Array<[FallbackFdWatch, Error]> = [];
  private failing: NodeJS.Immediate | null = null;
  private waitingCount = 0;
  private host: ProactorHost | null = null;

  constructor(private readonly addon: NativeAddon) {}

  attach(host: ProactorHost | null): void {
    this.host = host;
  }

  /** @internal */
  _host(): ProactorHost | null {
    return this.host;
  }

  /** Watches waiting (each is one op in flight for pendingOps()). */
  get waiting(): number {
    return this.waitingCount;
  }

  watch(fd: number, events: number, callback: FdWatchCallback): FallbackFdWatch {
    const w = new FallbackFdWatch(this, pollEvents(events), callback);
    this.waitingCount++;
    let entry = this.current.get(fd);
    if (entry !== undefined && !entry.poll.sameFile()) {
      this.current.delete(fd);
      if (entry.watches.size > 0) this.orphans.add(entry);
      else entry.poll.close();
      entry = undefined;
    }
    if (entry === undefined) {
      entry = new FdEntry(fd, this, this.addon);
      this.current.set(fd, entry);
    }
    entry.watches.add(w);
    w._entry = entry;
    this.restart(entry);
    return w;
  }

  /** (Re)starts `entry`'s poll for its watches; a poll that cannot start fails them all. */
  private restart(entry: FdEntry): void {
    const r = entry.poll.start(entry.events());
    if (r === 0) return;
    const err = systemError(r, "poll");
    for (const w of entry.watches) {
      w._entry = null;
      this.failed.push([w, err]);
    }
    entry.watches.clear();
    this.drop(entry);
    this.failing ??= setImmediate(this.failNow);
  }

  private readonly failNow = (): void => {
    this.failing = null;
    const failed = this.failed;
    this.failed = [];
    for (const [w, err] of failed) w._finish(err);
    this.host?._runOnce();
  };

  /** Closes `entry` and forgets it. */
  private drop(entry: FdEntry): void {
    if (this.current.get(entry.fd) === entry) this.current.delete(entry.fd);
    this.orphans.delete(entry);
    entry.poll.close();
  }

  /** @internal FallbackFdWatch.cancel(). */
  _cancelled(w: FallbackFdWatch): void {
    this.waitingCount--;
    const entry = w._entry;
    w._entry = null;
    if (entry === null) {
      this.failed = this.failed.filter(([f]) => f !== w);
      return;
    }
    entry.watches.delete(w);
    if (entry.watches.size === 0) this.drop(entry);
    else this.restart(entry);
  }

  /** @internal FallbackFdWatch._finish(): its callback is about to run. */
  _ended(w: FallbackFdWatch): void {
    this.waitingCount--;
    w._entry = null;
  }

  /** @internal The native poll of `entry` reported (never throws: it returns to native code). */
  _onPoll(entry: FdEntry, status: number, revents: number): void {
    try {
      this.sweep(entry);
      const ready = status < 0 ? BOTH : revents & BOTH;
      const fired: FallbackFdWatch[] = [];
      for (const w of entry.watches) if ((w._events & ready) !== 0) fired.push(w);
      for (const w of fired) entry.watches.delete(w);
      if (entry.watches.size > 0) this.restart(entry);
      else if (this.orphans.has(entry)) this.drop(entry);
      else if (!entry.listedIdle) {
        entry.listedIdle = true;
        this.idle.push(entry);
      }
      for (const w of fired) w._finish(null);
      this.host?._runOnce();
    } catch (exception) {
      this.host?.callExceptionHandler({ message: "Exception in the fallback's fd readiness dispatch", exception });
    }
  }

  /** Closes the entries an earlier event left idle and nothing re-armed since. */
  private sweep(except: FdEntry): void {
    if (this.idle.length === 0) return;
    const idle = this.idle;
    this.idle = [];
    for (const entry of idle) {
      entry.listedIdle = false;
      if (entry === except || entry.watches.size > 0) continue;
      this.drop(entry);
    }
  }

  /** Releases every poll, then ends every waiting watch with `err` (proactor close). */
  close(err: Error): void {
    const ending: FallbackFdWatch[] = [];
    for (const entry of [...this.current.values(), ...this.orphans]) {
      entry.poll.close();
      ending.push(...entry.watches);
      entry.watches.clear();
    }
    this.current.clear();
    this.orphans.clear();
    this.idle = [];
    for (const [w] of this.failed) ending.push(w);
    this.failed = [];
    if (this.failing !== null) clearImmediate(this.failing);
    this.failing = null;
    for (const w of ending) w._finish(err);
    this.host = null;
  }
}
