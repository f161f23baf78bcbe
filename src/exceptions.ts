// Library errors (API.md "errors"). System errors come from system-error.ts instead.

/** The operation was cancelled (asyncio.CancelledError). Also the reason a Task's signal is aborted with. */
export class CancelledError extends Error {
  override name = "CancelledError";
  constructor(message = "") {
    super(message);
  }
}

/** A Future or Task was not in the state the call needs (asyncio.InvalidStateError). */
export class InvalidStateError extends Error {
  override name = "InvalidStateError";
}

/** The operation exceeded its deadline (asyncio.TimeoutError). */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** The platform or the socket cannot take the native sendfile path and fallback was false. */
export class SendfileNotAvailableError extends Error {
  override name = "SendfileNotAvailableError";
}

/** A read ended before the expected number of bytes (asyncio.IncompleteReadError). */
export class IncompleteReadError extends Error {
  override name = "IncompleteReadError";
  constructor(
    readonly partial: Buffer,
    readonly expected: number | null,
  ) {
    super(`${partial.length} bytes read on a total of ${expected === null ? "undefined" : expected} expected bytes`);
  }
}

/** What a backend truly cannot offer; the message names the backend and what to use instead. */
export class NotImplementedError extends Error {
  override name = "NotImplementedError";
}

/** True for errors that mean "cancelled": our CancelledError and the DOM AbortError. */
export function isCancellation(err: unknown): boolean {
  if (err instanceof CancelledError) return true;
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "AbortError";
}

/**
 * Why an aborted operation failed: the signal's reason when it is an Error, else an Error
 * shaped like Node's own AbortError (name "AbortError", code "ABORT_ERR", the reason as
 * cause). A DOMException reason is not an Error in Node 20, hence the wrapping.
 */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const err = new Error("The operation was aborted", { cause: r }) as Error & { code: string };
  err.name = "AbortError";
  err.code = "ABORT_ERR";
  return err;
}
