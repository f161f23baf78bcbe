// A worker thread that ends with a child still running on its uring loop (never closed):
// the ring's env cleanup kills the child and reaps it (no zombie), and releases its fds.
import { Worker } from "node:worker_threads";
import { uringOnlyTest, fixture, sleep, settleFds, openFds } from "../helpers/backends.js";
import { isOurChild } from "../pipes/_pipes.js";

for (const mode of ["exit", "terminate"]) {
  uringOnlyTest(`subprocess: a worker that ends with a child running kills and reaps it (${mode})`, async (t) => {
    const before = openFds();
    const worker = new Worker(fixture("child-worker.js"), { workerData: { mode } });
    const pid = await new Promise<number>((r) => worker.once("message", r));
    const exited = new Promise<number>((r) => worker.once("exit", r));
    t.true(isOurChild(pid), "the child runs");
    if (mode === "terminate") await worker.terminate();
    else worker.postMessage("exit");
    t.is(await exited, mode === "exit" ? 3 : 1);
    for (let i = 0; i < 100 && isOurChild(pid); i++) await sleep(10);
    t.false(isOurChild(pid), "killed and reaped by the ring's env cleanup");
    t.true((await settleFds(before)) <= before, "pidfd, pipes and ring closed");
  });
}
