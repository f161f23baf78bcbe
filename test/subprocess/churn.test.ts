// Many children: 200 short ones in a row and 50 at once leave no fd and no zombie behind
// (the pids are gone from /proc/self/task/*/children), each with its own exit status.
import { backendTest, openFds, settleFds } from "../helpers/backends.js";
import { inLoop, within, ChildRecorder, livingChildren, isOurChild } from "../pipes/_pipes.js";

backendTest("subprocess: 200 short children in a row (true, false, head -c) leave no fd and no zombie", async (t, { loop }) => {
  const before = openFds();
  const pids: number[] = [];
  await inLoop(loop, async () => {
    for (let i = 0; i < 200; i++) {
      const rec = new ChildRecorder();
      const [program, args, code, out] = i % 3 === 0 ? ["true", [], 0, ""] : i % 3 === 1 ? ["false", [], 1, ""] : ["head", ["-c", "3", "/dev/zero"], 0, "\0\0\0"];
      const [tr] = await loop.subprocessExec(() => rec, program as string, args as string[]);
      pids.push(tr.getPid()!);
      await within(10_000, rec.lost.promise, `child ${i}`);
      t.is(tr.getReturncode(), code);
      t.is(rec.text(1), out);
      tr.close();
    }
  });
  t.is(new Set(pids).size >= 2, true);
  t.deepEqual(pids.filter(isOurChild), [], "every child reaped");
  t.deepEqual(livingChildren().filter((p) => pids.includes(p)), []);
  t.is(await settleFds(before), before, "no fd left (pipes and pidfds closed)");
});

backendTest("subprocess: 50 children at once, each with its own exit status, none left behind", async (t, { loop }) => {
  const pids: number[] = [];
  await inLoop(loop, async () => {
    const recs = Array.from({ length: 50 }, () => new ChildRecorder());
    const trs = await Promise.all(recs.map((rec, i) => loop.subprocessShell(() => rec, `echo ${i}; exit ${i % 7}`).then(([tr]) => tr)));
    for (const tr of trs) pids.push(tr.getPid()!);
    await within(20_000, Promise.all(recs.map((r) => r.lost.promise)), "50 children");
    t.deepEqual(trs.map((tr) => tr.getReturncode()), recs.map((_, i) => i % 7));
    t.deepEqual(recs.map((r) => r.text(1)), recs.map((_, i) => `${i}\n`));
    for (const tr of trs) tr.close();
  });
  t.deepEqual(pids.filter(isOurChild), []);
});
