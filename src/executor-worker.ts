// The worker_threads side of WorkerPoolExecutor (see executor.ts). It runs one task at a
// time: the pool posts a TaskRequest only to a worker that has answered its previous one.
import { parentPort } from 'node:worker_threads';
import { inspect, types } from 'node:util';
import { argTypeError } from "./validate.js";

/** Pool -> worker: call export `name` of the module at `url` with `args`. */
export interface TaskRequest {
  url: string; // file: URL, as import() takes it
  filename: string; // as the caller gave it, for messages
  name: string;
  args: unknown[];
}

/** An Error flattened to structured-clone-safe data; executor.ts rebuilds it. */
export interface SerializedError {
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown>; // own enumerable primitive-valued properties (code, errno, ...)
  cause?: SerializedError;
}

/** Worker -> pool: the outcome of the last TaskRequest. */
export type TaskReply = { ok: true; value: unknown } | { ok: false; error: SerializedError };

type Namespace = Record<string, unknown>;

const port = parentPort;
if (port === null) {
  throw new Error('executor-worker.js is the WorkerPoolExecutor worker; it runs only inside a worker thread');
}

// import() caches modules itself; this map also keeps a failed import from being cached here.
const modules = new Map<string, Promise<Namespace>>();

function load(url: string): Promise<Namespace> {
  let ns = modules.get(url);
  if (ns === undefined) {
    ns = import(url) as Promise<Namespace>;
    modules.set(url, ns);
    ns.catch(() => modules.delete(url));
  }
  return ns;
}

function findExport(ns: Namespace, req: TaskRequest): (...args: unknown[]) => unknown {
  const own = ns[req.name];
  if (typeof own === 'function') return own as (...args: unknown[]) => unknown;
  // A CommonJS module's exports the loader could not detect statically are still
  // properties of module.exports, which import() gives as `default`.
  const def = ns.default;
  if (def !== null && (typeof def === 'object' || typeof def === 'function')) {
    const fn = (def as Namespace)[req.name];
    if (typeof fn === 'function') return (fn as (...args: unknown[]) => unknown).bind(def);
  }
  throw argTypeError(`${req.filename} does not export a function named "${req.name}"`, "ERR_INVALID_RETURN_VALUE");
}

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol');
}

function serializeError(thrown: unknown, depth = 0): SerializedError {
  const err =
    types.isNativeError(thrown) || thrown instanceof Error
      ? (thrown as Error)
      : new Error(`task threw a non-Error value: ${inspect(thrown, { depth: 2 })}`);
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(err)) {
    const v = (err as unknown as Namespace)[key];
    if (key !== 'name' && key !== 'message' && key !== 'stack' && isPrimitive(v)) props[key] = v;
  }
  const out: SerializedError = { name: String(err.name), message: String(err.message), stack: err.stack, props };
  const cause = (err as { cause?: unknown }).cause;
  if (depth < 4 && (types.isNativeError(cause) || cause instanceof Error)) out.cause = serializeError(cause, depth + 1);
  return out;
}

async function run(req: TaskRequest): Promise<TaskReply> {
  try {
    const fn = findExport(await load(req.url), req);
    return { ok: true, value: await fn(...req.args) };
  } catch (err) {
    return { ok: false, error: serializeError(err) };
  }
}

port.on('message', (req: TaskRequest) => {
  void run(req).then((reply) => {
    try {
      port.postMessage(reply);
    } catch (err) {
      // The result could not be structured-cloned; nothing was sent, so report that instead.
      const e = new Error(
        `the result of ${req.name}() from ${req.filename} cannot be sent back from the worker: ${(err as Error).message}`,
      );
      e.name = 'DataCloneError';
      port.postMessage({ ok: false, error: serializeError(e) } satisfies TaskReply);
    }
  });
});
