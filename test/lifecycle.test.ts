import test from "ava";
import { spawnSync } from "node:child_process";
import { backendTest, BACKENDS, uringUnavailableReason, fixture } from "./helpers/backends.js";
import { getRunningLoop, getEventLoop, run, newEventLoop } from "ringloop";

backendTest("isRunning, getRunningLoop and getEventLoop inside and outside a run", async (t, { loop }) => {
  t.false(loop.isRunning());
  t.throws(() => getRunningLoop(), { message: "no running event loop" });
  t.is(getEventLoop(), loop, "the policy's current loop");
  let inside: unknown;
  await loop.runUntilComplete(
    loop.createTask(async () => {
      inside = [loop.isRunning(), getRunningLoop() === loop, getEventLoop() === loop];
    }),
  );
  t.deepEqual(inside, [true, true, true]);
  t.false(loop.isRunning());
});

backendTest("running twice, or a second loop at once, is an error", async (t, { loop, newPolicy }) => {
  const other = newPolicy().newEventLoop();
  let errors: string[] = [];
  await loop.runUntilComplete(
    loop.createTask(async () => {
      errors = await Promise.all([
        loop.runForever().then(() => "no error", (e: Error) => e.message),
        other.runForever().then(() => "no error", (e: Error) => e.message),
      ]);
    }),
  );
  other.close();
  t.deepEqual(errors, ["This event loop is already running", "Cannot run the event loop while another loop is running"]);
});

backendTest("close: idempotent, not while running, and later calls say the loop is closed", async (t, { loop }) => {
  const pending = loop.callLater(1000, () => t.fail("closed loop ran a timer"));
  await loop.runUntilComplete(
    loop.createTask(async () => {
      t.throws(() => loop.close(), { message: "Cannot close a running event loop" });
    }),
  );
  loop.close();
  loop.close();
  t.true(loop.isClosed());
  t.false(pending.cancelled(), "close drops handles; it does not cancel them");
  const closed = { message: "Event loop is closed", code: "ERR_LOOP_CLOSED" };
  t.throws(() => loop.callSoon(() => {}), closed);
  t.throws(() => loop.callLater(1, () => {}), closed);
  t.throws(() => loop.callAt(1, () => {}), closed);
  t.throws(() => loop.createFuture(), closed);
  t.throws(() => loop.createTask(Promise.resolve()), closed);
  t.throws(() => loop.runInExecutor(null, { filename: "/x.js", name: "f" }), closed);
  await t.throwsAsync(loop.runForever(), closed);
  await t.throwsAsync(loop.runUntilComplete(Promise.resolve()), closed);
  await t.throwsAsync(async () => loop.getaddrinfo("localhost", 80), closed);
});

backendTest("bad arguments get TypeError/RangeError naming the argument", async (t, { loop }) => {
  t.throws(() => loop.callSoon("nope" as never), { instanceOf: TypeError, message: /"callback" argument must be a function/ });
  t.throws(() => loop.callSoon(undefined as never), { instanceOf: TypeError });
  t.throws(() => loop.callSoonThreadsafe(null as never), { instanceOf: TypeError });
  t.throws(() => loop.callLater(NaN, () => {}), { instanceOf: RangeError, message: /"delayMs".*finite.*NaN/ });
  t.throws(() => loop.callLater(Infinity, () => {}), { instanceOf: RangeError });
  t.throws(() => loop.callLater("5" as never, () => {}), { instanceOf: TypeError, message: /"delayMs" argument must be a number/ });
  t.throws(() => loop.callLater(5, {} as never), { instanceOf: TypeError, message: /"callback"/ });
  t.throws(() => loop.callAt(NaN, () => {}), { instanceOf: RangeError, message: /"whenMs"/ });
  t.throws(() => loop.setExceptionHandler("x" as never), { instanceOf: TypeError, message: /"handler"/ });
  t.throws(() => loop.setDefaultExecutor({} as never), { instanceOf: TypeError, message: /"executor"/ });
  t.throws(() => loop.createTask(42 as never), { instanceOf: TypeError, message: /"coro"/ });
  await t.throwsAsync(run("main" as never), { instanceOf: TypeError, message: /"main"/ });
});

backendTest("shutdownAsyncgens closes registered async generators and reports their errors", async (t, { loop, takeExceptions }) => {
  const events: string[] = [];
  async function* clean() {
    try {
      yield 1;
      yield 2;
    } finally {
      events.push("clean finally");
    }
  }
  async function* broken() {
    try {
      yield 1;
    } finally {
      // eslint-disable-next-line no-unsafe-finally
      throw new Error("cleanup failed");
    }
  }
  const reg = loop as unknown as { registerAsyncgen<G>(g: G): G };
  const a = reg.registerAsyncgen(clean());
  const b = reg.registerAsyncgen(broken());
  await loop.runUntilComplete(
    loop.createTask(async () => {
      await a.next();
      await b.next();
    }),
  );
  await loop.runUntilComplete(loop.shutdownAsyncgens());
  t.deepEqual(events, ["clean finally"]);
  const ex = takeExceptions();
  t.is(ex.length, 1);
  t.is(ex[0].message, "an error occurred during closing of asynchronous generator");
  t.is(ex[0].asyncgen, b);
  t.throws(() => reg.registerAsyncgen(clean()), { message: /after loop.shutdownAsyncgens/ });
});

for (const backend of BACKENDS) {
  const reason = backend === "uring" ? uringUnavailableReason() : null;
  const register = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;
  const script = fixture("keepalive.js");

  register(`[${backend}] a running loop keeps the process alive; an idle one does not`, (t) => {
    const env = { ...process.env, RINGLOOP_BACKEND: backend };
    const running = spawnSync(process.execPath, [script, "run-timer"], { env, encoding: "utf8", timeout: 20_000 });
    t.is(running.status, 0, running.stderr);
    t.regex(running.stdout, /timer fired after \d+ ms\nbackend=\w+\ndone/);
    t.true(running.stdout.includes(`backend=${backend}`));
    const idle = spawnSync(process.execPath, [script, "idle"], { env, encoding: "utf8", timeout: 20_000 });
    t.is(idle.status, 0, idle.stderr);
    t.regex(idle.stdout, /exited with loop idle/);
    t.notRegex(idle.stdout, /timer ran/);
  });

  register(`[${backend}] run() returns main's result, cancels leftover tasks and closes its loop`, async (t) => {
    const { setEventLoopPolicy, UringEventLoopPolicy, FallbackEventLoopPolicy } = await import("ringloop");
    setEventLoopPolicy(backend === "uring" ? new UringEventLoopPolicy() : new FallbackEventLoopPolicy());
    try {
      let leftover: { cancelled(): boolean } | undefined;
      let used: { isClosed(): boolean; backend: string } | undefined;
      const result = await run(async () => {
        const loop = getRunningLoop();
        used = loop;
        leftover = loop.createTask(async (signal) => {
          await new Promise((_r, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
        });
        await loop.createTask(async () => "x");
        return 41 + 1;
      });
      t.is(result, 42);
      t.true(leftover!.cancelled());
      t.true(used!.isClosed());
      t.is(used!.backend, backend);
      await t.throwsAsync(run(async () => run(async () => 1)), { message: "run() cannot be called from a running event loop" });
      const loop = newEventLoop();
      t.is(loop.backend, backend);
      loop.close();
    } finally {
      setEventLoopPolicy(null);
    }
  });
}
