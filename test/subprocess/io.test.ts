// Subprocess stdio against real programs: 64 MiB through cat by sha256, stderr into stdout,
// DEVNULL, an fd of ours, cwd and env, a child that stops reading its stdin (EPIPE), and an
// exception thrown by the protocol.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import { PIPE, DEVNULL, STDOUT, type WriteTransport } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, sha256, withFifo, ChildRecorder, isOurChild } from "../pipes/_pipes.js";

backendTest("subprocess: 64 MiB round trip through cat, sha256 equal, with flow control on stdin", async (t, { loop }) => {
  const payload = crypto.randomBytes(64 * 1024 * 1024);
  const CHUNK = 1024 * 1024;
  await inLoop(loop, async () => {
    class Feeder extends ChildRecorder {
      readonly hash = crypto.createHash("sha256");
      bytes = 0;
      private offset = 0;
      private paused = false;
      override connectionMade(tr: typeof this.transport): void {
        super.connectionMade(tr);
        this.pump();
      }
      private pump(): void {
        const stdin = this.transport.getPipeTransport(0) as WriteTransport;
        while (!this.paused && this.offset < payload.length) {
          stdin.write(payload.subarray(this.offset, this.offset + CHUNK));
          this.offset += CHUNK;
        }
        if (this.offset >= payload.length && !stdin.isClosing()) stdin.writeEof();
      }
      override pipeDataReceived(fd: number, data: Buffer): void {
        this.bytes += data.length;
        this.hash.update(data);
      }
      override pauseWriting(): void {
        super.pauseWriting();
        this.paused = true;
      }
      override resumeWriting(): void {
        this.paused = false;
        this.pump();
      }
    }
    const feeder = new Feeder();
    const [tr] = await loop.subprocessExec(() => feeder, "cat", []);
    t.is(await within(60_000, feeder.lost.promise, "cat done"), null);
    t.is(feeder.bytes, payload.length);
    t.is(feeder.hash.digest("hex"), sha256(payload));
    t.true(feeder.pauses > 0, "the stdin pipe paused the protocol");
    t.is(tr.getReturncode(), 0);
    t.deepEqual(feeder.events.filter((e) => e !== "data1"), ["made", ...feeder.events.filter((e) => e.startsWith("pipeLost") || e === "exited"), "lost"]);
    tr.close();
    t.false(isOurChild(tr.getPid()!));
  });
});

backendTest("subprocess: stderr into stdout (STDOUT); DEVNULL; pipes only where asked", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const merged = new ChildRecorder();
    const [tr] = await loop.subprocessShell(() => merged, "echo out; echo err >&2; echo out2", { stderr: STDOUT, stdin: DEVNULL });
    t.is(tr.getPipeTransport(2), null, "no stderr pipe: it goes into stdout's");
    t.is(tr.getPipeTransport(0), null);
    t.truthy(tr.getPipeTransport(1));
    await within(10_000, merged.lost.promise, "merged");
    t.is(merged.text(1), "out\nerr\nout2\n");
    t.is(merged.text(2), "");
    tr.close();

    const quiet = new ChildRecorder();
    const [tr2] = await loop.subprocessShell(() => quiet, "echo out; echo err >&2; cat", { stdin: DEVNULL, stdout: DEVNULL, stderr: PIPE });
    await within(10_000, quiet.lost.promise, "devnull");
    t.is(quiet.text(1), "");
    t.is(quiet.text(2), "err\n");
    t.is(tr2.getReturncode(), 0, "cat read EOF from /dev/null at once");
    t.deepEqual(quiet.events.filter((e) => e.startsWith("pipeLost")), ["pipeLost2"]);
    tr2.close();
  });
});

backendTest("subprocess: an fd of ours as stdout (it stays open and ours); null inherits", async (t, { loop }) => {
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const rec = new ChildRecorder();
      const [tr] = await loop.subprocessExec(() => rec, "echo", ["to", "the", "fifo"], { stdin: null, stdout: fifo.w, stderr: null });
      t.is(tr.getPipeTransport(1), null);
      await within(10_000, rec.lost.promise, "echo");
      t.deepEqual(rec.events, ["made", "exited", "lost"]);
      t.true(fs.fstatSync(fifo.w).isFIFO(), "our fd is still open");
      const buf = Buffer.alloc(64);
      t.is(buf.toString("utf8", 0, fs.readSync(fifo.r, buf)), "to the fifo\n");
      tr.close();
      fs.closeSync(fifo.r);
      fs.closeSync(fifo.w);
    }),
  );
});

backendTest("subprocess: cwd and env (the program is looked up in env's PATH)", async (t, { loop }) => {
  const dir = fs.realpathSync(os.tmpdir());
  await inLoop(loop, async () => {
    const rec = new ChildRecorder();
    const [tr] = await loop.subprocessExec(() => rec, "sh", ["-c", 'pwd; echo "$RL_TEST:$HOME"'], { cwd: dir, env: { RL_TEST: "yes", PATH: "/usr/bin:/bin" } });
    await within(10_000, rec.lost.promise, "sh");
    t.is(rec.text(1), `${dir}\nyes:\n`);
    tr.close();
    t.like(await t.throwsAsync(loop.subprocessExec(() => new ChildRecorder(), "true", [], { env: { PATH: "/nonexistent" } })), { code: "ENOENT", path: "true" });
  });
});

backendTest("subprocess: a child that stops reading its stdin: the stdin pipe closes with EPIPE, the rest goes on", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const rec = new ChildRecorder();
    const [tr] = await loop.subprocessExec(() => rec, "head", ["-c", "1"]);
    const stdin = tr.getPipeTransport(0) as WriteTransport;
    stdin.write(Buffer.alloc(4 * 1024 * 1024, 0x61));
    await within(10_000, rec.lost.promise, "head exits, everything closes");
    t.is(rec.text(1), "a");
    t.is(tr.getReturncode(), 0);
    const code = (rec.pipeErrors[0] as NodeJS.ErrnoException | null)?.code;
    t.true(code === "EPIPE" || code === "ECONNRESET", `stdin pipe lost with ${code}`);
    t.true(rec.pauses > 0);
    tr.close();
  });
});

backendTest("subprocess: an exception in pipeDataReceived reaches the exception handler; the child is still followed to its end", async (t, { loop, takeExceptions }) => {
  await inLoop(loop, async () => {
    const rec = new ChildRecorder();
    rec.pipeDataReceived = () => {
      throw new Error("protocol bug");
    };
    const [tr] = await loop.subprocessShell(() => rec, "echo a; sleep 0.05; echo b");
    await within(10_000, rec.lost.promise, "sh");
    const seen = takeExceptions();
    t.true(seen.length >= 1);
    t.is(seen[0].message, "Exception in protocol.pipeDataReceived()");
    t.is((seen[0].exception as Error).message, "protocol bug");
    t.is(seen[0].transport, tr);
    t.deepEqual(rec.events.slice(-1), ["lost"]);
    tr.close();
  });
});
