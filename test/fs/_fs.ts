// Shared pieces of the fs suite: a temp dir per test (removed at the end), running a body
// inside the test's loop, and comparing our results with node:fs's.
import * as nfs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ExecutionContext } from "ava";
import type { AbstractEventLoop } from "ringloop";

/** Runs `body` as a Task on `loop` until it settles. */
export function inLoop<T>(loop: AbstractEventLoop, body: () => Promise<T>): Promise<T> {
  return loop.runUntilComplete(loop.createTask(() => body()));
}

/** A fresh directory under os.tmpdir(), removed when the test ends. */
export function tempDir(t: ExecutionContext): string {
  const dir = nfs.mkdtempSync(path.join(os.tmpdir(), "ringloop-fs-"));
  t.teardown(() => nfs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic bytes (not all equal, so misplaced chunks show). */
export function pattern(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export const STAT_FIELDS = [
  "dev", "mode", "nlink", "uid", "gid", "rdev", "blksize", "ino", "size", "blocks",
  "atimeMs", "mtimeMs", "ctimeMs", "birthtimeMs",
] as const;
export const STAT_DATES = ["atime", "mtime", "ctime", "birthtime"] as const;
export const STAT_METHODS = ["isFile", "isDirectory", "isSymbolicLink", "isBlockDevice", "isCharacterDevice", "isFIFO", "isSocket"] as const;

/** Field by field: every number, every Date, every is*() of Node's Stats. */
export function sameStats(t: ExecutionContext, ours: object, theirs: nfs.Stats, what: string): void {
  const o = ours as Record<string, unknown>;
  for (const k of STAT_FIELDS) t.is(o[k], theirs[k], `${what}.${k}`);
  for (const k of STAT_DATES) {
    t.true(o[k] instanceof Date, `${what}.${k} is a Date`);
    t.is((o[k] as Date).getTime(), theirs[k].getTime(), `${what}.${k}`);
  }
  for (const m of STAT_METHODS) t.is((o[m] as () => boolean).call(ours), theirs[m](), `${what}.${m}()`);
}

/** What a Node-style error is compared on. */
export function errorShape(err: unknown): { code: unknown; syscall: unknown; errno: unknown; path: unknown } {
  const e = err as { code?: unknown; syscall?: unknown; errno?: unknown; path?: unknown };
  return { code: e.code, syscall: e.syscall, errno: e.errno, path: e.path };
}

/** The error `p` rejects with (fails the test when it fulfils). */
export async function rejection(t: ExecutionContext, p: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  t.fail(`${what} did not reject`);
  return undefined;
}
