// The subprocess transport's life (asyncio base_subprocess.py and test_subprocess.py):
// exit codes and signal deaths, kill/terminate/sendSignal, close() killing a running child,
// ProcessLookupError (ESRCH) once it is over, the order of the protocol's calls, the
// loop's close reaping what still runs, and Node's own children left alone.
import { spawn } from "node:child_process";
import { SubprocessProtocol } from "ringloop";
import { backendTest, sleep } from "../helpers/backends.js";
import { inLoop, within, ChildRecorder, isOurChild } from "../pipes/_pipes.js";

backendTest("subprocess: exit codes (true, false, exit 7) and signal deaths (negative signal numbers)", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const cases: Array<[string, string[], number]> = [
      ["true", [], 0],
      ["false", [], 1],
      ["sh", ["-c", "exit 7"], 7],
      ["sh", ["-c", "kill -TERM $$"], -15],
      ["sh", ["-c", "kill -KILL $$"], -9],
    ];
    for (const [program, args, expected] of cases) {
      const rec = new ChildRecorder();
      const [tr] = await loop.subprocessExec(() => rec, program, args);
      await within(10_000, rec.lost.promise, `${program} ${args.join(" ")}`);
      t.is(tr.getReturncode(), expected, `${program} ${args.join(" ")}`);
      tr.close();
    }
  });
});

backendTest("subprocess: kill(), terminate(), sendSignal(name | number) while running; getReturncode is null until the exit", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const signals: Array<[(tr: import("ringloop").SubprocessTransport) => void, number]> = [
      [(tr) => tr.kill(), -9],
      [(tr) => tr.terminate(), -15],
      [(tr) => tr.sendSignal("SIGHUP"), -1],
      [(tr) => tr.sendSignal(10 /* SIGUSR1 */), -10],
    ];
    for (const [send, expected] of signals) {
      const rec = new ChildRecorder();
      const [tr] = await loop.subprocessExec(() => rec, "sleep", ["30"]);
      t.is(tr.getReturncode(), null);
      t.true(tr.getPid()! > 0);
      send(tr);
      await within(10_000, rec.lost.promise, `signal ${expected}`);
      t.is(tr.getReturncode(), expected);
      t.false(tr.isClosing(), "a process that ended is not closed by it");
      tr.close();
    }
  });
});

backendTest("subprocess: once connectionLost has run, signals throw ESRCH (asyncio's ProcessLookupError); close() after is quiet", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const rec = new ChildRecorder();
    const [tr] = await loop.subprocessExec(() => rec, "true");
    await within(10_000, rec.lost.promise, "true");
    for (const call of [() => tr.kill(), () => tr.terminate(), () => tr.sendSignal("SIGTERM")]) {
      t.like(t.throws(call, { code: "ESRCH" }), { syscall: "kill" });
    }
    tr.close();
    t.true(tr.isClosing());
    tr.close();
  });
});

backendTest("subprocess: close() kills a running child (SIGKILL); its exit and connectionLost still come", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const rec = new ChildRecorder();
    const [tr] = await loop.subprocessExec(() => rec, "sleep", ["30"]);
    tr.close();
    t.true(tr.isClosing());
    t.is(await within(10_000, rec.lost.promise, "killed sleep"), null);
    t.is(tr.getReturncode(), -9);
    t.true(rec.events.includes("exited"));
    t.deepEqual(rec.events.slice(-1), ["lost"]);
    t.false(isOurChild(tr.getPid()!), "reaped");
  });
});

backendTest("subprocess: connectionMade first, connectionLost last, after processExited and every pipeConnectionLost", async (t, { loop }) => {
  await inLoop(loop, async () => {
    for (const cmd of ["echo x; exec >&- 2>&-; sleep 0.1", "echo x; exit 3", "exec 0<&- 1>&- 2>&-; sleep 0.1"]) {
      const rec = new ChildRecorder();
      const [tr] = await loop.subprocessShell(() => rec, cmd);
      await within(10_000, rec.lost.promise, cmd);
      const ev = rec.events.filter((e) => !e.startsWith("data"));
      t.is(ev[0], "made", cmd);
      t.is(ev[ev.length - 1], "lost", cmd);
      t.deepEqual([...ev.slice(1, -1)].sort(), ["exited", "pipeLost0", "pipeLost1", "pipeLost2"], cmd);
      t.is(rec.pipeErrors[1], null);
      tr.close();
    }
  });
});

backendTest("subprocess: getExtraInfo('subprocess') gives pid and args; toString names the pipes", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const rec = new ChildRecorder();
    const [tr] = await loop.subprocessShell(() => rec, "exit 0");
    t.deepEqual(tr.getExtraInfo("subprocess"), { pid: tr.getPid(), args: ["/bin/sh", "-c", "exit 0"] });
    t.is(tr.getExtraInfo("nothing", 5), 5);
    t.regex(String(tr), /^<SubprocessTransport pid=\d+ (running|returncode=0) stdin=<WritePipeTransport fd=\d+ open> stdout=<ReadPipeTransport/);
    await within(10_000, rec.lost.promise, "exit 0");
    t.is(tr.getProtocol(), rec);
    tr.close();
  });
});

backendTest("subprocess: closing the loop kills and reaps a child still running", async (t, { newPolicy }) => {
  const loop = newPolicy().newEventLoop();
  let pid = 0;
  try {
    await loop.runUntilComplete(
      loop.createTask(async () => {
        const [tr] = await loop.subprocessExec(() => new SubprocessProtocol(), "sleep", ["30"]);
        pid = tr.getPid()!;
      }),
    );
  } finally {
    loop.close();
  }
  t.true(pid > 0);
  for (let i = 0; i < 200 && isOurChild(pid); i++) await sleep(5); // Node reaps on the fallback
  t.false(isOurChild(pid), "killed and reaped");
});

backendTest("subprocess: Node's own children (child_process) are not disturbed: each side gets its own exit status", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const nodeChild = spawn("sh", ["-c", "sleep 0.2; exit 42"], { stdio: "ignore" });
    const nodeExit = new Promise<number | null>((r) => nodeChild.once("exit", r));
    const recs = Array.from({ length: 5 }, () => new ChildRecorder());
    const trs = await Promise.all(recs.map((rec, i) => loop.subprocessShell(() => rec, `sleep 0.1; exit ${10 + i}`).then(([tr]) => tr)));
    await within(10_000, Promise.all(recs.map((r) => r.lost.promise)), "ours");
    t.deepEqual(trs.map((tr) => tr.getReturncode()), [10, 11, 12, 13, 14]);
    t.is(await within(10_000, nodeExit, "Node's child"), 42);
    for (const tr of trs) tr.close();
  });
});
