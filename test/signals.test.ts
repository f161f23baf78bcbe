// addSignalHandler / removeSignalHandler (asyncio's rules, src/signals.ts), on both backends
// (SIGUSR1 as the issue asks; with a listener on it Node does not start its inspector):
// the callback runs on the loop with its arguments, a second add replaces the first, remove
// restores the default disposition (checked in a child process that then dies of the
// signal), loop.close() removes the handlers, bad signals are errors naming the argument, and
// a loop in a Worker refuses.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { getRunningLoop } from "ringloop";
import { backendTest, sleep } from "./helpers/backends.js";

const ROOT = path.resolve(__dirname, "../../..");

backendTest("signals: SIGUSR1 from process.kill runs the callback on the loop, with its arguments", async (t, { loop }) => {
  const calls: unknown[][] = [];
  const before = process.listenerCount("SIGUSR1");
  await loop.runUntilComplete(
    loop.createTask(async () => {
      loop.addSignalHandler("SIGUSR1", (...args: unknown[]) => {
        t.is(getRunningLoop(), loop, "runs inside the loop's iteration");
        calls.push(args);
      }, "a", 2);
      t.is(process.listenerCount("SIGUSR1"), before + 1);
      process.kill(process.pid, "SIGUSR1");
      for (let i = 0; i < 100 && calls.length === 0; i++) await sleep(10);
      process.kill(process.pid, "SIGUSR1");
      for (let i = 0; i < 100 && calls.length < 2; i++) await sleep(10);
      t.true(loop.removeSignalHandler("SIGUSR1"));
    }),
  );
  t.deepEqual(calls, [["a", 2], ["a", 2]]);
  t.is(process.listenerCount("SIGUSR1"), before, "the listener is gone");
});

backendTest("signals: a second add replaces the first; numbers name signals too; remove says whether there was one", async (t, { loop }) => {
  const got: string[] = [];
  await loop.runUntilComplete(
    loop.createTask(async () => {
      loop.addSignalHandler("SIGUSR2", () => got.push("first"));
      loop.addSignalHandler(12 /* SIGUSR2 on Linux */, () => got.push("second"));
      process.kill(process.pid, "SIGUSR2");
      for (let i = 0; i < 100 && got.length === 0; i++) await sleep(10);
      await sleep(20);
      t.true(loop.removeSignalHandler(12));
      t.false(loop.removeSignalHandler("SIGUSR2"));
      t.false(loop.removeSignalHandler("SIGHUP"));
    }),
  );
  t.deepEqual(got, ["second"]);
});

backendTest("signals: an exception in the callback goes to the exception handler", async (t, { loop, takeExceptions }) => {
  let seen: ReturnType<typeof takeExceptions> = [];
  await loop.runUntilComplete(
    loop.createTask(async () => {
      loop.addSignalHandler("SIGUSR2", function failing() {
        throw new Error("boom");
      });
      process.kill(process.pid, "SIGUSR2");
      for (let i = 0; i < 100 && seen.length === 0; i++) {
        await sleep(10);
        seen = seen.concat(takeExceptions());
      }
      loop.removeSignalHandler("SIGUSR2");
    }),
  );
  t.is(seen.length, 1);
  t.is((seen[0].exception as Error).message, "boom");
  t.regex(String(seen[0].message), /failing/);
});

backendTest("signals: loop.close() removes the loop's handlers", async (t, { newPolicy }) => {
  const before = process.listenerCount("SIGUSR2");
  const other = newPolicy().newEventLoop();
  other.addSignalHandler("SIGUSR2", () => {});
  other.addSignalHandler("SIGWINCH", () => {});
  t.is(process.listenerCount("SIGUSR2"), before + 1);
  other.close();
  t.is(process.listenerCount("SIGUSR2"), before);
  t.is(process.listenerCount("SIGWINCH"), 0);
  t.throws(() => other.addSignalHandler("SIGUSR2", () => {}), { code: "ERR_LOOP_CLOSED" });
});

backendTest("signals: bad signals and callbacks are errors naming the argument", (t, { loop }) => {
  t.throws(() => loop.addSignalHandler("SIGKILL", () => {}), { instanceOf: RangeError, message: /"signal" argument.*SIGKILL cannot be/ });
  t.throws(() => loop.addSignalHandler("SIGSTOP", () => {}), { instanceOf: RangeError, message: /"signal" argument.*SIGSTOP/ });
  t.throws(() => loop.addSignalHandler(9, () => {}), { instanceOf: RangeError, message: /SIGKILL cannot be/ });
  t.throws(() => loop.addSignalHandler("SIGFOO" as NodeJS.Signals, () => {}), { instanceOf: TypeError, code: "ERR_UNKNOWN_SIGNAL", message: /"signal" argument/ });
  t.throws(() => loop.addSignalHandler(4242, () => {}), { instanceOf: TypeError, code: "ERR_UNKNOWN_SIGNAL" });
  t.throws(() => loop.addSignalHandler({} as never, () => {}), { instanceOf: TypeError, code: "ERR_INVALID_ARG_TYPE" });
  t.throws(() => loop.addSignalHandler("SIGUSR2", "nope" as never), { instanceOf: TypeError, message: /"callback" argument/ });
  t.throws(() => loop.removeSignalHandler("SIGFOO" as NodeJS.Signals), { instanceOf: TypeError, code: "ERR_UNKNOWN_SIGNAL" });
  t.is(process.listenerCount("SIGUSR2"), 0, "nothing was registered");
});

backendTest("signals: removing the handler restores the default disposition (a child dies of the signal)", (t, { backend }) => {
  const script = (remove: boolean) => `
    const rl = require(${JSON.stringify(ROOT)} + "/dist/cjs/src/index.js");
    const loop = (${JSON.stringify(backend)} === "uring" ? new rl.UringEventLoopPolicy() : new rl.FallbackEventLoopPolicy()).newEventLoop();
    let caught = 0;
    loop.addSignalHandler("SIGUSR2", () => caught++);
    loop.runUntilComplete(loop.createTask(async () => {
      process.kill(process.pid, "SIGUSR2");
      while (caught === 0) await new Promise((r) => setTimeout(r, 5));
      ${remove ? "loop.removeSignalHandler('SIGUSR2');" : ""}
      process.kill(process.pid, "SIGUSR2");
      await new Promise((r) => setTimeout(r, 100));
    })).then(() => { loop.close(); console.log("survived, caught " + caught); });
  `;
  const kept = spawnSync(process.execPath, ["-e", script(false)], { encoding: "utf8", timeout: 20_000 });
  t.is(kept.signal, null, kept.stderr);
  t.is(kept.stdout.trim(), "survived, caught 2");
  const removed = spawnSync(process.execPath, ["-e", script(true)], { encoding: "utf8", timeout: 20_000 });
  t.is(removed.signal, "SIGUSR2", `stdout: ${removed.stdout} stderr: ${removed.stderr}`);
});

backendTest("signals: a loop in a Worker refuses with a clear error", async (t, { backend }) => {
  const worker = new Worker(
    `
    const { parentPort } = require("node:worker_threads");
    const rl = require(${JSON.stringify(ROOT)} + "/dist/cjs/src/index.js");
    const loop = (${JSON.stringify(backend)} === "uring" ? new rl.UringEventLoopPolicy() : new rl.FallbackEventLoopPolicy()).newEventLoop();
    try { loop.addSignalHandler("SIGUSR2", () => {}); parentPort.postMessage("added"); }
    catch (e) { parentPort.postMessage(e.code + ": " + e.message); }
    finally { loop.close(); }
    `,
    { eval: true },
  );
  // Both listeners go on before anything is awaited: the worker may exit right after posting.
  const exited = new Promise((r) => worker.once("exit", r));
  const msg = await new Promise<string>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  await exited;
  t.regex(msg, /^ERR_SIGNAL_NOT_MAIN_THREAD: addSignalHandler: Node delivers signals only to the main thread/);
});
