// connectReadPipe / connectWritePipe arguments: what is refused (TypeError/RangeError naming
// the argument, or Node's EBADF), what is accepted (a character device), and what a refusal
// leaves behind (nothing taken: the fd stays the caller's).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Protocol, NotImplementedError } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, withFifo, PipeReader } from "./_pipes.js";

backendTest("pipes: bad arguments are TypeError/RangeError naming them; a refused fd stays open", async (t, { loop }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-pipeargs-"));
  const file = fs.openSync(path.join(dir, "regular"), "w+");
  await withFifo((fifo) =>
    inLoop(loop, async () => {
      const factory = () => new Protocol();
      await t.throwsAsync(loop.connectReadPipe(factory, "0" as never), { instanceOf: TypeError, message: /"pipe" argument must be an fd/ });
      await t.throwsAsync(loop.connectReadPipe(factory, 1.5), { instanceOf: TypeError, message: /"pipe" argument/ });
      await t.throwsAsync(loop.connectWritePipe(factory, -1), { instanceOf: RangeError, message: /"pipe" argument must be an fd >= 0/ });
      await t.throwsAsync(loop.connectWritePipe(factory, {} as never), { instanceOf: TypeError, message: /"pipe" argument must be an fd or a Node stream with an fd/ });
      await t.throwsAsync(loop.connectReadPipe(factory, file), { instanceOf: TypeError, message: /"pipe" argument must be a pipe, a FIFO, a socket or a character device/ });
      await t.throwsAsync(loop.connectReadPipe(null as never, fifo.r), { instanceOf: TypeError, message: /"protocolFactory" argument must be a function/ });
      await t.throwsAsync(loop.connectReadPipe(() => 5 as never, fifo.r), { instanceOf: TypeError, message: /protocolFactory\(\) must return a protocol object/ });
      await t.throwsAsync(
        loop.connectReadPipe(() => {
          throw new Error("factory failed");
        }, fifo.r),
        { message: "factory failed" },
      );
      const unopened = fs.createReadStream(path.join(dir, "regular")); // its open is still to come
      await t.throwsAsync(loop.connectReadPipe(factory, unopened), { instanceOf: TypeError, message: /has none \(yet/ });
      await new Promise<void>((resolve) => unopened.destroy().once("close", () => resolve()));
      t.true(fs.fstatSync(fifo.r).isFIFO(), "a refused fd is not taken");
      const closedFd = fs.openSync("/dev/null", "r");
      fs.closeSync(closedFd);
      await t.throwsAsync(loop.connectReadPipe(factory, closedFd), { code: "EBADF" });
      fs.closeSync(fifo.r);
      fs.closeSync(fifo.w);
    }),
  );
  fs.closeSync(file);
  fs.rmSync(dir, { recursive: true, force: true });
});

backendTest("pipes: a character device: /dev/null reads EOF at once and swallows writes (fallback: NotImplementedError)", async (t, { loop, backend }) => {
  await inLoop(loop, async () => {
    if (backend === "fallback") {
      const fd = fs.openSync("/dev/null", "r");
      await t.throwsAsync(loop.connectReadPipe(() => new Protocol(), fd), { instanceOf: NotImplementedError, message: /fallback backend .* use the io_uring backend/ });
      fs.closeSync(fd);
      return;
    }
    const reader = new PipeReader();
    await loop.connectReadPipe(() => reader, fs.openSync("/dev/null", "r"));
    t.is(await within(5000, reader.lost.promise, "EOF of /dev/null"), null);
    t.deepEqual(reader.events, ["made", "eof", "lost"]);
    let settle!: (e: Error | null) => void;
    const lost = new Promise<Error | null>((r) => (settle = r));
    const [wt] = await loop.connectWritePipe(() => Object.assign(new Protocol(), { connectionLost: settle }), fs.openSync("/dev/null", "w"));
    wt.write(Buffer.alloc(1024 * 1024));
    wt.writeEof();
    t.is(await within(5000, lost, "write pipe closed"), null);
  });
});
