// Runs one static server on a fresh loop of the chosen backend until told to stop, then
// shuts it down gracefully. The same code runs in the main thread (one worker) and in
// each worker thread (--workers N).
import { policyFor } from "../policy.js";
import type { BaseEventLoop } from "../base-events.js";
import type { AbstractEventLoop, ExceptionContext } from "../events.js";
import { startServe, type ServeHandle, type ServeOptions, type ServeSnapshot } from "./server.js";

export type BackendChoice = "uring" | "fallback" | null;

export function newLoop(backend: BackendChoice): BaseEventLoop {
  return policyFor(backend).newEventLoop() as BaseEventLoop;
}

/** What one server did, reported when it has stopped. */
export interface ServeTotals {
  connections: number;
  requests: number;
  /** Refused at the connection limit. */
  refused: number;
  /** The snapshot taken after the graceful close, before the loop closed (ops in flight: 0). */
  final: ServeSnapshot;
}

/**
 * The command's exception handler: the reports a server makes in normal operation (accept
 * failing for lack of descriptors, once per episode; connections refused at the limit,
 * once per episode) become ONE line on stderr, no stack; anything else goes to the loop's
 * default handler (message and stack: a bug to report).
 */
export function serveExceptionHandler(loop: AbstractEventLoop, context: ExceptionContext): void {
  const exc = context.exception as { code?: string; message?: string } | undefined;
  if (context.message === "socket.accept() out of system resource") {
    const code = exc?.code ?? exc?.message ?? "error";
    const hint = code === "EMFILE" || code === "ENFILE" ? " (out of file descriptors: raise the open-file limit, ulimit -n, or lower --max-connections)" : "";
    process.stderr.write(`ringloop serve: cannot accept connections: ${code}${hint}; retrying\n`);
  } else if (exc === undefined && context.message?.startsWith("ringloop serve: ")) {
    process.stderr.write(`${context.message}\n`);
  } else {
    loop.defaultExceptionHandler(context);
  }
}

/**
 * Serves until the function given to `onReady` is called; resolves after the graceful
 * close with the server's totals. Rejects when the server cannot start (bad directory,
 * port in use, ...).
 */
export async function runServe(backend: BackendChoice, opts: ServeOptions, onReady: (handle: ServeHandle, stop: () => void) => void): Promise<ServeTotals> {
  const loop = newLoop(backend);
  loop.setExceptionHandler(serveExceptionHandler);
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
        return { connections: handle.stats.connections, requests: handle.stats.requests, refused: handle.stats.refused, final: handle.snapshot() };
      }),
    );
  } finally {
    if (!loop.isRunning()) loop.close();
  }
}
