import { backendTest } from "./helpers/backends.js";
import type { Handle } from "ringloop";

backendTest("a throwing callback reaches the exception handler with asyncio's keys, and the loop goes on", async (t, { loop, takeExceptions }) => {
  const err = new Error("callback failed");
  let handle: Handle | undefined;
  const after: string[] = [];
  handle = loop.callSoon(function failing() {
    throw err;
  });
  loop.callSoon(() => after.push("next callback ran"));
  loop.callLater(1, () => {
    throw "not an Error";
  });
  loop.callLater(5, () => loop.stop());
  await loop.runForever();
  t.deepEqual(after, ["next callback ran"]);
  const ex = takeExceptions();
  t.is(ex.length, 2);
  t.is(ex[0].exception, err);
  t.is(ex[0].handle, handle);
  t.regex(ex[0].message!, /^Exception in callback failing\(\)/);
  t.is(ex[1].exception, "not an Error");
  t.is(typeof ex[1].handle, "object");
});

backendTest("exception handler get/set, the default handler, and a throwing handler", async (t, { loop }) => {
  const mine = loop.getExceptionHandler();
  t.is(typeof mine, "function");
  const logged: string[] = [];
  const stderrWrite = process.stderr.write.bind(process.stderr);
  (process.stderr as { write: unknown }).write = (chunk: string) => {
    logged.push(String(chunk));
    return true;
  };
  try {
    loop.setExceptionHandler(null);
    t.is(loop.getExceptionHandler(), null);
    loop.callExceptionHandler({ message: "direct call", exception: new TypeError("inner"), extra: 1 });
    loop.setExceptionHandler(() => {
      throw new Error("handler itself broke");
    });
    loop.callSoon(() => {
      throw new Error("from callback");
    });
    loop.callSoon(() => loop.stop());
    await loop.runForever();
  } finally {
    (process.stderr as { write: unknown }).write = stderrWrite;
    loop.setExceptionHandler(mine);
  }
  const text = logged.join("");
  t.regex(text, /direct call\nextra: 1\nTypeError: inner/);
  t.regex(text, /Unhandled error in exception handler/);
  t.regex(text, /handler itself broke/);
  t.regex(text, /from callback/, "the original context is logged too");
});

backendTest("an exception in a task's done callback goes to the handler", async (t, { loop, takeExceptions }) => {
  const task = loop.createTask(async () => 1);
  task.addDoneCallback(() => {
    throw new Error("in done callback");
  });
  await loop.runUntilComplete(task);
  await loop.runUntilComplete(Promise.resolve());
  const ex = takeExceptions();
  t.is(ex.length, 1);
  t.is((ex[0].exception as Error).message, "in done callback");
});
