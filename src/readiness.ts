// addReader/addWriter/removeReader/removeWriter (API.md "Readiness") over
// Proactor.watchFd. asyncio's readiness is level-triggered: the callback runs in every
// iteration while the fd stays ready. So each registration is one single-shot watch,
// re-armed after its callback has run (a multishot poll would only report changes).
//
// Per fd and direction one entry: fd ready -> the entry's Handle goes to the ready queue
// (exceptions reach the exception handler), followed by a re-arm Handle. addReader on an
// fd that has a reader replaces the Handle (the old one is cancelled). A watch that fails
// (EBADF: the fd was closed without removeReader) is reported through the exception
// handler and the entry dropped. The loop's close() ends every watch (proactor close);
// entries then just go.
import type { BaseEventLoop } from "./base-events.js";
import { Handle, type Callback } from "./events.js";
import { WATCH_READ, WATCH_WRITE, type FdWatch } from "./proactor.js";
import { validateCallback } from "./validate.js";
import { checkFdArg } from "./socket.js";

interface Entry {
  readonly fd: number;
  handle: Handle;
  watch: FdWatch | null;
}

class Direction {
  readonly entries = new Map<number, Entry>();

  constructor(
    private readonly loop: BaseEventLoop,
    private readonly events: number,
    private readonly name: "addReader" | "addWriter",
  ) {}

  add(fd: number, callback: Callback, args: unknown[]): void {
    checkFdArg(fd, "fd");
    validateCallback(callback);
    this.loop._checkClosed();
    this.loop._proactor.checkFdWatch();
    const handle = new Handle(callback, args, this.loop);
    const old = this.entries.get(fd);
    if (old !== undefined) {
      old.handle.cancel();
      old.handle = handle;
      return;
    }
    const entry: Entry = { fd, handle, watch: null };
    this.entries.set(fd, entry);
    this.arm(entry);
  }

  remove(fd: number): boolean {
    checkFdArg(fd, "fd");
    const entry = this.entries.get(fd);
    if (entry === undefined) return false;
    this.entries.delete(fd);
    entry.handle.cancel();
    entry.watch?.cancel();
    entry.watch = null;
    return true;
  }

  private arm(entry: Entry): void {
    entry.watch = this.loop._proactor.watchFd(entry.fd, this.events, (err) => this.onReady(entry, err));
  }

  private onReady(entry: Entry, err: Error | null): void {
    entry.watch = null;
    if (this.entries.get(entry.fd) !== entry) return;
    const loop = this.loop;
    if (loop.isClosed()) {
      this.entries.delete(entry.fd);
      return;
    }
    if (err !== null) {
      this.entries.delete(entry.fd);
      const handle = entry.handle;
      handle.cancel();
      loop.callExceptionHandler({ message: `${this.name}: fd ${entry.fd} can no longer be watched; its callback was removed`, exception: err, handle });
      return;
    }
    loop._ready.push(entry.handle);
    loop._ready.push(new Handle(this.rearm, [entry], loop));
    if (loop._running && !loop._iterationScheduled) loop._scheduleIteration();
  }

  private readonly rearm = (entry: Entry): void => {
    if (this.entries.get(entry.fd) === entry && entry.watch === null && !this.loop.isClosed()) this.arm(entry);
  };
}

/** The readiness registrations of one loop. */
export class Readiness {
  readonly readers: Direction;
  readonly writers: Direction;

  constructor(loop: BaseEventLoop) {
    this.readers = new Direction(loop, WATCH_READ, "addReader");
    this.writers = new Direction(loop, WATCH_WRITE, "addWriter");
  }
}
