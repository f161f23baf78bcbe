// io_uring-specific behaviour: the ring round trip, one wake-up for many timers, CQ
// overflow, close with ops in flight, teardown in worker threads.
import test from "ava";
import { Worker } from "node:worker_threads";
import { UringEventLoop } from "ringloop";
import { uringUnavailableReason, fixture, openFds, settleFds } from "./helpers/backends.js";

const reason = uringUnavailableReason();
const uringTest = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;

interface Internals {
  _proactor: {
    nop(h: { _complete(res: number, flags: number, slot: number): void }): number;
    ring: { pending: number; inflight: number; gen(slot: number): number };
    flags: string[];
  };
  pendingOps(): number;
}

function internals(loop: UringEventLoop): Internals {
  return loop as unknown as Internals;
}

uringTest("[uring] NOPs round-trip through the ring with slot and generation intact", async (t) => {
  const loop = new UringEventLoop();
  const p = internals(loop)._proactor;
  const results: [number, number][] = [];
  const slots = new Set<number>();
  const handler = {
    _complete(res: number, _flags: number, slot: number) {
      results.push([res, slot]);
      if (results.length === 1000) loop.stop();
    },
  };
  const gens = new Map<number, number>();
  for (let i = 0; i < 1000; i++) {
    const slot = p.nop(handler);
    slots.add(slot);
    gens.set(slot, p.ring.gen(slot));
  }
  t.is(loop.pendingOps(), 1000);
  await loop.runForever();
  t.is(results.length, 1000);
  t.true(results.every(([res]) => res === 0));
  t.deepEqual(new Set(results.map(([, s]) => s)), slots);
  t.is(loop.pendingOps(), 0);
  // A reused slot gets a new generation.
  const again = p.nop(handler);
  t.not(p.ring.gen(again), gens.get(again) ?? -1);
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  loop.close();
});

uringTest("[uring] 1000 timers use ONE timeout op in the ring", async (t) => {
  const loop = new UringEventLoop();
  const ring = internals(loop)._proactor.ring;
  let fired = 0;
  let maxInflight = 0;
  for (let i = 0; i < 1000; i++) {
    loop.callLater(5 + (i % 50), () => {
      fired++;
      maxInflight = Math.max(maxInflight, ring.pending);
      if (fired === 1000) loop.stop();
    });
  }
  loop.callSoon(() => (maxInflight = Math.max(maxInflight, ring.pending)));
  await loop.runForever();
  t.is(fired, 1000);
  t.true(maxInflight <= 2, `ops in the ring while timers wait: ${maxInflight}`); // the armed timeout (+ one being removed)
  loop.close();
});

uringTest("[uring] CQ overflow loses no completion (8-entry CQ, 500 NOPs at once)", async (t) => {
  const loop = new UringEventLoop({ entries: 4 });
  const p = internals(loop)._proactor;
  let done = 0;
  const handler = {
    _complete(res: number) {
      if (res === 0) done++;
      if (done === 500) loop.stop();
    },
  };
  for (let i = 0; i < 500; i++) p.nop(handler);
  await loop.runForever();
  t.is(done, 500);
  loop.close();
});

uringTest("[uring] the ring runs with COOP_TASKRUN | SINGLE_ISSUER, never DEFER_TASKRUN or SQPOLL", (t) => {
  const loop = new UringEventLoop();
  const flags = loop.ringFlags;
  t.true(flags.includes("COOP_TASKRUN"), flags.join());
  t.true(flags.includes("SINGLE_ISSUER"), flags.join());
  t.false(flags.includes("DEFER_TASKRUN"));
  t.false(flags.includes("SQPOLL"));
  loop.close();
});

uringTest("[uring] close with ops in flight cancels them and releases the ring fd", async (t) => {
  const before = openFds();
  const loop = new UringEventLoop();
  t.is(openFds(), before + 1, "one fd for the ring");
  loop.callLater(60_000, () => {});
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  loop.close();
  t.is(await settleFds(before), before);
  t.is(loop.pendingOps(), 0);
});

uringTest("[uring] bad ring options are rejected with a clear error", (t) => {
  t.throws(() => new UringEventLoop({ entries: -1 }), { instanceOf: RangeError, message: /entries/ });
  t.throws(() => new UringEventLoop({ entries: "x" as never }), { instanceOf: TypeError, message: /entries/ });
  t.throws(() => new UringEventLoop({ maxOps: 0 }), { instanceOf: RangeError, message: /maxOps/ });
  t.throws(() => new UringEventLoop(null as never), { instanceOf: TypeError });
});

for (const mode of ["return", "exit", "throw"]) {
  uringTest(`[uring] a worker thread that ends with a ring open and ops in flight (${mode}) tears down cleanly`, async (t) => {
    const before = openFds();
    const worker = new Worker(fixture("ring-worker.js"), { workerData: { mode } });
    const messages: string[] = [];
    worker.on("message", (m: string) => messages.push(m));
    const errors: Error[] = [];
    worker.on("error", (e) => errors.push(e));
    const code = await new Promise<number>((r) => worker.once("exit", r));
    t.true(messages.includes("ring open"), messages.join());
    if (mode === "throw") {
      t.is(code, 1);
      t.regex(String(errors[0]), /deliberate/);
    } else {
      t.is(code, mode === "exit" ? 3 : 0);
      t.deepEqual(errors, []);
    }
    t.true((await settleFds(before)) <= before, "worker's ring fds released");
  });
}

for (const mode of ["exit", "terminate"]) {
  uringTest(`[uring] a worker that ends with stream sockets open releases their fds (${mode})`, async (t) => {
    const before = openFds();
    const worker = new Worker(fixture("stream-worker.js"), { workerData: { mode } });
    const connected = new Promise<void>((r) => worker.once("message", () => r()));
    const exited = new Promise<number>((r) => worker.once("exit", r));
    await connected;
    if (mode === "terminate") await worker.terminate();
    t.is(await exited, mode === "exit" ? 3 : 1);
    t.true((await settleFds(before)) <= before, "listener, both connection ends and the ring closed");
  });
}

uringTest("[uring] ASYNC_CANCEL through the stage: the target completes with -ECANCELED, then its slot is free", async (t) => {
  const { OP_TIMEOUT, IORING_TIMEOUT_ABS, S_FLAGS } = await import("../src/uring/native.js");
  const { toTimespec } = await import("../src/clock.js");
  const loop = new UringEventLoop();
  const p = internals(loop)._proactor as Internals["_proactor"] & {
    cancel(slot: number): void;
    ring: { alloc(h: object): number; stageRecord(op: number, slot: number, fd: number): number; setField(o: number, f: number, v: number): void; setTimespec(o: number, s: number, n: number): void; pending: number };
  };
  const results: number[] = [];
  const handler = {
    _complete(res: number) {
      results.push(res);
      loop.stop();
    },
  };
  const slot = p.ring.alloc(handler);
  const off = p.ring.stageRecord(OP_TIMEOUT, slot, -1);
  p.ring.setField(off, S_FLAGS, IORING_TIMEOUT_ABS);
  const [sec, nsec] = toTimespec(loop.time() + 60_000);
  p.ring.setTimespec(off, sec, nsec);
  loop.callLater(5, () => p.cancel(slot));
  const before = p.ring.pending;
  await loop.runForever();
  t.deepEqual(results, [-125]);
  t.is(p.ring.pending, before - 1);
  loop.close();
});
