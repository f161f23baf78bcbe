// Write pipes: flow control against a full pipe, and the reader going away (asyncio's
// _UnixWritePipeTransport: EPIPE with data buffered, a quiet close without).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { Protocol } from "ringloop";
import { backendTest, uringOnlyTest, sleep } from "../helpers/backends.js";
import { inLoop, within, sha256, withFifo, PipeReader, PipeWriter } from "./_pipes.js";

const CHUNK = 16 * 1024;
const PIPE_CAPACITY = 64 * 1024; // Linux's default

backendTest("pipes: pauseWriting fires once the pipe is full, resumeWriting once the reader drains it", async (t, { loop }) => {
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const writer = new PipeWriter(Buffer.alloc(0), 1, false);
      const [wt] = await loop.connectWritePipe(() => writer, fifo.w);
      const [low, high] = wt.getWriteBufferLimits();
      t.deepEqual([low, high], [16 * 1024, 64 * 1024]);
      const sent: Buffer[] = [];
      // One chunk at a time, each given the chance to go out first: while the pipe has room
      // the buffer empties and nothing pauses.
      while (writer.pauses === 0) {
        const chunk = crypto.randomBytes(CHUNK);
        sent.push(chunk);
        wt.write(chunk);
        for (let i = 0; i < 20 && wt.getWriteBufferSize() > 0; i++) await sleep(2);
        if (sent.length > 1000) break;
      }
      const total = sent.length * CHUNK;
      t.is(writer.pauses, 1);
      t.true(total >= PIPE_CAPACITY + high, `paused after ${total} bytes: the pipe's ${PIPE_CAPACITY} plus more than ${high} buffered`);
      t.true(wt.getWriteBufferSize() > high);
      const reader = new PipeReader();
      await loop.connectReadPipe(() => reader, fifo.r);
      for (let i = 0; i < 500 && writer.resumes === 0; i++) await sleep(2);
      t.is(writer.resumes, 1, "the reader drained the pipe: resumeWriting");
      wt.close();
      t.is(await within(5000, writer.lost.promise, "writer closed"), null);
      t.is(await within(5000, reader.lost.promise, "reader EOF"), null);
      t.is(reader.bytes, total);
      t.is(reader.hash.digest("hex"), sha256(...sent));
    }),
  );
});

backendTest("pipes: EPIPE when the reader goes away with data buffered: connectionLost(EPIPE), no exception handler call", async (t, { loop }) => {
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const writer = new PipeWriter(crypto.randomBytes(1024 * 1024), 1024 * 1024, false);
      const [wt] = await loop.connectWritePipe(() => writer, fifo.w);
      await sleep(50);
      t.true(wt.getWriteBufferSize() > 0, "the pipe is full, the rest is buffered");
      fs.closeSync(fifo.r);
      const exc = (await within(5000, writer.lost.promise, "writer connectionLost")) as NodeJS.ErrnoException;
      t.is(exc?.code, "EPIPE");
      t.true(wt.isClosing());
      wt.write(Buffer.from("dropped")); // after the close: dropped, no throw (asyncio)
    }),
  );
});

uringOnlyTest("pipes: the reader going away with nothing buffered closes the write pipe quietly (connectionLost(null))", async (t, { loop }) => {
  // The fallback (libuv) cannot watch a write-only pipe: it learns this at its next write.
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const writer = new PipeWriter(Buffer.from("fits in the pipe"), 1024, false);
      const [wt] = await loop.connectWritePipe(() => writer, fifo.w);
      await sleep(20);
      t.is(wt.getWriteBufferSize(), 0);
      fs.closeSync(fifo.r);
      t.is(await within(5000, writer.lost.promise, "writer connectionLost"), null);
    }),
  );
});

backendTest("pipes: a write to a pipe whose reader is gone fails with EPIPE (SIGPIPE does not kill us)", async (t, { loop }) => {
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      fs.closeSync(fifo.r);
      let settle!: (e: Error | null) => void;
      const lost = new Promise<Error | null>((r) => (settle = r));
      const [wt] = await loop.connectWritePipe(() => Object.assign(new Protocol(), { connectionLost: settle }), fifo.w);
      try {
        wt.write(Buffer.from("nobody reads this"));
      } catch (err) {
        t.fail(`write threw ${String(err)}`);
      }
      const exc = (await within(5000, lost, "connectionLost")) as NodeJS.ErrnoException | null;
      // uring may see the reader gone before the write is issued: then nothing is written and
      // the buffered bytes make it EPIPE all the same.
      t.is(exc?.code, "EPIPE");
    }),
  );
});
