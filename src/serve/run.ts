// Runs one static server on a fresh loop of the chosen backend until told to stop, then
// shuts it down gracefully. The same code runs in the main thread (one worker) and in
// each worker thread (--workers N).
import { policyFor } from "../policy.js";
import type { BaseEventLoop } from "../base-events.js";
import { startServe, type ServeHandle, type ServeOptions } from "./server.js";

export type BackendChoice = "uring" | "fallback" | null;

export function newLoop(backend: BackendChoice): BaseEventLoop {
  return policyFor(backend).newEventLoop() as BaseEventLoop;
}

/** What one server did, reported when it has stopped. */
export interface ServeTotals {
  connections: number;
  requests: number;
}

/**
 * Serves until the function given to `onReady` is called; resolves after the graceful
 * close with the server's totals. Rejects when the server cannot start (bad directory,
 * port in use, ...).
 */
export async function runServe(backend: BackendChoice, opts: ServeOptions, onReady: (handle: ServeHandle, stop: () => void) => void): Promise<ServeTotals> {
  const loop = newLoop(backend);
  try {
    return await loop.runUntilComplete(
      loop.createTask(async () => {
        const handle = await startServe(loop, opts);
        const stopped = loop.createFuture<void>();
        onReady(handle, () => {
          if (!stopped.done()) loop.callSoonThreadsafe(() => !stopped.done() && stopped.setResult(undefined));
        });
        await stopped;
        await handle.close();
        return { connections: handle.stats.connections, requests: handle.stats.requests };
      }),
    );
  } finally {
    if (!loop.isRunning()) loop.close();
  }
}
