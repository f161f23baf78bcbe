// sendfile failures on both backends: the peer resets mid-send (rejects with EPIPE or
// ECONNRESET, the transport closes with that error, nothing leaks), the file is truncated
// while being sent (rejects with ERR_FILE_TRUNCATED and bytesSent, the transport stays
// usable and what was sent is exactly bytesSent), abort() during the send (rejects, the
// transport closes).
import * as fs from "node:fs";
import { backendTest } from "../helpers/backends.js";
import { inLoop } from "../streams/_streams.js";
import { makeFile, Reader, stallingReader, connect, closeAndWait, within, MiB } from "./_sendfile.js";

const SIZE = 32 * MiB;

backendTest("sendfile: the peer resets mid-send: rejects with EPIPE/ECONNRESET and the transport closes", async (t, { loop }) => {
  const file = makeFile(SIZE);
  // The reader resets (SO_LINGER 0) once the first MiB has arrived.
  const reader = await new Reader((s) => {
    let n = 0;
    s.on("data", (d: Buffer) => {
      n += d.length;
      if (n >= MiB && !s.destroyed) s.resetAndDestroy();
    });
  }).listen();
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      const err = await within(20000, loop.sendfile(tr, file.path), "sendfile after a reset").then(
        (n) => t.fail(`sendfile resolved with ${n}`),
        (e: NodeJS.ErrnoException & { bytesSent?: number }) => e,
      );
      if (err) {
        t.true(["EPIPE", "ECONNRESET"].includes(err.code ?? ""), `code ${err.code}: ${err.message}`);
        t.true(typeof err.bytesSent === "number" && err.bytesSent < SIZE, `bytesSent ${err.bytesSent}`);
      }
      const lostExc = await within(10000, p.lost.promise, "connectionLost");
      t.true(["EPIPE", "ECONNRESET"].includes((lostExc as NodeJS.ErrnoException | null)?.code ?? ""), String(lostExc));
      t.true(tr.isClosing());
      await t.throwsAsync(loop.sendfile(tr, file.path), { message: /closing/ });
    });
    await within(5000, reader.received(), "reader");
  } finally {
    await reader.close();
    file.remove();
  }
});

backendTest("sendfile: a file truncated while being sent rejects with ERR_FILE_TRUNCATED; the transport stays usable", async (t, { loop }) => {
  const file = makeFile(SIZE);
  const { reader, stalled } = await stallingReader();
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      const sending = loop.sendfile(tr, file.path, 0, SIZE);
      sending.catch(() => {});
      const s = await within(10000, stalled(), "the reader's first data");
      fs.truncateSync(file.path, 0);
      s.resume();
      const err = (await within(20000, sending.then(
        (n) => new Error(`resolved with ${n}`),
        (e: Error) => e,
      ), "sendfile after truncation")) as Error & { code?: string; bytesSent?: number };
      t.is(err.code, "ERR_FILE_TRUNCATED", err.message);
      t.regex(err.message, /truncated/);
      t.true(typeof err.bytesSent === "number" && err.bytesSent > 0 && err.bytesSent < SIZE, `bytesSent ${err.bytesSent}`);
      t.false(tr.isClosing(), "the transport stays open");
      t.true(tr.isReading(), "reading resumed");
      tr.write(Buffer.from("after"));
      t.is(await closeAndWait(tr, p), null);
      const r = await within(10000, reader.received(), "reader");
      t.is(r.bytes, err.bytesSent! + 5, "exactly bytesSent of the file, then the later write");
      t.is(r.tail.subarray(-5).toString(), "after");
    });
  } finally {
    await reader.close();
    file.remove();
  }
});

backendTest("sendfile: abort() during the send rejects it and closes the transport", async (t, { loop }) => {
  const file = makeFile(SIZE);
  const { reader, stalled } = await stallingReader();
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      const sending = loop.sendfile(tr, file.path);
      sending.catch(() => {});
      const s = await within(10000, stalled(), "the reader's first data");
      tr.abort();
      s.resume();
      await t.throwsAsync(within(10000, sending, "sendfile after abort"), { code: "ERR_TRANSPORT_CLOSED" });
      t.is(await within(10000, p.lost.promise, "connectionLost"), null);
    });
    const r = await within(10000, reader.received(), "reader");
    t.true(r.bytes < SIZE);
  } finally {
    await reader.close();
    file.remove();
  }
});
