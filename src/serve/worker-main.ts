// Entry of one --workers thread: its own loop and ring, the same port (SO_REUSEPORT).
// Messages: to the thread "stop" and "snapshot"; from it {type: "ready", url, port, backend},
// {type: "error", message}, {type: "snapshot", snapshot} (an answer to each "snapshot") and,
// after the graceful close, {type: "stopped", ...ServeTotals} (the worker's totals).
import { parentPort, workerData } from "node:worker_threads";
import { runServe, type BackendChoice } from "./run.js";
import type { ServeHandle, ServeOptions } from "./server.js";

const port = parentPort!;
const data = workerData as { backend: BackendChoice; options: ServeOptions };
let stopRequested = false;
let stopFn: (() => void) | null = null;
let served: ServeHandle | null = null;
port.on("message", (m) => {
  if (m === "snapshot" && served !== null) port.postMessage({ type: "snapshot", snapshot: served.snapshot() });
  if (m !== "stop") return;
  stopRequested = true;
  stopFn?.();
});

runServe(data.backend, { ...data.options, reusePort: true }, (handle, stop) => {
  stopFn = stop;
  served = handle;
  port.postMessage({ type: "ready", url: handle.url, port: handle.port, backend: handle.backend, root: handle.root });
  if (stopRequested) stop();
}).then(
  (totals) => {
    port.postMessage({ type: "stopped", ...totals });
    port.close();
  },
  (err: unknown) => {
    const e = err as { message?: string };
    port.postMessage({ type: "error", message: e.message ?? String(err) });
    port.close();
  },
);
