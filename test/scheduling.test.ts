import { backendTest } from "./helpers/backends.js";

backendTest("callSoon runs callbacks in FIFO order with their arguments", async (t, { loop }) => {
  const seen: number[] = [];
  for (let i = 0; i < 1000; i++) loop.callSoon((n: number) => seen.push(n), i);
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  t.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i));
});

backendTest("callSoon from a callback runs in the next iteration, after what was queued", async (t, { loop }) => {
  const seen: string[] = [];
  loop.callSoon(() => {
    seen.push("a");
    loop.callSoon(() => seen.push("c"));
  });
  loop.callSoon(() => seen.push("b"));
  loop.callSoon(() => loop.callSoon(() => loop.stop()));
  await loop.runForever();
  t.deepEqual(seen, ["a", "b", "c"]);
});

backendTest("timers fire in deadline order, ties in scheduling order", async (t, { loop }) => {
  const seen: string[] = [];
  loop.callLater(30, () => seen.push("30"));
  loop.callLater(10, () => seen.push("10a"));
  loop.callLater(20, () => seen.push("20"));
  loop.callLater(10, () => seen.push("10b"));
  const at = loop.time() + 5;
  loop.callAt(at, () => seen.push("at5"));
  loop.callLater(40, () => loop.stop());
  await loop.runForever();
  t.deepEqual(seen, ["at5", "10a", "10b", "20", "30"]);
});

backendTest("a timer never fires before its deadline", async (t, { loop }) => {
  const lateness: number[] = [];
  for (const d of [1, 5, 13, 25]) {
    const when = loop.time() + d;
    loop.callAt(when, () => lateness.push(loop.time() - when));
  }
  loop.callLater(40, () => loop.stop());
  await loop.runForever();
  t.is(lateness.length, 4);
  for (const l of lateness) t.true(l >= 0, `fired ${-l} ms early`);
});

backendTest("callLater(0) runs after callbacks already queued with callSoon", async (t, { loop }) => {
  const seen: string[] = [];
  loop.callLater(0, () => seen.push("later0"));
  loop.callSoon(() => seen.push("soon"));
  loop.callLater(1, () => loop.stop());
  await loop.runForever();
  t.deepEqual(seen, ["soon", "later0"]);
});

backendTest("a negative delay is treated as 0", async (t, { loop }) => {
  const seen: string[] = [];
  loop.callLater(-50, () => seen.push("neg"));
  loop.callSoon(() => seen.push("soon"));
  loop.callLater(2, () => loop.stop());
  await loop.runForever();
  t.deepEqual(seen, ["soon", "neg"]);
});

backendTest("cancelled handles and timers never run", async (t, { loop }) => {
  const seen: string[] = [];
  const h = loop.callSoon(() => seen.push("soon"));
  const th = loop.callLater(5, () => seen.push("timer"));
  const kept = loop.callLater(6, () => seen.push("kept"));
  t.false(h.cancelled());
  h.cancel();
  th.cancel();
  th.cancel(); // idempotent
  t.true(h.cancelled());
  t.true(th.cancelled());
  t.false(kept.cancelled());
  t.true(Math.abs(kept.when() - (loop.time() + 6)) < 5);
  loop.callLater(15, () => loop.stop());
  await loop.runForever();
  t.deepEqual(seen, ["kept"]);
});

backendTest("a timer cancelled from an earlier callback of the same iteration does not run", async (t, { loop }) => {
  const seen: string[] = [];
  const when = loop.time() + 3;
  let second: { cancel(): void } | null = null;
  loop.callAt(when, () => {
    seen.push("first");
    second!.cancel();
  });
  second = loop.callAt(when, () => seen.push("second"));
  loop.callLater(10, () => loop.stop());
  await loop.runForever();
  t.deepEqual(seen, ["first"]);
});

backendTest("cancelled timers leave the heap at once and the earliest live one still fires", async (t, { loop }) => {
  const handles = [];
  for (let i = 0; i < 5000; i++) handles.push(loop.callLater(1 + i / 100, () => t.fail("cancelled timer ran")));
  let fired = false;
  loop.callLater(20, () => {
    fired = true;
    loop.stop();
  });
  const heap = (loop as unknown as { _timers: { length: number } })._timers;
  t.is(heap.length, 5001);
  for (let i = 0; i < handles.length; i += 2) handles[i].cancel();
  t.is(heap.length, 2501);
  for (let i = 1; i < handles.length; i += 2) handles[i].cancel();
  t.is(heap.length, 1, "cancelled timers were not removed");
  await loop.runForever();
  t.true(fired);
});

backendTest("stop() inside a callback ends the run after the current iteration", async (t, { loop }) => {
  const seen: string[] = [];
  loop.callSoon(() => {
    seen.push("a");
    loop.stop();
    loop.callSoon(() => seen.push("next-iteration"));
  });
  loop.callSoon(() => seen.push("b"));
  await loop.runForever();
  t.deepEqual(seen, ["a", "b"]);
  t.false(loop.isRunning());
  // The loop can run again; the callback queued before stop runs then.
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  t.deepEqual(seen, ["a", "b", "next-iteration"]);
});

backendTest("stop() before runForever runs exactly one iteration", async (t, { loop }) => {
  const seen: string[] = [];
  loop.callSoon(() => {
    seen.push("first");
    loop.callSoon(() => seen.push("second"));
  });
  loop.stop();
  await loop.runForever();
  t.deepEqual(seen, ["first"]);
  loop.callSoon(() => loop.stop());
  await loop.runForever();
});

backendTest("callSoonThreadsafe wakes a loop idle in a timer wait", async (t, { loop }) => {
  const seen: string[] = [];
  loop.callLater(60_000, () => t.fail("should not wait for this timer"));
  setTimeout(() => loop.callSoonThreadsafe(() => {
    seen.push("threadsafe");
    loop.stop();
  }), 10);
  const t0 = Date.now();
  await loop.runForever();
  t.deepEqual(seen, ["threadsafe"]);
  t.true(Date.now() - t0 < 30_000);
});

backendTest("a Worker reaches the loop through threadsafeWaker()", async (t, { loop }) => {
  const { Worker } = await import("node:worker_threads");
  const got: unknown[] = [];
  const port = (loop as unknown as { threadsafeWaker(cb: (m: unknown) => void): import("node:worker_threads").MessagePort }).threadsafeWaker((msg) => {
    got.push(msg);
    if (got.length === 3) loop.stop();
  });
  const worker = new Worker(
    `const { workerData } = require("node:worker_threads");
     for (let i = 0; i < 3; i++) workerData.port.postMessage({ i });
     workerData.port.close();`,
    { eval: true, workerData: { port }, transferList: [port] },
  );
  // Listened for before the loop runs: the Worker may exit (and 'exit' be emitted) while
  // runForever() is still running, before an await after it could attach a listener.
  const exited = new Promise((r) => worker.once("exit", r));
  await loop.runForever();
  await exited;
  t.deepEqual(got, [{ i: 0 }, { i: 1 }, { i: 2 }]);
});

backendTest("time() is monotonic milliseconds", async (t, { loop }) => {
  const a = loop.time();
  await new Promise((r) => setTimeout(r, 20));
  const b = loop.time();
  t.true(b - a >= 15 && b - a < 5000, `elapsed ${b - a} ms`);
});

backendTest("timers with random deadlines and random cancels fire in (deadline, scheduling) order", async (t, { loop }) => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const base = loop.time();
  const expected: [number, number][] = [];
  const fired: number[] = [];
  const handles = [];
  for (let i = 0; i < 2000; i++) {
    // Deadlines in the past (all due at the first iteration) with many ties.
    const when = base - 100 + Math.floor(rand() * 50);
    handles.push(loop.callAt(when, () => fired.push(i)));
    expected.push([when, i]);
  }
  const cancelled = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    if (rand() < 0.4) {
      handles[i].cancel();
      cancelled.add(i);
    }
  }
  loop.callLater(1, () => loop.stop());
  await loop.runForever();
  const order = expected.filter(([, i]) => !cancelled.has(i)).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
  t.deepEqual(fired, order);
});
