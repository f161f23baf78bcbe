// The running loop of this thread (asyncio's _running_loop). Module state is per thread
// in Node (each Worker loads its own copy), which is exactly asyncio's thread-local rule.
import type { AbstractEventLoop } from "./events.js";

let running: AbstractEventLoop | null = null;

export function _setRunningLoop(loop: AbstractEventLoop | null): void {
  running = loop;
}

export function getRunningLoopOrNull(): AbstractEventLoop | null {
  return running;
}

/** The loop running in this thread; throws when none is. */
export function getRunningLoop(): AbstractEventLoop {
  if (running === null) {
    const err = new Error("no running event loop") as Error & { code: string };
    err.code = "ERR_NO_RUNNING_LOOP";
    throw err;
  }
  return running;
}
