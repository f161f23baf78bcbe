// Smoke test and NOP benchmark of the native addon alone (no TypeScript needed).
//   node scripts/smoke-native.cjs            (RINGLOOP_ADDON=path overrides the addon)
//   SMOKE_RUNS=5 node scripts/smoke-native.cjs   more benchmark runs (median reported)
"use strict";
const assert = require("node:assert/strict");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { Worker } = require("node:worker_threads");

const ADDON = process.env.RINGLOOP_ADDON
  ? path.resolve(process.env.RINGLOOP_ADDON)
  : path.resolve(__dirname, "../build/Release/ringloop.node");
const addon = require(ADDON);

// Mirrors src/uring/native.ts (the authority).
const NO_OP_INDEX = -1;
const REC = 16, S_OPCODE = 0, S_INDEX = 1, S_GEN = 2, S_FLAGS = 4;
const S_TARGET_INDEX = 6, S_TARGET_GEN = 7, S_TV_SEC = 8, S_TV_NSEC = 9;
const CREC = 4, C_INDEX = 0, C_GEN = 1, C_RES = 2, C_FLAGS = 3;
const CTRL_STAGED = 0, CTRL_INFLIGHT = 1;
const OP_NOP = 0, OP_TIMEOUT = 11, OP_TIMEOUT_REMOVE = 12, OP_ASYNC_CANCEL = 14;
const IORING_TIMEOUT_ABS = 1, IORING_TIMEOUT_UPDATE = 2, IORING_CQE_F_MORE = 2;
const ETIME = 62, ECANCELED = 125, EINVAL = 22;

const log = (...a) => console.log(...a);
const nowNs = () => process.hrtime.bigint(); // CLOCK_MONOTONIC
const turn = () => new Promise((r) => setImmediate(r));

function abs(deadlineNs) {
  return { sec: Number(deadlineNs / 1_000_000_000n), nsec: Number(deadlineNs % 1_000_000_000n) };
}

// A tiny op table over one Ring: promise per op, ref while ops are pending.
class Harness {
  constructor(entries, maxOps) {
    this.gens = new Int32Array(maxOps);
    this.pending = new Map(); // index -> resolve
    this.free = Array.from({ length: maxOps }, (_, i) => maxOps - 1 - i);
    this.delivered = 0;
    this.ring = new addon.Ring({ entries, maxOps, onCompletions: (n) => this.onCompletions(n) });
  }
  async stage(fields) {
    const r = this.ring;
    while (r.control[CTRL_STAGED] === r.stageCapacity) {
      const s = r.submit();
      if (r.control[CTRL_STAGED] === r.stageCapacity) {
        log(`  submit() -> ${s}, stage still full: waiting a turn`);
        await turn();
      }
    }
    const s = r.control[CTRL_STAGED];
    const o = s * REC;
    r.stage.fill(0, o, o + REC);
    for (const [k, v] of Object.entries(fields)) r.stage[o + Number(k)] = v;
    r.control[CTRL_STAGED] = s + 1;
  }
  // Stages an op with a fresh index/generation; resolves with its completion.
  async op(fields) {
    const index = this.free.pop();
    const gen = (this.gens[index] = (this.gens[index] + 1) | 0);
    const done = new Promise((resolve) => this.pending.set(index, resolve));
    if (this.pending.size === 1) this.ring.ref();
    await this.stage({ ...fields, [S_INDEX]: index, [S_GEN]: gen });
    return { index, gen, done };
  }
  onCompletions(n) {
    const c = this.ring.completions;
    for (let k = 0; k < n; k++) {
      const o = k * CREC;
      const index = c[o + C_INDEX];
      assert.equal(c[o + C_GEN], this.gens[index], "generation round trip");
      const resolve = this.pending.get(index);
      assert.ok(resolve, `completion for idle index ${index}`);
      if (c[o + C_FLAGS] & IORING_CQE_F_MORE) continue;
      this.pending.delete(index);
      this.free.push(index);
      this.delivered++;
      resolve({ res: c[o + C_RES], flags: c[o + C_FLAGS], at: nowNs() });
    }
    if (this.pending.size === 0) this.ring.unref();
    this.afterBatch?.(n);
  }
}

// ---- NOP round trips: stage -> prepare-hook submit -> reap -> onCompletions ------------------
function nopRun(depth, total) {
  return new Promise((resolve) => {
    const gens = new Int32Array(depth);
    let ring, stage, comp, control;
    let issued = 0, done = 0, batches = 0, start = 0n;
    const stageNop = (index) => {
      const s = control[CTRL_STAGED];
      const o = s * REC;
      stage[o + S_OPCODE] = OP_NOP;
      stage[o + S_INDEX] = index;
      stage[o + S_GEN] = gens[index];
      control[CTRL_STAGED] = s + 1;
    };
    ring = new addon.Ring({
      entries: depth, maxOps: depth,
      onCompletions(n) {
        batches++;
        for (let k = 0; k < n; k++) {
          const o = k * CREC;
          const index = comp[o + C_INDEX];
          if (comp[o + C_GEN] !== gens[index] || comp[o + C_RES] !== 0) {
            throw new Error(`bad NOP completion ${index}/${comp[o + C_GEN]} res ${comp[o + C_RES]}`);
          }
          done++;
          if (issued < total) {
            gens[index] = (gens[index] + 1) | 0;
            stageNop(index);
            issued++;
          }
        }
        if (done === total) {
          const ns = Number(nowNs() - start);
          assert.equal(control[CTRL_INFLIGHT], 0);
          ring.close();
          resolve({ rate: (total / ns) * 1e9, batches, inflightAfter: control[CTRL_INFLIGHT] });
        }
      },
    });
    ({ stage, completions: comp, control } = ring);
    start = nowNs();
    for (let i = 0; i < depth && issued < total; i++, issued++) stageNop(i);
    ring.ref();
  });
}

async function nopBenchmark() {
  log("NOP round trip (stage -> submit in uv_prepare -> reap -> onCompletions):");
  const check = await nopRun(256, 100_000);
  log(`  100000 NOPs at depth 256: all completed, generations verified, ${check.batches} batches`);
  const runs = Number(process.env.SMOKE_RUNS || 3);
  const rates = {};
  for (const [depth, total] of [[1, 200_000], [64, 2_000_000], [256, 3_000_000]]) {
    const r = [];
    for (let i = 0; i < runs; i++) r.push((await nopRun(depth, total)).rate);
    r.sort((a, b) => a - b);
    rates[depth] = r[Math.floor(r.length / 2)];
    log(`  depth ${String(depth).padStart(3)}: median ${(rates[depth] / 1e6).toFixed(2)} M ops/s  ` +
        `(runs: ${r.map((x) => (x / 1e6).toFixed(2)).join(", ")})`);
  }
  return rates;
}

// ---- timeouts ------------------------------------------------------------------------------
async function timeoutAbs() {
  const h = new Harness(8, 8);
  const t0 = nowNs();
  const { sec, nsec } = abs(t0 + 50_000_000n);
  const op = await h.op({ [S_OPCODE]: OP_TIMEOUT, [S_FLAGS]: IORING_TIMEOUT_ABS, [S_TV_SEC]: sec, [S_TV_NSEC]: nsec });
  const c = await op.done; // only the ring's ref() keeps the process alive here
  const ms = Number(c.at - t0) / 1e6;
  assert.equal(c.res, -ETIME);
  assert.ok(ms >= 50 && ms < 80, `fired after ${ms} ms`);
  log(`TIMEOUT ABS now+50ms: res ${c.res} (-ETIME) after ${ms.toFixed(2)} ms`);
  h.ring.close();
}

async function timeoutUpdate() {
  const h = new Harness(8, 8);
  const t0 = nowNs();
  let { sec, nsec } = abs(t0 + 500_000_000n);
  const op = await h.op({ [S_OPCODE]: OP_TIMEOUT, [S_FLAGS]: IORING_TIMEOUT_ABS, [S_TV_SEC]: sec, [S_TV_NSEC]: nsec });
  h.ring.submit();
  ({ sec, nsec } = abs(t0 + 30_000_000n));
  await h.stage({
    [S_OPCODE]: OP_TIMEOUT_REMOVE, [S_INDEX]: NO_OP_INDEX, [S_FLAGS]: IORING_TIMEOUT_UPDATE | IORING_TIMEOUT_ABS,
    [S_TARGET_INDEX]: op.index, [S_TARGET_GEN]: op.gen, [S_TV_SEC]: sec, [S_TV_NSEC]: nsec,
  });
  const c = await op.done;
  const ms = Number(c.at - t0) / 1e6;
  assert.equal(c.res, -ETIME);
  assert.ok(ms >= 30 && ms < 100, `updated timeout fired after ${ms} ms`);
  log(`TIMEOUT update 500ms -> 30ms (fire-and-forget TIMEOUT_REMOVE|UPDATE): res ${c.res} after ${ms.toFixed(2)} ms`);
  assert.equal(h.ring.control[CTRL_INFLIGHT], 0);
  h.ring.close();
}

async function timeoutCancel() {
  const h = new Harness(8, 8);
  const t0 = nowNs();
  const op = await h.op({ [S_OPCODE]: OP_TIMEOUT, [S_TV_SEC]: 10 });
  h.ring.submit();
  const cancel = await h.op({ [S_OPCODE]: OP_ASYNC_CANCEL, [S_TARGET_INDEX]: op.index, [S_TARGET_GEN]: op.gen });
  const [target, canceller] = await Promise.all([op.done, cancel.done]);
  assert.equal(target.res, -ECANCELED);
  assert.equal(canceller.res, 0);
  log(`TIMEOUT 10s + ASYNC_CANCEL: target ${target.res} (-ECANCELED), cancel ${canceller.res}, ` +
      `after ${(Number(target.at - t0) / 1e6).toFixed(2)} ms`);
  const bad = await h.op({ [S_OPCODE]: 200 });
  assert.equal((await bad.done).res, -EINVAL);
  log(`unknown opcode 200: res ${-EINVAL} (-EINVAL) through the kernel`);
  h.ring.close();
}

// ---- CQ overflow: 64 NOPs on a CQ of 8 -------------------------------------------------------
async function cqOverflow() {
  const h = new Harness(4, 64);
  let batches = 0, maxBatch = 0;
  h.afterBatch = (n) => { batches++; maxBatch = Math.max(maxBatch, n); };
  const ops = [];
  for (let i = 0; i < 64; i++) ops.push((await h.op({ [S_OPCODE]: OP_NOP })).done);
  // 60 completed in the kernel before any reap (CQ holds 8: 52 wait in the overflow list).
  assert.equal(h.ring.control[CTRL_INFLIGHT], 60);
  assert.equal(h.ring.control[CTRL_STAGED], 4);
  const results = await Promise.all(ops);
  assert.equal(results.length, 64);
  assert.ok(results.every((c) => c.res === 0));
  assert.equal(h.delivered, 64);
  assert.equal(h.ring.control[CTRL_INFLIGHT], 0);
  log(`CQ overflow (entries 4, CQ 8, completions ${h.ring.completionCapacity}): 60 NOPs completed before ` +
      `the first reap, 64/64 delivered in ${batches} batches of <= ${maxBatch}`);
  h.ring.close();
}

// ---- close, re-entrancy, exceptions ----------------------------------------------------------
async function closeInFlight() {
  const h = new Harness(8, 8);
  const op = await h.op({ [S_OPCODE]: OP_TIMEOUT, [S_TV_SEC]: 10 });
  let settled = false;
  op.done.then(() => { settled = true; });
  h.ring.submit();
  assert.equal(h.ring.control[CTRL_INFLIGHT], 1);
  const t0 = nowNs();
  h.ring.close();
  const ms = Number(nowNs() - t0) / 1e6;
  h.ring.close(); // idempotent
  assert.equal(h.ring.submit(), 0);
  h.ring.ref(); // no-op after close: must not keep the process alive
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(settled, false, "no completion is delivered after close()");
  assert.equal(h.ring.control[CTRL_INFLIGHT], 0);
  log(`close() with a 10s TIMEOUT in flight: returned in ${ms.toFixed(2)} ms, in-flight 0, nothing delivered`);
}

async function closeInCallback() {
  const h = new Harness(8, 8);
  let calls = 0;
  h.afterBatch = () => { calls++; h.ring.close(); };
  const a = await h.op({ [S_OPCODE]: OP_NOP });
  await a.done;
  await h.op({ [S_OPCODE]: OP_TIMEOUT, [S_TV_SEC]: 10 }); // staged after close: never submitted
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls, 1);
  log("close() inside onCompletions: safe, no further deliveries");
}

async function throwInCallback() {
  const h = new Harness(8, 8);
  const seen = [];
  const onUncaught = (err) => seen.push(err.message);
  process.on("uncaughtException", onUncaught);
  let thrown = false;
  h.afterBatch = () => { if (!thrown) { thrown = true; throw new Error("boom from onCompletions"); } };
  await (await h.op({ [S_OPCODE]: OP_NOP })).done;
  await new Promise((r) => setTimeout(r, 10));
  const again = await (await h.op({ [S_OPCODE]: OP_NOP })).done; // the ring still works
  process.off("uncaughtException", onUncaught);
  assert.deepEqual(seen, ["boom from onCompletions"]);
  assert.equal(again.res, 0);
  log("exception thrown by onCompletions: reached process 'uncaughtException', ring kept working");
  h.ring.close();
}

// ---- argument and setup errors, fd reuse, process.exit with ops in flight ---------------------
function child(code, ulimitFiles) {
  const script = `const addon = require(${JSON.stringify(ADDON)});\n${code}`;
  const cmd = `${ulimitFiles ? `ulimit -n ${ulimitFiles}; ` : ""}exec "$0" -e "$1"`;
  const r = spawnSync("sh", ["-c", cmd, process.execPath, script], { encoding: "utf8" });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

async function errors() {
  const expectThrow = (opts, name, re) => {
    assert.throws(() => new addon.Ring(opts), (e) => e.name === name && re.test(e.message));
  };
  const cb = () => {};
  expectThrow(undefined, "TypeError", /"options"/);
  expectThrow({ entries: 3, maxOps: 1, onCompletions: cb }, "RangeError", /"options\.entries".*power of two.*Received 3$/);
  expectThrow({ entries: "8", maxOps: 1, onCompletions: cb }, "TypeError", /"options\.entries"/);
  expectThrow({ entries: 8, maxOps: 0, onCompletions: cb }, "RangeError", /"options\.maxOps"/);
  expectThrow({ entries: 8, maxOps: 1.5, onCompletions: cb }, "RangeError", /"options\.maxOps"/);
  expectThrow({ entries: 8, maxOps: 8 }, "TypeError", /"options\.onCompletions"/);
  log("argument errors: TypeError / RangeError naming options.entries, options.maxOps, options.onCompletions");

  // io_uring_setup failure (EMFILE: no fd left): Node-style error; probe() does not throw.
  // The first (failing) construction warms UBSan's vptr cache: with no fd left, UBSan
  // cannot probe memory (it needs a pipe) and would report a false "invalid vptr".
  const r = child(`
    try { new addon.Ring({ entries: 3, maxOps: 4, onCompletions() {} }); } catch {}
    const fs = require("fs"); const fds = [];
    try { for (;;) fds.push(fs.openSync("/dev/null", "r")); } catch {}
    const p = addon.probe();
    let e; try { new addon.Ring({ entries: 4, maxOps: 4, onCompletions() {} }); } catch (err) { e = err; }
    for (const fd of fds) fs.closeSync(fd);
    console.log(JSON.stringify({ setupResult: p.setupResult, opcodes: Object.keys(p.opcodes).length,
      name: e.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall }));`, 64);
  const out = JSON.parse(r.out);
  assert.deepEqual(out, { setupResult: -24, opcodes: 0, name: "Error", message: "EMFILE: too many open files, io_uring_setup",
    code: "EMFILE", errno: -24, syscall: "io_uring_setup" });
  log(`setup failure: probe().setupResult ${out.setupResult}; new Ring throws ${out.code} errno ${out.errno} ` +
      `syscall ${out.syscall}: "${out.message}"`);

  // close() then a new Ring in the same tick: the fd number is reused, libuv must cope.
  const first = new Harness(8, 8);
  const fd = first.ring.fd;
  first.ring.close();
  const second = new Harness(8, 8);
  assert.equal(second.ring.fd, fd);
  assert.equal((await (await second.op({ [S_OPCODE]: OP_NOP })).done).res, 0);
  second.ring.close();
  log(`close() + new Ring in the same tick (fd ${fd} reused): NOP completes`);

  const exit = child(`
    const ring = new addon.Ring({ entries: 8, maxOps: 8, onCompletions() {} });
    const s = ring.stage; s[0] = ${OP_TIMEOUT}; s[1] = 0; s[2] = 1; s[8] = 3600; ring.control[0] = 1;
    ring.submit(); ring.ref();
    setTimeout(() => process.exit(3), 10);`);
  assert.equal(exit.status, 3, exit.err);
  log("main-thread process.exit(3) with a ref'd ring and a TIMEOUT in flight: exit code 3");
}

// Rings created and closed (some with ops in flight, some inside onCompletions), then
// dropped: their finalizers run after close (with --expose-gc, forced here).
async function churn() {
  for (let i = 0; i < 100; i++) {
    const h = new Harness(8, 8);
    if (i % 3 === 0) { await h.op({ [S_OPCODE]: OP_TIMEOUT, [S_TV_SEC]: 60 }); h.ring.submit(); }
    if (i % 3 === 1) { h.afterBatch = () => h.ring.close(); await (await h.op({ [S_OPCODE]: OP_NOP })).done; }
    h.ring.close();
  }
  await turn();
  if (global.gc) { global.gc(); await turn(); global.gc(); await turn(); }
  log(`100 rings created, closed and dropped${global.gc ? " (gc forced)" : ""}`);
}

// ---- workers that end with a ring open --------------------------------------------------------
function worker(name, body, terminateAfterMs) {
  const src = `
    const addon = require(${JSON.stringify(ADDON)});
    const ring = new addon.Ring({ entries: 8, maxOps: 8, onCompletions() {} });
    const s = ring.stage, c = ring.control;
    s[${S_OPCODE}] = ${OP_TIMEOUT}; s[${S_INDEX}] = 0; s[${S_GEN}] = 1; s[${S_TV_SEC}] = 3600;
    c[${CTRL_STAGED}] = 1;
    ring.submit();
    if (c[${CTRL_INFLIGHT}] !== 1) throw new Error("timeout not in flight");
    ${body}`;
  return new Promise((resolve, reject) => {
    const t0 = nowNs();
    const w = new Worker(src, { eval: true });
    w.on("error", reject);
    w.on("online", () => { if (terminateAfterMs !== undefined) setTimeout(() => w.terminate(), terminateAfterMs); });
    w.on("exit", (code) => {
      const ms = Number(nowNs() - t0) / 1e6;
      log(`worker "${name}": exit code ${code} after ${ms.toFixed(1)} ms`);
      resolve(code);
    });
  });
}

async function workers() {
  assert.equal(await worker("process.exit(0) with a 1h TIMEOUT in flight", "process.exit(0);"), 0);
  assert.equal(await worker("returns with the ring open", ""), 0);
  assert.equal(await worker("terminate() while ref'd and blocked in epoll", "ring.ref();", 50), 1);
}

async function main() {
  log(`addon: ${ADDON}`);
  log("buildInfo:", JSON.stringify(addon.buildInfo));
  const p = addon.probe();
  const ops = Object.entries(p.opcodes);
  log(`probe: setupResult ${p.setupResult}, flags [${p.flags.join(", ")}], features 0x${p.features.toString(16)}, ` +
      `kernel ${p.kernel}, opcodes ${ops.filter(([, v]) => v).length}/${ops.length} supported` +
      ` (unsupported: ${ops.filter(([, v]) => !v).map(([k]) => k).join(", ") || "none"})`);
  await timeoutAbs();
  await timeoutUpdate();
  await timeoutCancel();
  await cqOverflow();
  await closeInFlight();
  await closeInCallback();
  await throwInCallback();
  await errors();
  await churn();
  await workers();
  const rates = await nopBenchmark();
  // Left open on purpose (unref'd, op in flight): the main env's cleanup hook closes it.
  const h = new Harness(8, 8);
  await h.op({ [S_OPCODE]: OP_TIMEOUT, [S_TV_SEC]: 3600 });
  h.ring.submit();
  h.ring.unref();
  log(`smoke OK (NOP M ops/s: d1 ${(rates[1] / 1e6).toFixed(2)}, d64 ${(rates[64] / 1e6).toFixed(2)}, ` +
      `d256 ${(rates[256] / 1e6).toFixed(2)})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
