// subprocessExec / subprocessShell refusals: a program that does not exist (Node's spawn
// error, no fd left behind), a bad cwd, bad arguments (TypeError/RangeError naming them),
// and a protocol factory that throws (nothing started).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { STDOUT, SubprocessProtocol } from "ringloop";
import { backendTest, openFds, settleFds } from "../helpers/backends.js";
import { inLoop, ChildRecorder, livingChildren } from "../pipes/_pipes.js";

backendTest("subprocess: a program that does not exist rejects with ENOENT and path, as Node's spawn does, and leaks no fd", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const before = openFds();
    for (const opts of [{}, { stdin: null, stdout: null, stderr: null }, { stderr: STDOUT }]) {
      const err = await t.throwsAsync(loop.subprocessExec(() => new SubprocessProtocol(), "ringloop-no-such-program", ["a", "b"], opts));
      t.like(err, { code: "ENOENT", errno: -2, syscall: "spawn ringloop-no-such-program", path: "ringloop-no-such-program", message: "spawn ringloop-no-such-program ENOENT" });
      t.deepEqual((err as unknown as { spawnargs: string[] }).spawnargs, ["a", "b"]);
    }
    t.like(await t.throwsAsync(loop.subprocessExec(() => new SubprocessProtocol(), "/nonexistent/dir/prog")), { code: "ENOENT", path: "/nonexistent/dir/prog" });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-noexec-"));
    fs.writeFileSync(path.join(dir, "prog"), "#!/bin/sh\n", { mode: 0o644 });
    t.like(await t.throwsAsync(loop.subprocessExec(() => new SubprocessProtocol(), path.join(dir, "prog"))), { code: "EACCES", path: path.join(dir, "prog") });
    fs.rmSync(dir, { recursive: true });
    t.is(await settleFds(before), before, "no pipe end left open (the fallback closes its Sockets a turn later)");
  });
});

backendTest("subprocess: a cwd that does not exist or is not a directory: ENOENT / ENOTDIR naming it", async (t, { loop }) => {
  await inLoop(loop, async () => {
    t.like(await t.throwsAsync(loop.subprocessExec(() => new SubprocessProtocol(), "true", [], { cwd: "/nonexistent-ringloop" })), { code: "ENOENT", syscall: "chdir", path: "/nonexistent-ringloop" });
    t.like(await t.throwsAsync(loop.subprocessShell(() => new SubprocessProtocol(), "true", { cwd: "/etc/hostname" })), { code: "ENOTDIR", syscall: "chdir", path: "/etc/hostname" });
  });
});

backendTest("subprocess: bad arguments are TypeError/RangeError naming them; nothing is started", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const f = () => new SubprocessProtocol();
    const children = livingChildren().length;
    const cases: Array<[() => Promise<unknown>, ErrorConstructor, RegExp]> = [
      [() => loop.subprocessExec(null as never, "true"), TypeError, /"protocolFactory" argument must be a function/],
      [() => loop.subprocessExec(f, 5 as never), TypeError, /"program" argument must be a string/],
      [() => loop.subprocessExec(f, ""), RangeError, /"program" argument must not be empty/],
      [() => loop.subprocessExec(f, "tr\0ue"), RangeError, /"program" argument must not contain null bytes/],
      [() => loop.subprocessExec(f, "true", "x" as never), TypeError, /"args" argument must be an array/],
      [() => loop.subprocessExec(f, "true", ["a", 2 as never]), TypeError, /"args\[1\]" argument must be a string/],
      [() => loop.subprocessExec(f, "true", [], 3 as never), TypeError, /"opts" argument must be an object/],
      [() => loop.subprocessExec(f, "true", [], { stdin: STDOUT }), RangeError, /"opts.stdin" option cannot be STDOUT/],
      [() => loop.subprocessExec(f, "true", [], { stdout: "pipe" as never }), TypeError, /"opts.stdout" option must be PIPE, DEVNULL, an fd or null/],
      [() => loop.subprocessExec(f, "true", [], { stderr: -7 }), RangeError, /"opts.stderr" option must be PIPE, DEVNULL, STDOUT, an fd >= 0 or null/],
      [() => loop.subprocessExec(f, "true", [], { env: { A: 1 as never } }), TypeError, /"opts.env.A" option must be a string/],
      [() => loop.subprocessExec(f, "true", [], { env: [] as never }), TypeError, /"opts.env" option must be an object/],
      [() => loop.subprocessExec(f, "true", [], { env: { "A=B": "c" } }), RangeError, /"opts.env" option must not hold a name with "="/],
      [() => loop.subprocessExec(f, "true", [], { cwd: 5 as never }), TypeError, /"opts.cwd" argument must be a string/],
      [() => loop.subprocessShell(f, ["ls"] as never), TypeError, /"cmd" argument must be a string/],
      [() => loop.subprocessExec(() => 7 as never, "true"), TypeError, /protocolFactory\(\) must return a protocol object/],
    ];
    for (const [call, Kind, message] of cases) await t.throwsAsync(call(), { instanceOf: Kind, message });
    await t.throwsAsync(
      loop.subprocessExec(() => {
        throw new Error("factory failed");
      }, "true"),
      { message: "factory failed" },
    );
    t.is(livingChildren().length, children, "no child started");
  });
});

backendTest("subprocess: sendSignal with a bad signal is a TypeError/RangeError naming it", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const rec = new ChildRecorder();
    const [tr] = await loop.subprocessExec(() => rec, "sleep", ["30"]);
    t.throws(() => tr.sendSignal("SIGNOPE" as never), { instanceOf: TypeError, code: "ERR_UNKNOWN_SIGNAL", message: /"signal" argument is not a known signal/ });
    t.throws(() => tr.sendSignal(99), { instanceOf: RangeError, message: /"signal" argument must be a signal number from 0 to 64/ });
    t.throws(() => tr.sendSignal({} as never), { instanceOf: TypeError, message: /"signal" argument must be a signal name or number/ });
    tr.sendSignal(0); // kill(pid, 0): the process exists
    t.is(tr.getReturncode(), null);
    tr.close();
    await rec.lost.promise;
    t.true(fs.existsSync("/proc/self"));
  });
});
