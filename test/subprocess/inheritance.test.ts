// What a child inherits besides its stdio. The subprocess runs inside a fresh node that was
// itself given fd 64 without FD_CLOEXEC by the bash that started it (Node marks the low fds
// it inherits FD_CLOEXEC at start, not that one; a native module may make such fds too):
// asyncio's close_fds means only fds 0..2 reach the child. On io_uring that holds; the
// fallback spawns through libuv, which passes such an fd on (README, "Subprocesses"). Node ignores SIGPIPE and
// installs handlers; the child must start with every disposition at its default and an
// empty mask (SigIgn/SigBlk of /proc/self/status are 0).
import * as cp from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backendTest } from "../helpers/backends.js";

const SCRIPT = `
const rl = require("ringloop");
const policy = process.argv[1] === "uring" ? new rl.UringEventLoopPolicy() : new rl.FallbackEventLoopPolicy();
const loop = policy.newEventLoop();
let out = "";
let ended;
const done = new Promise((resolve) => { ended = resolve; });
class P extends rl.SubprocessProtocol {
  pipeDataReceived(fd, data) { out += data.toString(); }
  connectionLost() { ended(); }
}
loop.runUntilComplete((async () => {
  const [tr, proto] = await loop.subprocessExec(() => new P(), "sh", ["-c",
    'if [ -e /proc/$$/fd/64 ]; then echo fd64=open; else echo fd64=closed; fi; grep -E "^Sig(Ign|Blk)" /proc/self/status']);
  await done;
  tr.close();
  const flags = require("fs").readFileSync("/proc/self/fdinfo/64", "utf8").match(/^flags:\\s+(\\d+)/m)[1];
  process.stdout.write(JSON.stringify({ out, cloexec: (parseInt(flags, 8) & 0o2000000) !== 0 }));
})()).finally(() => loop.close());
`;

backendTest("subprocess: no ignored, handled or blocked signal reaches the child; on io_uring only fds 0..2 do (close_fds)", async (t, { backend }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rl-inherit-"));
  const file = path.join(dir, "held");
  fs.writeFileSync(file, "x");
  try {
    const r = cp.spawnSync("bash", ["-c", 'exec "$0" -e "$1" "$2" 64<"$3"', process.execPath, SCRIPT, backend, file], {
      cwd: path.resolve(__dirname, "../../.."),
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
      timeout: 20_000,
    });
    t.is(r.status, 0, r.stderr);
    const { out, cloexec } = JSON.parse(r.stdout) as { out: string; cloexec: boolean };
    t.false(cloexec, "the node running the loop has fd 64 without FD_CLOEXEC");
    t.regex(out, backend === "uring" ? /^fd64=closed$/m : /^fd64=open$/m);
    t.regex(out, /^SigIgn:\s+0+$/m);
    t.regex(out, /^SigBlk:\s+0+$/m);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});
