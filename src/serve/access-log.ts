// Access log: one Common Log Format line per answered request,
//   127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a.txt HTTP/1.1" 200 2326
// (remote host, ident, user, time, request line, status, body bytes sent or "-"); a
// '"' or '\' in the target is written as \x22 / \x5c, so a line always parses.
// Lines are buffered and written together FLUSH_DELAY_MS after the first one (or at once
// past FLUSH_BYTES), so a busy server makes one write per batch, not one per request.
import type { TimerHandle } from "../events.js";

export const FLUSH_DELAY_MS = 50;
export const FLUSH_BYTES = 32 * 1024;

export interface LogLoop {
  callLater(delayMs: number, cb: () => void): TimerHandle;
}

export type LogWriter = (text: string) => void;

export class AccessLog {
  private readonly loop: LogLoop;
  private readonly writer: LogWriter;
  private pending = "";
  private timer: TimerHandle | null = null;

  constructor(loop: LogLoop, writer: LogWriter) {
    this.loop = loop;
    this.writer = writer;
  }

  add(remote: string, clfDate: string, method: string, target: string, version: string, status: number, bytes: number): void {
    const t = /["\\]/.test(target) ? target.replace(/["\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`) : target;
    this.pending += `${remote} - - [${clfDate}] "${method} ${t} ${version}" ${status} ${bytes > 0 ? bytes : "-"}\n`;
    if (this.pending.length >= FLUSH_BYTES) this.flush();
    else if (this.timer === null) this.timer = this.loop.callLater(FLUSH_DELAY_MS, () => this.flush());
  }

  flush(): void {
    if (this.timer !== null) {
      this.timer.cancel();
      this.timer = null;
    }
    if (this.pending === "") return;
    const text = this.pending;
    this.pending = "";
    this.writer(text);
  }
}
