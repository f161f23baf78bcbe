// run(main): asyncio.run. A new loop from the policy runs main to completion; then the
// tasks still pending are cancelled and awaited, async generators and the default
// executor are shut down, and the loop is closed, whatever happened.
import { getRunningLoopOrNull } from "./running.js";
import { newEventLoop, setEventLoop } from "./policy.js";
import type { BaseEventLoop } from "./base-events.js";
import { describeType, argTypeError } from "./validate.js";

export interface RunOptions {
  /** Debug mode for the new loop (RINGLOOP_DEBUG=1 also turns it on). */
  debug?: boolean;
}

export async function run<T>(main: (signal: AbortSignal) => PromiseLike<T> | T, opts: RunOptions = {}): Promise<T> {
  if (typeof main !== "function") {
    throw argTypeError(`The "main" argument must be a function returning a Promise. Received ${describeType(main)}`);
  }
  if (opts === null || typeof opts !== "object") throw argTypeError("The \"opts\" argument must be an object");
  if (getRunningLoopOrNull() !== null) throw new Error("run() cannot be called from a running event loop");
  const loop = newEventLoop() as BaseEventLoop;
  if (opts.debug !== undefined) loop.setDebug(opts.debug);
  setEventLoop(loop);
  try {
    return await loop.runUntilComplete(loop.createTask<T>(main, { name: "main" }));
  } finally {
    try {
      await cancelAllTasks(loop);
      await loop.runUntilComplete(loop.shutdownAsyncgens());
      await loop.runUntilComplete(loop.shutdownDefaultExecutor());
    } finally {
      setEventLoop(null);
      loop.close();
    }
  }
}

async function cancelAllTasks(loop: BaseEventLoop): Promise<void> {
  const pending = [...loop.allTasks()];
  if (pending.length === 0) return;
  for (const task of pending) task.cancel();
  await loop.runUntilComplete(Promise.allSettled(pending));
  for (const task of pending) {
    if (task.cancelled()) continue;
    const exception = task.exception();
    if (exception !== null) {
      loop.callExceptionHandler({ message: "unhandled exception during run() shutdown", exception, task });
    }
  }
}
