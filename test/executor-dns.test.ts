import { backendTest, fixture } from "./helpers/backends.js";
import { InlineExecutor, WorkerPoolExecutor } from "ringloop";

const tasks = fixture("executor-tasks.cjs");

backendTest("runInExecutor(null, task): the default worker pool returns the result", async (t, { loop }) => {
  const out = await loop.runUntilComplete(loop.runInExecutor<number>(null, { filename: tasks, name: "add" }, 2, 40));
  t.is(out, 42);
  const threadId = await loop.runUntilComplete(loop.runInExecutor<number>(null, { filename: tasks, name: "threadId" }));
  t.not(threadId, 0, "ran in a worker thread");
  await loop.runUntilComplete(loop.shutdownDefaultExecutor());
});

backendTest("runInExecutor: a task's error keeps its class, message and code", async (t, { loop }) => {
  const err = await t.throwsAsync(loop.runUntilComplete(loop.runInExecutor(null, { filename: tasks, name: "fail" }, "EBADTHING")));
  t.is(err!.message, "task failed");
  t.is((err as Error & { code?: string }).code, "EBADTHING");
  await t.throwsAsync(loop.runUntilComplete(loop.runInExecutor(null, { filename: tasks, name: "missing" })), { instanceOf: TypeError });
  await loop.runUntilComplete(loop.shutdownDefaultExecutor());
});

backendTest("the default executor refuses a plain function and points to InlineExecutor", async (t, { loop }) => {
  t.throws(() => loop.runInExecutor(null, () => 1), { instanceOf: TypeError, message: /InlineExecutor/ });
});

backendTest("InlineExecutor runs a function on the loop's thread; setDefaultExecutor", async (t, { loop }) => {
  const inline = new InlineExecutor();
  t.is(await loop.runUntilComplete(loop.runInExecutor<number>(inline, (a: number) => a * 2, 21)), 42);
  await t.throwsAsync(loop.runUntilComplete(loop.runInExecutor(inline, () => {
    throw new RangeError("inline fail");
  })), { instanceOf: RangeError });
  const pool = new WorkerPoolExecutor({ maxWorkers: 1 });
  loop.setDefaultExecutor(pool);
  t.is(await loop.runUntilComplete(loop.runInExecutor<number>(null, { filename: tasks, name: "add" }, 1, 1)), 2);
  await loop.runUntilComplete(loop.shutdownDefaultExecutor());
  await t.throwsAsync(pool.submit({ filename: tasks, name: "add" }, 1, 1), { message: /shut down/ });
});

backendTest("getaddrinfo('localhost') and getnameinfo", async (t, { loop }) => {
  const infos = await loop.runUntilComplete(loop.getaddrinfo("localhost", 80, { type: 1 }));
  t.true(infos.length >= 1);
  for (const ai of infos) {
    t.true(ai.family === 4 || ai.family === 6);
    t.is(ai.port, 80);
    t.is(ai.type, 1);
    t.is(ai.proto, 6);
  }
  t.true(infos.some((ai) => ai.host === "127.0.0.1" || ai.host === "::1"));
  const all = await loop.runUntilComplete(loop.getaddrinfo("127.0.0.1", "80"));
  t.deepEqual(all.map((a) => a.type).sort(), [1, 2, 3]);
  const [host, service] = await loop.runUntilComplete(loop.getnameinfo({ host: "127.0.0.1", port: 22 }, 1 | 2));
  t.deepEqual([host, service], ["127.0.0.1", "22"]);
  const err = await t.throwsAsync(loop.runUntilComplete(loop.getaddrinfo("nonexistent.invalid", 80)));
  t.is((err as Error & { code?: string }).code, "ENOTFOUND");
  await t.throwsAsync(async () => loop.getaddrinfo(5 as never, 80), { instanceOf: TypeError });
});
