import { backendTest } from "./helpers/backends.js";
import { CancelledError, InvalidStateError, Future, Task } from "ringloop";

backendTest("Future: result, exception and done callbacks scheduled through the loop", async (t, { loop }) => {
  const fut = loop.createFuture<number>();
  t.false(fut.done());
  t.is(fut.getLoop(), loop);
  const calls: string[] = [];
  fut.addDoneCallback(() => calls.push("cb1"));
  const cb2 = () => calls.push("cb2");
  fut.addDoneCallback(cb2);
  fut.addDoneCallback(cb2);
  t.is(fut.removeDoneCallback(cb2), 2);
  fut.setResult(7);
  t.deepEqual(calls, [], "done callbacks are never called synchronously");
  t.is(await loop.runUntilComplete(fut), 7);
  t.deepEqual(calls, ["cb1"]);
  t.is(fut.result(), 7);
  t.is(fut.exception(), null);
});

backendTest("InvalidStateError: result/exception before done, setResult/setException after", async (t, { loop }) => {
  const fut = loop.createFuture<number>();
  t.throws(() => fut.result(), { instanceOf: InvalidStateError });
  t.throws(() => fut.exception(), { instanceOf: InvalidStateError });
  fut.setResult(1);
  t.throws(() => fut.setResult(2), { instanceOf: InvalidStateError, message: /FINISHED/ });
  t.throws(() => fut.setException(new Error("x")), { instanceOf: InvalidStateError });
  t.false(fut.cancel());
  const c = loop.createFuture();
  t.true(c.cancel("bye"));
  t.throws(() => c.setResult(1), { instanceOf: InvalidStateError, message: /CANCELLED/ });
  t.throws(() => c.result(), { instanceOf: CancelledError, message: "bye" });
  t.throws(() => c.exception(), { instanceOf: CancelledError });
  t.throws(() => fut.addDoneCallback(42 as never), { instanceOf: TypeError, message: /"callback"/ });
  t.throws(() => loop.createFuture().setException(undefined), { instanceOf: TypeError, message: /"exception"/ });
});

backendTest("runUntilComplete returns the result and rethrows a rejection", async (t, { loop }) => {
  t.is(await loop.runUntilComplete(Promise.resolve("ok")), "ok");
  const err = new Error("boom");
  await t.throwsAsync(loop.runUntilComplete(Promise.reject(err)), { is: err });
  const fut = loop.createFuture();
  loop.callLater(2, () => fut.setException(new RangeError("late")));
  await t.throwsAsync(loop.runUntilComplete(fut), { instanceOf: RangeError, message: "late" });
  await t.throwsAsync(loop.runUntilComplete(42 as never), { instanceOf: TypeError, message: /awaitable/ });
});

backendTest("runUntilComplete fails when the loop is stopped first", async (t, { loop }) => {
  const fut = loop.createFuture();
  loop.callSoon(() => loop.stop());
  await t.throwsAsync(loop.runUntilComplete(fut), { message: "Event loop stopped before Future completed." });
  fut.cancel();
});

backendTest("await on a Future inside a task", async (t, { loop }) => {
  const result = await loop.runUntilComplete(
    loop.createTask(async () => {
      const f = loop.createFuture<string>();
      loop.callLater(3, () => f.setResult("done"));
      return (await f) + "!";
    }),
  );
  t.is(result, "done!");
});

backendTest("a task starts on the next iteration and has a name", async (t, { loop }) => {
  let started = false;
  const task = loop.createTask(async () => {
    started = true;
    return 5;
  }, { name: "worker" });
  t.false(started);
  t.is(task.getName(), "worker");
  task.setName("renamed");
  t.is(task.getName(), "renamed");
  t.is(await loop.runUntilComplete(task), 5);
  t.true(started);
  t.true(task instanceof Task && task instanceof Future);
  t.regex(loop.createTask(Promise.resolve(1)).getName(), /^Task-\d+$/);
  await loop.runUntilComplete(Promise.resolve());
});

backendTest("task cancellation: the signal is aborted with CancelledError and the task ends cancelled", async (t, { loop }) => {
  let reason: unknown;
  const task = loop.createTask(async (signal) => {
    await new Promise((_resolve, reject) => {
      signal.addEventListener("abort", () => {
        reason = signal.reason;
        reject(signal.reason);
      });
    });
  });
  loop.callLater(2, () => t.true(task.cancel("stop it")));
  await t.throwsAsync(loop.runUntilComplete(task), { instanceOf: CancelledError });
  t.true(task.cancelled());
  t.true(reason instanceof CancelledError);
  t.is((reason as Error).message, "stop it");
  t.false(task.cancel());
});

backendTest("task cancelled before it starts never runs its function", async (t, { loop }) => {
  let ran = false;
  const task = loop.createTask(async () => {
    ran = true;
  });
  t.true(task.cancel());
  await t.throwsAsync(loop.runUntilComplete(task), { instanceOf: CancelledError });
  t.false(ran);
});

backendTest("a task that suppresses cancellation keeps its result; an AbortError also cancels", async (t, { loop }) => {
  const stubborn = loop.createTask(async (signal) => {
    await new Promise((r) => signal.addEventListener("abort", r));
    return "kept";
  });
  loop.callLater(1, () => stubborn.cancel());
  t.is(await loop.runUntilComplete(stubborn), "kept");
  t.false(stubborn.cancelled());

  const viaFetchStyle = loop.createTask(async (signal) => {
    await new Promise((_r, reject) => signal.addEventListener("abort", () => {
      const e = new Error("The operation was aborted");
      e.name = "AbortError";
      reject(e);
    }));
  });
  loop.callLater(1, () => viaFetchStyle.cancel());
  await t.throwsAsync(loop.runUntilComplete(viaFetchStyle), { instanceOf: CancelledError });
  t.true(viaFetchStyle.cancelled());
});

backendTest("a task over a bare Promise is cancelled at once and ignores the outcome", async (t, { loop }) => {
  let resolve!: (v: number) => void;
  const task = loop.createTask(new Promise<number>((r) => (resolve = r)));
  t.true(task.cancel());
  resolve(3);
  await t.throwsAsync(loop.runUntilComplete(task), { instanceOf: CancelledError });
  t.true(task.cancelled());
});

backendTest("task rejection becomes the task's exception", async (t, { loop }) => {
  const task = loop.createTask(async () => {
    throw new SyntaxError("bad");
  });
  await t.throwsAsync(loop.runUntilComplete(task), { instanceOf: SyntaxError });
  t.true(task.exception() instanceof SyntaxError);
  const sync = loop.createTask(() => {
    throw new Error("sync throw");
  });
  await t.throwsAsync(loop.runUntilComplete(sync), { message: "sync throw" });
});

backendTest("setTaskFactory / getTaskFactory", async (t, { loop }) => {
  t.is(loop.getTaskFactory(), null);
  const made: string[] = [];
  const factory = (l: typeof loop, coro: never, opts?: { name?: string }) => {
    made.push(opts?.name ?? "?");
    return new Task(coro, { loop: l, name: opts?.name });
  };
  loop.setTaskFactory(factory as never);
  t.is(loop.getTaskFactory(), factory as never);
  t.is(await loop.runUntilComplete(loop.createTask(async () => 9, { name: "via-factory" })), 9);
  t.deepEqual(made, ["via-factory"]);
  loop.setTaskFactory(null);
  t.throws(() => loop.setTaskFactory(5 as never), { instanceOf: TypeError, message: /"factory"/ });
});
