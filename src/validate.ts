// Argument checks shared by every public entry point: a TypeError/RangeError that names
// the argument, says what was received (Node's ERR_INVALID_ARG_TYPE wording) and carries
// Node's code (argTypeError / argRangeError below: the library's only makers of them).
import type { Callback } from "./events.js";

export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") return `function ${value.name || "<anonymous>"}`;
  if (typeof value === "object") return `an instance of ${value.constructor?.name ?? "Object"}`;
  return `type ${typeof value} (${String(value)})`;
}

export function validateCallback(callback: unknown, name = "callback"): asserts callback is Callback {
  if (typeof callback !== "function") {
    throw argTypeError(`The "${name}" argument must be a function. Received ${describeType(callback)}`);
  }
}

export function validateMs(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number") {
    throw argTypeError(`The "${name}" argument must be a number (milliseconds). Received ${describeType(value)}`);
  }
  if (!Number.isFinite(value)) throw argRangeError(`The "${name}" argument must be a finite number. Received ${value}`);
}

/** An optional AbortSignal option (`name`: how errors name it). */
export function validateSignal(signal: unknown, name = "opts.signal"): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw argTypeError(`The "${name}" option must be an AbortSignal. Received ${describeType(signal)}`);
  return signal;
}

/** The `signal` of an optional options object `opts` (undefined or an object). */
export function signalOption(opts: unknown): AbortSignal | undefined {
  if (opts === undefined) return undefined;
  if (opts === null || typeof opts !== "object") throw argTypeError(`The "opts" argument must be of type object. Received ${describeType(opts)}`);
  return validateSignal((opts as { signal?: unknown }).signal);
}

/** The codes Node gives its argument errors, and ERR_INVALID_RETURN_VALUE for a callback's result. */
export type ArgErrorCode =
  | "ERR_INVALID_ARG_TYPE"
  | "ERR_INVALID_ARG_VALUE"
  | "ERR_OUT_OF_RANGE"
  | "ERR_MISSING_ARGS"
  | "ERR_INVALID_RETURN_VALUE"
  | "ERR_UNKNOWN_SIGNAL";

export type CodedTypeError = TypeError & { code: ArgErrorCode };
export type CodedRangeError = RangeError & { code: ArgErrorCode };

// The one place the library makes argument errors: every TypeError/RangeError it throws for
// a bad argument, option or callback result comes from these two (test/arg-errors.test.ts
// keeps it so). As Node's own: `code` set, and the stack's first line names it
// ("TypeError [ERR_INVALID_ARG_TYPE]: ...") while `name` stays "TypeError".
function coded<E extends Error>(err: E, code: ArgErrorCode, caller: Function): E & { code: ArgErrorCode } {
  const out = err as E & { code: ArgErrorCode };
  out.code = code;
  Error.captureStackTrace(out, caller);
  if (typeof out.stack === "string") out.stack = out.stack.replace(err.name, `${err.name} [${code}]`);
  return out;
}

/** A TypeError with Node's code (default ERR_INVALID_ARG_TYPE: the argument has the wrong type). */
export function argTypeError(message: string, code: ArgErrorCode = "ERR_INVALID_ARG_TYPE", options?: ErrorOptions): CodedTypeError {
  return coded(new TypeError(message, options), code, argTypeError);
}

/** A RangeError with Node's code (default ERR_OUT_OF_RANGE: a number outside its range). */
export function argRangeError(message: string, code: ArgErrorCode = "ERR_OUT_OF_RANGE"): CodedRangeError {
  return coded(new RangeError(message), code, argRangeError);
}
