// Unclosed-resource tracking (asyncio's ResourceWarning on __del__): an object garbage-
// collected without close() is reported in debug mode, and its cleanup runs in any case.
// The held state must never reference the tracked object (or it would never be collected).
import { logger } from "./log.js";

export interface ResourceState {
  /** What to call it in the warning, e.g. "event loop <UringEventLoop>". */
  what: string;
  /** Read at collection time: the owner keeps it equal to its debug flag. */
  debug: boolean;
  /** Releases what the object held (must not reference the object). */
  cleanup: (() => void) | null;
  /** Stack where the object was created (debug mode). */
  createdAt?: string;
}

const registry = new FinalizationRegistry<ResourceState>((state) => {
  if (state.debug) {
    logger.warning(`unclosed ${state.what}${state.createdAt ? `\nObject created at:\n${state.createdAt}` : ""}`);
  }
  try {
    state.cleanup?.();
  } catch (err) {
    logger.error(`cleanup of unclosed ${state.what} failed: ${String(err)}`);
  }
});

export function trackUnclosed(obj: object, state: ResourceState): void {
  registry.register(obj, state, state);
}

export function untrack(state: ResourceState): void {
  registry.unregister(state);
}
