// One suite, every backend: backendTest("name", fn) registers "[uring] name" and
// "[fallback] name". RINGLOOP_REQUIRE_URING=1 turns an unavailable uring backend into a
// failing test instead of a skip (CI sets it). Teardown fails on: ops still in flight, an
// fd leaked, a loop left running, or an exception-handler call the test did not claim.
import test, { type ExecutionContext } from "ava";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  backendReport,
  setEventLoopPolicy,
  setEventLoop,
  UringEventLoopPolicy,
  FallbackEventLoopPolicy,
  type AbstractEventLoop,
  type ExceptionContext,
} from "ringloop";

export type BackendName = "uring" | "fallback";
export const BACKENDS: BackendName[] = ["uring", "fallback"];

export interface LoopContext {
  backend: BackendName;
  loop: AbstractEventLoop & { pendingOps(): number };
  /** Exception-handler calls so far; claim them with takeExceptions() or teardown fails. */
  exceptions: ExceptionContext[];
  takeExceptions(): ExceptionContext[];
  /** Makes a policy of this backend (for tests that build loops themselves). */
  newPolicy(): UringEventLoopPolicy | FallbackEventLoopPolicy;
}

export function uringUnavailableReason(): string | null {
  const report = backendReport();
  const failed = report.checks.find((c) => c.name !== "override" && !c.ok);
  return failed ? `${failed.name}: ${failed.detail}` : null;
}

const requireUring = process.env.RINGLOOP_REQUIRE_URING === "1";

export function openFds(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

/** Waits until the fd count is back to `expected` (workers and closing handles may lag). */
export async function settleFds(expected: number, timeoutMs = 3000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let n = openFds();
  while (n > expected && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    n = openFds();
  }
  return n;
}

function makePolicy(backend: BackendName): UringEventLoopPolicy | FallbackEventLoopPolicy {
  return backend === "uring" ? new UringEventLoopPolicy() : new FallbackEventLoopPolicy();
}

type Body = (t: ExecutionContext, ctx: LoopContext) => Promise<void> | void;

export function backendTest(name: string, body: Body): void {
  for (const backend of BACKENDS) registerOne(backend, name, body);
}

/** A test of something only the io_uring backend has, with backendTest's checks ("[uring] name"). */
export function uringOnlyTest(name: string, body: Body): void {
  registerOne("uring", name, body);
}

function registerOne(backend: BackendName, name: string, body: Body): void {
  const title = `[${backend}] ${name}`;
  if (backend === "uring") {
    const reason = uringUnavailableReason();
    if (reason !== null) {
      if (requireUring) {
        test.serial(title, (t) => t.fail(`io_uring backend unavailable (RINGLOOP_REQUIRE_URING=1): ${reason}`));
      } else {
        test.serial.skip(`${title} (io_uring unavailable: ${reason})`, () => {});
      }
      return;
    }
  }
  test.serial(title, async (t) => {
    const fdsBefore = openFds();
    const policy = makePolicy(backend);
    setEventLoopPolicy(policy);
    const loop = policy.newEventLoop() as LoopContext["loop"];
    setEventLoop(loop);
    const exceptions: ExceptionContext[] = [];
    loop.setExceptionHandler((_l, context) => {
      exceptions.push(context);
    });
    const ctx: LoopContext = {
      backend,
      loop,
      exceptions,
      takeExceptions: () => exceptions.splice(0, exceptions.length),
      newPolicy: () => makePolicy(backend),
    };
    try {
      await body(t, ctx);
      t.false(loop.isRunning(), "loop still running at the end of the test");
      t.is(loop.pendingOps(), 0, "operations still in flight at the end of the test");
      t.deepEqual(
        exceptions.map((c) => `${c.message}: ${String(c.exception)}`),
        [],
        "exception handler called and not claimed by the test",
      );
    } finally {
      if (!loop.isRunning()) loop.close();
      setEventLoop(null);
      setEventLoopPolicy(null);
    }
    const fdsAfter = await settleFds(fdsBefore);
    t.true(fdsAfter <= fdsBefore, `fd leak: ${fdsBefore} open before, ${fdsAfter} after`);
  });
}

/** Resolves after `ms` of real time (Node timer), independent of any ringloop loop. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Path of a file in test/fixtures (plain JS, not compiled: tests run from dist/cjs/test). */
export function fixture(name: string): string {
  return path.resolve(__dirname, "../../../../test/fixtures", name);
}
