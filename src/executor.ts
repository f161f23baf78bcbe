// Executors for loop.runInExecutor(): a worker_threads pool running tasks named as
// { filename, name }, and an inline executor running plain functions on the loop's thread.
//
// Argument errors (a task that is not a valid WorkerTask, a non-function for InlineExecutor)
// throw synchronously from submit(); anything that happens after acceptance, including
// submitting to a shut-down executor, rejects the returned Promise.
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SerializedError, TaskReply, TaskRequest } from './executor-worker.js';
import type { Executor } from './events.js';
import { argRangeError, argTypeError } from "./validate.js";

/** A function exported by a module: `filename` is an absolute path or a file: URL. */
export interface WorkerTask {
  filename: string;
  name: string;
}

export function isWorkerTask(x: unknown): x is WorkerTask {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as WorkerTask).filename === 'string' &&
    typeof (x as WorkerTask).name === 'string'
  );
}

const SHUT_DOWN = 'executor is shut down';
const WORKER_FILE = path.join(__dirname, 'executor-worker.js');
const TIMER_MAX = 2 ** 31 - 1; // longer setTimeout delays fire at once; treat them as "never"

/** Validates a task and returns the file: URL import() takes. */
function taskURL(task: unknown): string {
  if (typeof task === 'function') {
    throw argTypeError(
      "WorkerPoolExecutor runs tasks given as { filename, name }; to run a function on the loop's thread use InlineExecutor",
    );
  }
  if (!isWorkerTask(task)) {
    throw argTypeError('WorkerPoolExecutor.submit: task must be { filename: string, name: string }');
  }
  if (task.name === '') throw argTypeError('WorkerPoolExecutor.submit: task.name must be a non-empty export name', "ERR_INVALID_ARG_VALUE");
  const f = task.filename;
  if (path.isAbsolute(f)) return pathToFileURL(f).href;
  if (/^file:/i.test(f)) {
    try {
      fileURLToPath(f);
    } catch (err) {
      throw argTypeError(`WorkerPoolExecutor.submit: task.filename is not a usable file: URL: ${f}`, "ERR_INVALID_ARG_VALUE", { cause: err });
    }
    return new URL(f).href;
  }
  throw argTypeError(
    `WorkerPoolExecutor.submit: task.filename must be absolute (a path or a file: URL), got ${JSON.stringify(f)}`, "ERR_INVALID_ARG_VALUE");
}

const ERROR_CLASSES: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Rebuilds a worker's error: built-in class by name where there is one, else Error with that name. */
function reviveError(s: SerializedError): Error {
  const Class = Object.hasOwn(ERROR_CLASSES, s.name) ? ERROR_CLASSES[s.name] : Error;
  const err = new Class(s.message);
  const hidden = { writable: true, configurable: true, enumerable: false };
  if (err.name !== s.name) Object.defineProperty(err, 'name', { ...hidden, value: s.name });
  Object.assign(err, s.props);
  if (s.cause !== undefined) Object.defineProperty(err, 'cause', { ...hidden, value: reviveError(s.cause) });
  if (s.stack !== undefined) Object.defineProperty(err, 'stack', { ...hidden, value: s.stack });
  return err;
}

interface Job {
  task: WorkerTask;
  url: string;
  args: unknown[];
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

interface Slot {
  worker: Worker;
  job: Job | null; // the task this worker is running
  idleTimer: NodeJS.Timeout | null;
  crash: Error | null; // from the worker's 'error' event, reported on 'exit'
}

function describeTask(task: WorkerTask): string {
  return `${task.name}() from ${task.filename}`;
}

/**
 * A pool of worker_threads. At most `maxWorkers` workers run at once, each one task at a
 * time; extra tasks wait in FIFO order. Workers start on demand, are unref'd while idle (an
 * idle pool never keeps the process alive) and end after `idleTimeoutMs` idle.
 */
export class WorkerPoolExecutor implements Executor {
  readonly maxWorkers: number;
  readonly idleTimeoutMs: number;
  #slots = new Set<Slot>();
  #idle: Slot[] = []; // most recently used last, so the others are the ones that time out
  #queue: Job[] = [];
  #shutdown: Promise<void> | null = null;
  #onDrained: (() => void) | null = null;

  constructor(opts: { maxWorkers?: number; idleTimeoutMs?: number } = {}) {
    if (typeof opts !== 'object' || opts === null) throw argTypeError('WorkerPoolExecutor: options must be an object');
    const { maxWorkers = Math.max(1, os.availableParallelism()), idleTimeoutMs = 30_000 } = opts;
    if (typeof maxWorkers !== 'number') throw argTypeError('WorkerPoolExecutor: maxWorkers must be a number');
    if (!Number.isInteger(maxWorkers) || maxWorkers < 1) {
      throw argRangeError(`WorkerPoolExecutor: maxWorkers must be an integer >= 1, got ${maxWorkers}`);
    }
    if (typeof idleTimeoutMs !== 'number') throw argTypeError('WorkerPoolExecutor: idleTimeoutMs must be a number');
    if (Number.isNaN(idleTimeoutMs) || idleTimeoutMs < 0) {
      throw argRangeError(`WorkerPoolExecutor: idleTimeoutMs must be >= 0 (Infinity: never), got ${idleTimeoutMs}`);
    }
    this.maxWorkers = maxWorkers;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  /**
   * Runs export `task.name` of module `task.filename` in a worker with `args` (structured
   * clones) and resolves with its awaited result. A task that throws rejects with an Error
   * carrying the worker's name, message, stack and primitive properties such as `code`.
   */
  submit(task: WorkerTask, ...args: unknown[]): Promise<unknown> {
    const url = taskURL(task);
    if (this.#shutdown !== null) return Promise.reject(new Error(SHUT_DOWN));
    const { filename, name } = task;
    return new Promise((resolve, reject) => {
      this.#queue.push({ task: { filename, name }, url, args, resolve, reject });
      this.#pump();
    });
  }

  /** Refuses new tasks, waits for running and queued ones, then ends the workers. Idempotent. */
  shutdown(): Promise<void> {
    this.#shutdown ??= new Promise<void>((resolve) => {
      this.#onDrained = resolve;
      this.#pump();
    }).then(() => this.#terminateAll());
    return this.#shutdown;
  }

  /** Starts queued jobs on idle or new workers; then reports a drained pool to shutdown(). */
  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#idle.pop();
      if (slot === undefined) {
        if (this.#slots.size >= this.maxWorkers) return;
        try {
          slot = this.#spawn();
        } catch (err) {
          this.#queue.shift()!.reject(err);
          continue;
        }
      }
      this.#start(slot, this.#queue.shift()!);
    }
    if (this.#onDrained !== null && ![...this.#slots].some((s) => s.job !== null)) {
      const done = this.#onDrained;
      this.#onDrained = null;
      done();
    }
  }

  #start(slot: Slot, job: Job): void {
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
    const { url, task, args } = job;
    try {
      slot.worker.postMessage({ url, filename: task.filename, name: task.name, args } satisfies TaskRequest);
    } catch (err) {
      // Nothing was sent: the worker is still free.
      const e = new Error(`the arguments of ${describeTask(task)} cannot be sent to a worker: ${(err as Error).message}`, {
        cause: err,
      });
      e.name = 'DataCloneError';
      job.reject(e);
      this.#release(slot);
      return;
    }
    slot.job = job;
    slot.worker.ref();
  }

  /** Makes a worker idle: unref'd, and ended after idleTimeoutMs unless reused. */
  #release(slot: Slot): void {
    slot.job = null;
    slot.worker.unref();
    this.#idle.push(slot);
    if (this.idleTimeoutMs <= TIMER_MAX) {
      slot.idleTimer = setTimeout(() => this.#retire(slot), this.idleTimeoutMs).unref();
    }
  }

  #retire(slot: Slot): void {
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
    this.#slots.delete(slot);
    const i = this.#idle.indexOf(slot);
    if (i !== -1) this.#idle.splice(i, 1);
    void slot.worker.terminate().catch(() => {});
  }

  async #terminateAll(): Promise<void> {
    const workers = [...this.#slots].map((s) => s.worker);
    for (const slot of [...this.#slots]) this.#retire(slot);
    await Promise.all(workers.map((w) => w.terminate().catch(() => {})));
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_FILE);
    const slot: Slot = { worker, job: null, idleTimer: null, crash: null };
    this.#slots.add(slot);
    worker.on('message', (reply: TaskReply) => {
      const job = slot.job;
      if (job === null) return;
      this.#release(slot);
      if (reply.ok) job.resolve(reply.value);
      else job.reject(reviveError(reply.error));
      this.#pump();
    });
    worker.on('messageerror', (err: Error) => {
      const job = slot.job;
      if (job === null) return;
      this.#release(slot);
      job.reject(new Error(`the result of ${describeTask(job.task)} could not be received from the worker`, { cause: err }));
      this.#pump();
    });
    // An error outside a task (or one that escaped it) ends the worker; 'exit' follows.
    worker.on('error', (err: Error) => {
      slot.crash = err;
    });
    worker.on('exit', (code: number) => {
      const job = slot.job;
      slot.job = null;
      this.#retire(slot);
      if (job !== null) {
        const what = `the worker running ${describeTask(job.task)}`;
        job.reject(
          slot.crash !== null
            ? new Error(`${what} crashed: ${slot.crash.message}`, { cause: slot.crash })
            : new Error(`${what} exited with code ${code}`),
        );
      }
      this.#pump(); // a replacement worker takes the queued tasks
    });
    return slot;
  }
}

/**
 * Runs plain functions on the current thread, each on a later microtask (never inside
 * submit()), resolving with the awaited result.
 */
export class InlineExecutor implements Executor {
  #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw argTypeError(`InlineExecutor.submit: fn must be a function, got ${typeof fn}`);
    if (this.#closed) return Promise.reject(new Error(SHUT_DOWN));
    const result = Promise.resolve().then(() => fn(...args)) as Promise<Awaited<R>>;
    const forget = () => this.#inFlight.delete(result);
    this.#inFlight.add(result);
    result.then(forget, forget);
    return result;
  }

  /** Refuses new calls and resolves once the calls already submitted have settled. Idempotent. */
  async shutdown(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#inFlight);
  }
}
