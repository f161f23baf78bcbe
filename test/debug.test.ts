import { backendTest, sleep } from "./helpers/backends.js";

function captureWarnings(): { messages: string[]; stop(): void } {
  const messages: string[] = [];
  const onWarning = (w: Error) => messages.push(w.message);
  process.on("warning", onWarning);
  return { messages, stop: () => process.off("warning", onWarning) };
}

backendTest("debug mode logs callbacks slower than slowCallbackDuration", async (t, { loop }) => {
  t.false(loop.getDebug());
  loop.setDebug(true);
  t.true(loop.getDebug());
  loop.slowCallbackDuration = 20;
  const w = captureWarnings();
  try {
    loop.callSoon(function slowOne() {
      const end = Date.now() + 40;
      while (Date.now() < end);
    });
    loop.callSoon(function fastOne() {});
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    await sleep(10);
  } finally {
    w.stop();
    loop.setDebug(false);
  }
  t.is(w.messages.filter((m) => /Executing <Handle slowOne\(\)> took \d+\.\d+ ms/.test(m)).length, 1, w.messages.join("\n"));
  t.false(w.messages.some((m) => m.includes("fastOne")));
});

backendTest("debug mode records where a handle was created", async (t, { loop, takeExceptions }) => {
  loop.setDebug(true);
  loop.callSoon(function thrower() {
    throw new Error("x");
  });
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  loop.setDebug(false);
  const [ctx] = takeExceptions();
  t.regex(String(ctx.sourceTraceback), /debug\.test\.[jt]s/);
});

backendTest("debug mode warns when a loop is garbage-collected unclosed", async (t, { newPolicy }) => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return t.fail("tests run with --expose-gc");
  const w = captureWarnings();
  try {
    process.env.RINGLOOP_DEBUG = "1"; // debug from creation on, so the creation stack is kept
    (() => {
      const lost = newPolicy().newEventLoop();
      delete process.env.RINGLOOP_DEBUG;
      t.true(lost.getDebug());
      lost.callLater(1000, () => {});
    })();
    for (let i = 0; i < 10 && !w.messages.some((m) => m.startsWith("unclosed event loop")); i++) {
      gc();
      await sleep(20);
    }
  } finally {
    w.stop();
  }
  t.true(w.messages.some((m) => /^unclosed event loop <\w+EventLoop backend=\w+>\nObject created at:/.test(m)), w.messages.join("\n"));
});
