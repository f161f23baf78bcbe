// Argument checks shared by every public entry point: a TypeError/RangeError that names
// the argument and says what was received (Node's ERR_INVALID_ARG_TYPE wording).
import type { Callback } from "./events.js";

export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") return `function ${value.name || "<anonymous>"}`;
  if (typeof value === "object") return `an instance of ${value.constructor?.name ?? "Object"}`;
  return `type ${typeof value} (${String(value)})`;
}

export function validateCallback(callback: unknown, name = "callback"): asserts callback is Callback {
  if (typeof callback !== "function") {
    throw new TypeError(`The "${name}" argument must be a function. Received ${describeType(callback)}`);
  }
}

export function validateMs(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(`The "${name}" argument must be a number (milliseconds). Received ${describeType(value)}`);
  }
  if (!Number.isFinite(value)) throw new RangeError(`The "${name}" argument must be a finite number. Received ${value}`);
}

/** An optional AbortSignal option (`name`: how errors name it). */
export function validateSignal(signal: unknown, name = "opts.signal"): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new TypeError(`The "${name}" option must be an AbortSignal. Received ${describeType(signal)}`);
  return signal;
}

/** The `signal` of an optional options object `opts` (undefined or an object). */
export function signalOption(opts: unknown): AbortSignal | undefined {
  if (opts === undefined) return undefined;
  if (opts === null || typeof opts !== "object") throw new TypeError(`The "opts" argument must be of type object. Received ${describeType(opts)}`);
  return validateSignal((opts as { signal?: unknown }).signal);
}
