// Waits and the Node process: a Worker (and the main thread) ending with polls waiting
// closes them cleanly (env cleanup hooks; without them uv_loop_close aborts Node); a loop
// that is not running keeps nothing alive even with waits pending, a running one keeps the
// process alive until its wait completes. Each case runs in a child process, so a crash is
// a failed test rather than a dead test runner.
import { BACKENDS, uringUnavailableReason, type BackendName } from "../helpers/backends.js";
import test, { type ExecutionContext } from "ava";
import { PACKAGE_ENTRY, runScript } from "./_socket.js";

/** Script prelude: `makeLoop()` and `connectedPair(loop)` for the given backend. */
function prelude(backend: BackendName): string {
  return `const policy = ${JSON.stringify(backend)} === "uring" ? new r.UringEventLoopPolicy() : new r.FallbackEventLoopPolicy();
const makeLoop = () => policy.newEventLoop();
async function connectedPair(loop) {
  const l = r.socket(4); l.bind({ host: "127.0.0.1", port: 0 }); l.listen();
  const c = r.socket(4);
  const [[s]] = await Promise.all([loop.sockAccept(l), loop.sockConnect(c, l.getsockname())]);
  return { l, c, s };
}
/** Leaves waits pending: two recvs, an accept and a reader on the listener (which shares its poll with the accept). */
async function leaveWaits(loop) {
  const { l, c, s } = await connectedPair(loop);
  for (const p of [loop.sockRecv(s, 10), loop.sockRecv(c, 10), loop.sockAccept(l)]) p.catch(() => {});
  loop.addReader(l.fileno(), () => {});
  await new Promise((res) => setImmediate(res));
  return loop.pendingOps();
}
`;
}

function backendChildTest(name: string, body: (t: ExecutionContext, backend: BackendName) => Promise<void>): void {
  for (const backend of BACKENDS) {
    const title = `[${backend}] ${name}`;
    const reason = backend === "uring" ? uringUnavailableReason() : null;
    if (reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1") test.skip(`${title} (io_uring unavailable: ${reason})`, () => {});
    else test.serial(title, (t) => body(t, backend)); // one child at a time: each starts Workers
  }
}

for (const how of ["natural", "exit", "terminate"] as const) {
  const what = { natural: "by itself", exit: "by process.exit()", terminate: "by terminate()" }[how];
  backendChildTest(`process: a Worker ending ${what} with polls waiting, then the main thread so, do not crash Node`, async (t, backend) => {
    const worker = `const r = require(${JSON.stringify(PACKAGE_ENTRY)});
const { parentPort, workerData } = require("node:worker_threads");
${prelude(backend)}
const loop = makeLoop();
loop.runUntilComplete(leaveWaits(loop)).then((pending) => {
  parentPort.postMessage(pending);
  if (workerData === "exit") process.exit(0);
  // "terminate": kept up until the parent ends it; "natural": nothing is ref'd, it ends by itself.
  if (workerData === "terminate") setInterval(() => {}, 1000);
});`;
    const script = `const { Worker } = require("node:worker_threads");
${prelude(backend)}
(async () => {
  const w = new Worker(${JSON.stringify(worker)}, { eval: true, workerData: ${JSON.stringify(how)} });
  const exited = new Promise((res) => w.once("exit", res));
  const pending = await new Promise((res, rej) => { w.once("message", res); w.once("error", rej); });
  if (${JSON.stringify(how)} === "terminate") void w.terminate();
  console.log("worker pending", pending, "exit", await exited);
  // The main thread too ends with waits pending.
  const loop = makeLoop();
  console.log("main pending", await loop.runUntilComplete(leaveWaits(loop)));
})();`;
    const r = await runScript(script, {}, 50_000);
    t.is(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
    t.is(r.status, 0, r.stderr);
    t.deepEqual(r.stdout.trim().split("\n"), [`worker pending 4 exit ${how === "terminate" ? 1 : 0}`, "main pending 4"]);
  });
}

backendChildTest("process: a loop that is not running holds nothing, waits or not; a running one keeps the process until its wait ends", async (t, backend) => {
  const idle = await runScript(`${prelude(backend)}
const loop = makeLoop();
loop.runUntilComplete(leaveWaits(loop)).then((pending) => console.log("left", pending, "waits"));
process.on("exit", () => console.log("exited with", loop.pendingOps(), "waiting"));`);
  t.is(idle.status, 0, idle.stderr);
  t.deepEqual(idle.stdout.trim().split("\n"), ["left 4 waits", "exited with 4 waiting"], "the process ended by itself");

  // Only an unref'd Node timer sends the data: the running loop alone keeps the process up.
  const running = await runScript(`${prelude(backend)}
const loop = makeLoop();
loop.runUntilComplete((async () => {
  const { l, c, s } = await connectedPair(loop);
  setTimeout(() => loop.sockSendall(c, Buffer.from("ping")), 200).unref();
  const got = await loop.sockRecv(s, 10);
  for (const x of [l, c, s]) x.close();
  return String(got);
})()).then((got) => { console.log("got", got); loop.close(); });`);
  t.is(running.status, 0, running.stderr);
  t.is(running.stdout.trim(), "got ping");
});
