// The io_uring backend without its optional opcodes (kernel < 6.7): RINGLOOP_URING_WITHOUT
// turns them off for loops made after it is set, so the fallback path of each op runs on a
// kernel that has it: single-shot READ for pipes (no READ_MULTISHOT) and POLL_ADD on the
// pidfd + waitid for child exits (no WAITID).
import * as crypto from "node:crypto";
import { type WriteTransport, type AbstractEventLoop } from "ringloop";
import { uringOnlyTest } from "../helpers/backends.js";
import { inLoop, within, sha256, withFifo, PipeReader, PipeWriter, ChildRecorder, isOurChild } from "../pipes/_pipes.js";

async function withoutOps<T>(newLoop: () => AbstractEventLoop, body: (loop: AbstractEventLoop) => Promise<T>): Promise<T> {
  const saved = process.env.RINGLOOP_URING_WITHOUT;
  process.env.RINGLOOP_URING_WITHOUT = "READ_MULTISHOT,WAITID";
  let loop: AbstractEventLoop;
  try {
    loop = newLoop();
  } finally {
    if (saved === undefined) delete process.env.RINGLOOP_URING_WITHOUT;
    else process.env.RINGLOOP_URING_WITHOUT = saved;
  }
  try {
    const result = await inLoop(loop, () => body(loop));
    if ((loop as unknown as { pendingOps(): number }).pendingOps() !== 0) throw new Error("ops left in flight");
    return result;
  } finally {
    loop.close();
  }
}

uringOnlyTest("pipes without READ_MULTISHOT: 16 MiB through a FIFO by single-shot READ, sha256 equal", async (t, { newPolicy }) => {
  const payload = crypto.randomBytes(16 * 1024 * 1024);
  await withFifo((fifo) =>
    withoutOps(() => newPolicy().newEventLoop(), async (loop) => {
      const reader = new PipeReader();
      await loop.connectReadPipe(() => reader, fifo.r);
      await loop.connectWritePipe(() => new PipeWriter(payload, 512 * 1024), fifo.w);
      t.is(await within(30_000, reader.lost.promise, "EOF"), null);
      t.is(reader.hash.digest("hex"), sha256(payload));
    }),
  );
});

uringOnlyTest("subprocess without WAITID: exits seen by polling the pidfd; cat round trip, exit code, kill", async (t, { newPolicy }) => {
  const payload = crypto.randomBytes(4 * 1024 * 1024);
  await withoutOps(() => newPolicy().newEventLoop(), async (loop) => {
    const rec = new ChildRecorder();
    const [tr] = await loop.subprocessExec(() => rec, "cat");
    const stdin = tr.getPipeTransport(0) as WriteTransport;
    stdin.write(payload);
    stdin.writeEof();
    await within(30_000, rec.lost.promise, "cat");
    t.is(sha256(Buffer.concat(rec.out[1])), sha256(payload));
    t.is(tr.getReturncode(), 0);
    tr.close();
    const sleeper = new ChildRecorder();
    const [tr2] = await loop.subprocessExec(() => sleeper, "sleep", ["30"]);
    tr2.terminate();
    await within(10_000, sleeper.lost.promise, "terminated");
    t.is(tr2.getReturncode(), -15);
    t.false(isOurChild(tr2.getPid()!));
    tr2.close();
  });
});
