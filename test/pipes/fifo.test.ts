// Pipe transports over a FIFO, both ends in one loop: bulk data checked by sha256, EOF and
// the order of the reader's calls, pauseReading holding data, writeEof and close.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { Protocol, BufferedProtocol } from "ringloop";
import { backendTest, sleep } from "../helpers/backends.js";
import { inLoop, within, sha256, withFifo, PipeReader, PipeWriter } from "./_pipes.js";

backendTest("pipes: 64 MiB through a FIFO, sha256 equal; EOF then connectionLost(null) on both ends", async (t, { loop }) => {
  const payload = crypto.randomBytes(64 * 1024 * 1024);
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const reader = new PipeReader();
      const writer = new PipeWriter(payload, 1024 * 1024);
      const [rt] = await loop.connectReadPipe(() => reader, fifo.r);
      const [wt] = await loop.connectWritePipe(() => writer, fifo.w);
      t.true(rt.isReading());
      t.false(wt.isClosing());
      t.is(await within(30_000, writer.lost.promise, "writer connectionLost after writeEof"), null);
      t.is(await within(30_000, reader.lost.promise, "reader connectionLost after EOF"), null);
      t.is(reader.bytes, payload.length);
      t.is(reader.hash.digest("hex"), sha256(payload));
      t.deepEqual(reader.events, ["made", "data", "eof", "lost"]);
      t.true(writer.pauses > 0, "1 MiB writes into a 64 KiB pipe cross the high-water mark");
      // The last pause may end with the close that writeEof makes: no flow-control call then.
      t.true(writer.resumes === writer.pauses || writer.resumes === writer.pauses - 1);
      t.true(rt.isClosing() && wt.isClosing());
    }),
  );
});

backendTest("pipes: pauseReading holds data (and EOF) until resumeReading", async (t, { loop }) => {
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const reader = new PipeReader();
      reader.keep = true;
      const [rt] = await loop.connectReadPipe(() => reader, fifo.r);
      rt.pauseReading();
      t.false(rt.isReading());
      fs.writeSync(fifo.w, "held ");
      fs.writeSync(fifo.w, "data");
      fs.closeSync(fifo.w);
      await sleep(100);
      t.deepEqual(reader.events, ["made"], "nothing delivered while paused");
      rt.resumeReading();
      t.true(rt.isReading());
      t.is(await within(5000, reader.lost.promise, "EOF after resume"), null);
      t.is(Buffer.concat(reader.chunks).toString(), "held data");
      t.deepEqual(reader.events, ["made", "data", "eof", "lost"]);
    }),
  );
});

backendTest("pipes: a read pipe has no write side; writeEof on a write pipe closes it and the reader sees EOF", async (t, { loop }) => {
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const reader = new PipeReader();
      reader.keep = true;
      const [rt] = await loop.connectReadPipe(() => reader, fifo.r);
      t.false((rt as unknown as { canWriteEof(): boolean }).canWriteEof());
      t.throws(() => (rt as unknown as { write(d: Buffer): void }).write(Buffer.from("x")), { message: /read-only pipe transport/ });
      const writer = new PipeWriter(Buffer.alloc(0), 1, false);
      const [wt] = await loop.connectWritePipe(() => writer, fifo.w);
      t.true(wt.canWriteEof());
      wt.write(Buffer.from("last words"));
      wt.writeEof();
      t.true(wt.isClosing(), "writeEof closes a write pipe (asyncio)");
      t.throws(() => wt.write(Buffer.from("more")), { message: /after writeEof/ });
      t.is(await within(5000, writer.lost.promise, "writer closed"), null);
      t.is(await within(5000, reader.lost.promise, "reader EOF"), null);
      t.is(Buffer.concat(reader.chunks).toString(), "last words");
    }),
  );
});

backendTest("pipes: close() of a read pipe closes its fd; exceptions in dataReceived reach the handler", async (t, { loop, takeExceptions }) => {
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const lost = new Promise<Error | null>((resolve) => {
        const failing = Object.assign(new Protocol(), {
          dataReceived() {
            throw new Error("boom");
          },
          connectionLost: resolve,
        });
        void loop.connectReadPipe(() => failing, fifo.r);
      });
      fs.writeSync(fifo.w, "x");
      const exc = await within(5000, lost, "connectionLost after the failing dataReceived");
      t.is((exc as Error).message, "boom");
      const [ctx] = takeExceptions();
      t.is(ctx.message, "Fatal error: protocol.dataReceived() call failed.");
      t.regex(String(ctx.transport), /ReadPipeTransport/);
      t.throws(() => fs.fstatSync(fifo.r), { code: "EBADF" }, "the transport closed the fd it took");
      fs.closeSync(fifo.w);
    }),
  );
});

backendTest("pipes: a BufferedProtocol reads a pipe into its own buffer", async (t, { loop }) => {
  const payload = crypto.randomBytes(3 * 1024 * 1024);
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const buf = Buffer.alloc(100_000);
      const got: Buffer[] = [];
      let settle!: (e: Error | null) => void;
      const lost = new Promise<Error | null>((r) => (settle = r));
      await loop.connectReadPipe(
        () =>
          Object.assign(new BufferedProtocol(), {
            getBuffer: () => buf,
            bufferUpdated: (n: number) => void got.push(Buffer.from(buf.subarray(0, n))),
            connectionLost: settle,
          }),
        fifo.r,
      );
      const [wt] = await loop.connectWritePipe(() => new Protocol(), fifo.w);
      wt.write(payload);
      wt.writeEof();
      t.is(await within(10_000, lost, "EOF"), null);
      t.is(sha256(Buffer.concat(got)), sha256(payload));
      t.true(got.every((c) => c.length <= buf.length));
    }),
  );
});

backendTest("pipes: held data survives a transport nobody references", async (t, { loop }) => {
  // A reading pipe transport is pinned by its endpoint: dropping every reference to it while
  // data is still to come must not lose the data nor the connectionLost.
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const reader = new PipeReader();
      await loop.connectReadPipe(() => reader, fifo.r);
      (globalThis as { gc?: () => void }).gc?.();
      fs.writeSync(fifo.w, "still here");
      fs.closeSync(fifo.w);
      t.is(await within(5000, reader.lost.promise, "EOF"), null);
      t.is(reader.bytes, 10);
    }),
  );
});
