// loop.addSignalHandler / removeSignalHandler (asyncio unix_events.py), over Node's process
// signal events, the same on every backend.
//
// Rules (asyncio's):
//   - The callback runs on the loop, as a Handle put on the ready queue each time the signal
//     arrives (Node delivers signals to JS on the main thread's event loop, never inside the
//     signal handler); an exception it throws goes to the loop's exception handler.
//   - One handler per signal and loop: a second add replaces the first.
//   - SIGKILL and SIGSTOP cannot be caught, and unknown names or numbers are errors naming the
//     `signal` argument. Signals reach only the main thread: a loop in a Worker refuses.
//   - removeSignalHandler() returns whether there was one; once no listener is left on the
//     signal, Node restores its default disposition (a listener someone else added to the
//     same signal with process.on keeps it caught). loop.close() removes the loop's handlers.
//   - A signal handler keeps nothing alive: Node's signal watchers are unref'd.
import * as os from "node:os";
import { isMainThread } from "node:worker_threads";
import { Handle, type Callback, type HandleOwner } from "./events.js";
import { argRangeError, argTypeError, describeType, validateCallback } from "./validate.js";

/** What the handlers need from their loop. */
export interface SignalLoop extends HandleOwner {
  _checkClosed(): void;
  /** Puts `handle` on the ready queue and wakes a running loop (asyncio's _add_callback_signalsafe). */
  _addCallbackSignalsafe(handle: Handle): void;
}

const UNCATCHABLE = new Set(["SIGKILL", "SIGSTOP"]);
const SIGNALS = os.constants.signals as Record<string, number>;

/** The signal's name for `signal` (a name such as "SIGUSR1" or its number); errors name the argument. */
export function signalName(signal: unknown): NodeJS.Signals {
  let name: string | undefined;
  if (typeof signal === "string") {
    if (Object.prototype.hasOwnProperty.call(SIGNALS, signal)) name = signal;
  } else if (typeof signal === "number") {
    name = Object.keys(SIGNALS).find((n) => SIGNALS[n] === signal);
  } else {
    throw argTypeError(`The "signal" argument must be a signal name or number. Received ${describeType(signal)}`, "ERR_INVALID_ARG_TYPE");
  }
  if (name === undefined) throw argTypeError(`The "signal" argument is not a known signal. Received ${describeType(signal)}`, "ERR_UNKNOWN_SIGNAL");
  if (UNCATCHABLE.has(name)) throw argRangeError(`The "signal" argument must be a signal that can be caught; ${name} cannot be. Received ${describeType(signal)}`, "ERR_INVALID_ARG_VALUE");
  return name as NodeJS.Signals;
}

interface Entry {
  handle: Handle;
  readonly listener: () => void;
}

export class SignalHandlers {
  private readonly entries = new Map<NodeJS.Signals, Entry>();

  constructor(private readonly loop: SignalLoop) {}

  add(signal: unknown, callback: Callback, args: unknown[]): void {
    const name = signalName(signal);
    validateCallback(callback);
    this.loop._checkClosed();
    if (!isMainThread) {
      const err = new Error("addSignalHandler: Node delivers signals only to the main thread; add the handler on the main thread's loop and pass the news to this Worker (loop.threadsafeWaker)") as Error & { code: string };
      err.code = "ERR_SIGNAL_NOT_MAIN_THREAD";
      throw err;
    }
    const handle = new Handle(callback, args, this.loop);
    const old = this.entries.get(name);
    if (old !== undefined) {
      old.handle.cancel();
      old.handle = handle;
      return;
    }
    const entry: Entry = {
      handle,
      listener: () => {
        if (!entry.handle.cancelled()) this.loop._addCallbackSignalsafe(entry.handle);
      },
    };
    try {
      process.on(name, entry.listener);
    } catch (err) {
      process.removeListener(name, entry.listener);
      throw err; // uv_signal_start refused it (a system error with code)
    }
    this.entries.set(name, entry);
  }

  remove(signal: unknown): boolean {
    const name = signalName(signal);
    const entry = this.entries.get(name);
    if (entry === undefined) return false;
    this.entries.delete(name);
    entry.handle.cancel();
    process.removeListener(name, entry.listener);
    return true;
  }

  /** loop.close(): every handler goes. */
  removeAll(): void {
    for (const name of [...this.entries.keys()]) this.remove(name);
  }
}
