// --workers N (N > 1): N worker threads, each running its own loop, ring and server on
// the same port with SO_REUSEPORT (the kernel spreads connections over them). With port
// 0 the first worker picks the port and the others join it. The main thread forwards
// stop (SIGINT/SIGTERM) to every worker and waits for their graceful close.
// A worker that ends on its own (a crash) makes the pool report failure: the command then
// stops the others and exits 1.
// The fallback backend on Node < 22.12 cannot set SO_REUSEPORT: the first worker fails
// with a NotImplementedError saying so, and so does the command.
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { BackendChoice, ServeTotals } from "./run.js";
import type { ServeOptions, ServeSnapshot } from "./server.js";

export interface WorkerReady {
  url: string;
  port: number;
  backend: string;
  root: string;
}

export interface WorkerPool {
  ready: WorkerReady;
  /** Resolves with an Error when a worker ends before stop() was asked for. */
  failed: Promise<Error>;
  /** Asks every worker to stop; resolves when all have stopped, with each one's totals. */
  stop(): Promise<ServeTotals[]>;
  /** Each worker's ServeHandle.snapshot() now (one message round trip per worker). */
  snapshots(): Promise<ServeSnapshot[]>;
}

const WORKER_MAIN = path.join(__dirname, "worker-main.js");

interface Started {
  worker: Worker;
  ready: WorkerReady;
  /** Resolves when the thread has exited. */
  exited: Promise<void>;
  /** Its totals, once it has reported them after its graceful close. */
  totals: ServeTotals;
  /** Snapshot requests waiting for the worker's answer, in order. */
  snapshotWaiters: Array<(s: ServeSnapshot) => void>;
}

function startOne(backend: BackendChoice, options: ServeOptions): Promise<Started> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_MAIN, { workerData: { backend, options } });
    let settled = false;
    const exited = new Promise<void>((res) => worker.once("exit", () => res()));
    const totals = { connections: 0, requests: 0, refused: 0 } as ServeTotals;
    const snapshotWaiters: Array<(s: ServeSnapshot) => void> = [];
    worker.on("message", (m: { type: string; message?: string; snapshot?: ServeSnapshot } & WorkerReady & ServeTotals) => {
      if (m.type === "stopped") {
        totals.connections = m.connections;
        totals.requests = m.requests;
        totals.refused = m.refused;
        totals.final = m.final;
      } else if (m.type === "snapshot") {
        snapshotWaiters.shift()?.(m.snapshot!);
      } else if (m.type === "ready" && !settled) {
        settled = true;
        resolve({ worker, ready: m, exited, totals, snapshotWaiters });
      } else if (m.type === "error" && !settled) {
        settled = true;
        reject(new Error(m.message));
      }
    });
    worker.once("error", (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    worker.once("exit", (code) => {
      if (!settled) {
        settled = true;
        reject(new Error(`worker exited with code ${code} before serving`));
      }
    });
  });
}

export async function startWorkers(n: number, backend: BackendChoice, options: ServeOptions): Promise<WorkerPool> {
  const started: Started[] = [];
  let stopping = false;
  const stopAll = async (): Promise<ServeTotals[]> => {
    stopping = true;
    for (const w of started) w.worker.postMessage("stop");
    await Promise.all(started.map((w) => w.exited));
    return started.map((w) => w.totals);
  };
  try {
    const first = await startOne(backend, options);
    started.push(first);
    const rest = await Promise.allSettled(Array.from({ length: n - 1 }, () => startOne(backend, { ...options, port: first.ready.port })));
    for (const r of rest) if (r.status === "fulfilled") started.push(r.value);
    const rejected = rest.find((r) => r.status === "rejected");
    if (rejected !== undefined) throw (rejected as PromiseRejectedResult).reason;
    const failed = new Promise<Error>((resolve) => {
      for (const w of started) {
        w.worker.once("exit", (code) => {
          if (!stopping) resolve(new Error(`a worker thread ended unexpectedly (exit code ${code})`));
        });
      }
    });
    const snapshots = (): Promise<ServeSnapshot[]> =>
      Promise.all(
        started.map(
          (w) =>
            new Promise<ServeSnapshot>((resolve) => {
              w.snapshotWaiters.push(resolve);
              w.worker.postMessage("snapshot");
            }),
        ),
      );
    return { ready: first.ready, failed, stop: stopAll, snapshots };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
