// A stream transport's file mode: loop.sendfile (src/sendfile.ts) borrowing the write side
// (asyncio's _sendfile_native / _make_empty_waiter).
//
// Rules (StreamTransport._sendfile enforces the entry conditions):
//   - Entered on an open transport with no file in progress and no writeEof(); reading is
//     paused for the send and resumed after if it was on.
//   - What was queued before the call goes out first (`before`, sent as soon as the write in
//     flight completes); writes made after the call queue behind the file (byte order);
//     close() and writeEof() take effect after it.
//   - One step at a time is in flight: the drain of what came before, one chunk (generic
//     path), or the endpoint's own sendfile (native path); each step's promise settles when
//     its write completes.
//   - A write error closes the transport as any write error does; the step waited for then
//     rejects when the transport is closed (every op has completed, so the caller may release
//     the file), with that error, or with the reason the transport closed.
import type { QueuedWrite } from "./write-queue.js";

/** What file mode needs from its transport (StreamTransport implements it). */
export interface FileModeTransport {
  /** A write op is in flight. */
  readonly _writing: boolean;
  /** Sends `w` (bytes queued before the file) as the write in flight. */
  _issueQueued(w: QueuedWrite): void;
  /** Sends one chunk of the file as the write in flight (the endpoint's until it completes). */
  _issueChunk(chunk: Uint8Array): void;
  /** The endpoint's own sendfile of [offset, offset + count) of `fd` as the write in flight. */
  _issueNative(fd: number, offset: number, count: number): void;
  /** Null while the transport can still send; else the error a step fails with. */
  _sendBlocker(): Error | null;
}

export class FileMode {
  /** Queued before the sendfile began: goes out ahead of the file. */
  before: QueuedWrite | null = null;
  /** A write error seen in file mode (the step waited for rejects with it). */
  error: Error | null = null;
  /** The endpoint's own sendfile is in flight. */
  native = false;
  private waiter: { resolve(n: number): void; reject(e: Error): void } | null = null;
  /** File bytes sent by completed steps, and the size of the chunk write in flight. */
  private sent = 0;
  private chunk = 0;

  constructor(
    private readonly transport: FileModeTransport,
    /** Reading was on when the send began (resumed after it). */
    readonly wasReading: boolean,
  ) {}

  /** Bytes waiting to go out ahead of the file (they count in the write buffer size). */
  get beforeBytes(): number {
    return this.before?.bytes ?? 0;
  }

  /** File bytes that reached the socket: completed steps, plus the native send's progress. */
  progress(nativeProgress: number): number {
    return this.sent + (this.native ? nativeProgress : 0);
  }

  /** Sends `queued` (what came before the file; null when nothing) and resolves once the write side is free. */
  async begin(queued: QueuedWrite | null): Promise<void> {
    const t = this.transport;
    if (queued !== null) {
      if (t._writing) this.before = queued;
      else t._issueQueued(queued);
    }
    if (t._writing) await this.wait();
  }

  /** Sends `chunk`; resolves when it is sent. */
  write(chunk: Uint8Array): Promise<number> {
    this.check();
    this.chunk = chunk.length;
    this.transport._issueChunk(chunk);
    return this.wait();
  }

  /** The endpoint sends `count` bytes of `fd` from `offset`; resolves to the bytes sent. */
  sendNative(fd: number, offset: number, count: number): Promise<number> {
    this.check();
    this.native = true;
    this.transport._issueNative(fd, offset, count);
    return this.wait();
  }

  /** The write in flight succeeded (`n`: file bytes a native send moved): next step, or settle. */
  stepDone(n: number): void {
    this.native = false;
    this.sent += this.chunk + n;
    this.chunk = 0;
    if (this.before !== null) {
      const q = this.before;
      this.before = null;
      this.transport._issueQueued(q);
      return;
    }
    const w = this.waiter;
    this.waiter = null;
    w?.resolve(n);
  }

  /**
   * The transport has closed and every op has completed: the step waited for fails now with
   * the write error seen, else `reason`. Returns what was still to go out before the file
   * (its regions are the caller's to release).
   */
  closed(reason: Error): QueuedWrite | null {
    const before = this.before;
    this.before = null;
    this.native = false;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.error ?? reason);
    return before;
  }

  private check(): void {
    if (this.waiter !== null || this.transport._writing) throw new Error("sendfile: the transport is not ready for the next part of the file");
    const blocked = this.transport._sendBlocker();
    if (blocked !== null) throw this.error ?? blocked;
  }

  private wait(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }
}
