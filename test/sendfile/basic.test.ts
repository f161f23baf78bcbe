// loop.sendfile basics on both backends: file as path / fd / { fd }, offset and count
// (hash of exactly that range), offset past EOF, byte order with writes before, during and
// after the file, reading paused during the send and resumed after, argument validation,
// fallback=false without a native path.
import test from "ava";
import * as fs from "node:fs";
import * as crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import { SendfileNotAvailableError } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop } from "../streams/_streams.js";
import { makeFile, hashRange, Reader, Sender, connect, closeAndWait, within, streams, MiB } from "./_sendfile.js";

const SIZE = 3 * MiB + 12345;
const file = makeFile(SIZE);
test.after.always(() => file.remove());

backendTest("sendfile: path, fd and { fd } with offset and count send exactly that range", async (t, { loop }) => {
  const reader = await new Reader().listen();
  const fd = fs.openSync(file.path, "r");
  try {
    await inLoop(loop, async () => {
      const cases: Array<[unknown, number, number | undefined, number]> = [
        [file.path, 0, undefined, SIZE],
        [fd, 4097, 1 * MiB + 3, 1 * MiB + 3],
        [{ fd }, SIZE - 10, undefined, 10],
        [file.path, 12, SIZE, SIZE - 12], // count past EOF: what the file holds
        [fd, SIZE + 100, 50, 0], // offset past EOF: nothing (asyncio)
      ];
      for (const [src, offset, count, expected] of cases) {
        const [tr, p] = await connect(loop, reader.port);
        const sent = await within(20000, loop.sendfile(tr, src as never, offset, count), "sendfile");
        t.is(sent, expected);
        t.is(await closeAndWait(tr, p), null);
        const r = await within(10000, reader.received(), "reader");
        t.is(r.bytes, expected);
        t.is(r.hash, hashRange(file.path, offset, expected));
      }
    });
    // The caller's fd is not closed by sendfile.
    t.true(fs.fstatSync(fd).isFile());
  } finally {
    fs.closeSync(fd);
    await reader.close();
  }
});

backendTest("sendfile: writes before the call go first, writes during it after the file; reading resumes after", async (t, { loop }) => {
  // The peer answers the first bytes it sees: that data arrives while the file is going out.
  const reader = await new Reader((s) => s.once("data", () => s.write("from-peer"))).listen();
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      tr.write(Buffer.from("HEAD"));
      p.fileInProgress = true;
      const sending = loop.sendfile(tr, file.path);
      t.false(tr.isReading(), "reading is paused while the file is sent");
      tr.write(Buffer.from("MIDDLE"));
      const sent = await within(20000, sending, "sendfile");
      p.fileInProgress = false;
      t.is(sent, SIZE);
      t.is(p.duringFile, 0, "no data delivered to the protocol during the sendfile");
      t.true(tr.isReading(), "reading resumed after the sendfile");
      tr.write(Buffer.from("TAIL"));
      await within(10000, p.gotData.promise, "peer data after the sendfile");
      t.is(Buffer.concat(p.data).toString(), "from-peer");
      t.is(await closeAndWait(tr, p), null);
      const r = await within(10000, reader.received(), "reader");
      t.is(r.bytes, 4 + SIZE + 6 + 4);
      t.is(r.head.subarray(0, 4).toString(), "HEAD");
      t.is(r.tail.subarray(-10).toString(), "MIDDLETAIL");
      const whole = Buffer.concat([Buffer.from("HEAD"), fs.readFileSync(file.path), Buffer.from("MIDDLETAIL")]);
      t.is(r.hash, crypto.createHash("sha256").update(whole).digest("hex"));
    });
  } finally {
    await reader.close();
  }
});

backendTest("sendfile: close() during the send closes after the file; a second sendfile at once is refused", async (t, { loop }) => {
  const reader = await new Reader().listen();
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      const sending = loop.sendfile(tr, file.path);
      await t.throwsAsync(loop.sendfile(tr, file.path), { message: /already sending a file/ });
      tr.write(Buffer.from("LAST"));
      tr.close();
      t.is(await within(20000, sending, "sendfile"), SIZE);
      t.is(await within(10000, p.lost.promise, "connectionLost"), null);
      await t.throwsAsync(loop.sendfile(tr, file.path), { message: /closing/ });
      const r = await within(10000, reader.received(), "reader");
      t.is(r.bytes, SIZE + 4);
      t.is(r.tail.subarray(-4).toString(), "LAST");
    });
  } finally {
    await reader.close();
  }
});

backendTest("sendfile: bad arguments are TypeError/RangeError naming the argument; a missing path is ENOENT", async (t, { loop }) => {
  const reader = await new Reader().listen();
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      const sf = loop.sendfile.bind(loop) as (...a: unknown[]) => Promise<number>;
      await t.throwsAsync(sf({}, file.path), { instanceOf: TypeError, message: /"transport"/ });
      await t.throwsAsync(sf(tr, 3.5), { instanceOf: RangeError, message: /"file"/ });
      await t.throwsAsync(sf(tr, { fd: "x" }), { instanceOf: TypeError, message: /"file"/ });
      await t.throwsAsync(sf(tr, null), { instanceOf: TypeError, message: /"file"/ });
      await t.throwsAsync(sf(tr, ""), { instanceOf: TypeError, message: /"file"/ });
      await t.throwsAsync(sf(tr, file.path, "1"), { instanceOf: TypeError, message: /"offset"/ });
      await t.throwsAsync(sf(tr, file.path, -1), { instanceOf: RangeError, message: /"offset"/ });
      await t.throwsAsync(sf(tr, file.path, 1.5), { instanceOf: RangeError, message: /"offset"/ });
      await t.throwsAsync(sf(tr, file.path, 0, -5), { instanceOf: RangeError, message: /"count"/ });
      await t.throwsAsync(sf(tr, file.path, 0, 2.5), { instanceOf: RangeError, message: /"count"/ });
      await t.throwsAsync(sf(tr, file.path, 0, "9"), { instanceOf: TypeError, message: /"count"/ });
      await t.throwsAsync(sf(tr, file.path, 0, null, { fallback: "no" }), { instanceOf: TypeError, message: /fallback/ });
      await t.throwsAsync(sf(tr, file.path + ".missing"), { code: "ENOENT" });
      // Nothing was sent and the transport is still usable.
      tr.write(Buffer.from("ok"));
      t.is(await closeAndWait(tr, p), null);
      const r = await within(10000, reader.received(), "reader");
      t.is(r.head.toString(), "ok");
    });
  } finally {
    await reader.close();
  }
});

backendTest("sendfile: fallback=false needs a native path (SendfileNotAvailableError without one)", async (t, { loop, backend }) => {
  const reader = await new Reader().listen();
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      const hasNative = (tr as unknown as { _hasNativeSendfile(): boolean })._hasNativeSendfile();
      if (backend === "fallback") t.false(hasNative, "the fallback backend has no native path");
      if (hasNative) {
        t.is(await within(20000, loop.sendfile(tr, file.path, 0, 1000, { fallback: false }), "native sendfile"), 1000);
      } else {
        await t.throwsAsync(loop.sendfile(tr, file.path, 0, 1000, { fallback: false }), { instanceOf: SendfileNotAvailableError });
      }
      // A pipe is not a regular file: no native path for it either.
      const [rd, wr] = pipePair();
      try {
        await t.throwsAsync(loop.sendfile(tr, rd, 0, 10, { fallback: false }), { instanceOf: SendfileNotAvailableError });
      } finally {
        fs.closeSync(rd);
        fs.closeSync(wr);
      }
      t.is(await closeAndWait(tr, p), null);
      const r = await within(10000, reader.received(), "reader");
      t.is(r.bytes, hasNative ? 1000 : 0);
    });
  } finally {
    await reader.close();
  }
});

/** A pipe's two fds (a FIFO opened both ways, then unlinked: node has no pipe()). */
function pipePair(): [number, number] {
  const fifo = `/tmp/ringloop-sendfile-fifo-${process.pid}-${Date.now()}`;
  execFileSync("mkfifo", [fifo]);
  try {
    const rd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const wr = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    return [rd, wr];
  } finally {
    fs.unlinkSync(fifo);
  }
}

backendTest("sendfile: an offset beyond 4 GiB (sparse file) sends the right bytes", async (t, { loop }) => {
  const sparse = makeFile(4096, "sparse");
  const base = 4 * 1024 * MiB + 777;
  const fd = fs.openSync(sparse.path, "r+");
  try {
    fs.writeSync(fd, fs.readFileSync(file.path), 0, SIZE, base);
  } finally {
    fs.closeSync(fd);
  }
  const reader = await new Reader().listen();
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      t.is(await within(20000, loop.sendfile(tr, sparse.path, base + 5, SIZE - 5), "sendfile"), SIZE - 5);
      t.is(await closeAndWait(tr, p), null);
    });
    const r = await within(10000, reader.received(), "reader");
    t.is(r.hash, hashRange(file.path, 5, SIZE - 5));
  } finally {
    await reader.close();
    sparse.remove();
  }
});

backendTest("sendfile: over a Unix stream socket", async (t, { loop }) => {
  const sockPath = `/tmp/ringloop-sendfile-${process.pid}-${Date.now()}.sock`;
  const reader = new Reader();
  await new Promise<void>((r) => reader.server.listen(sockPath, r));
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await within(5000, streams(loop).createUnixConnection(() => new Sender(), sockPath), "unix connect");
      const sender = p as Sender;
      await within(5000, sender.made.promise, "connectionMade");
      t.is(await within(20000, loop.sendfile(tr, file.path, 3, SIZE - 3), "sendfile"), SIZE - 3);
      t.is(await closeAndWait(tr, sender), null);
    });
    const r = await within(10000, reader.received(), "reader");
    t.is(r.hash, hashRange(file.path, 3, SIZE - 3));
  } finally {
    await reader.close();
    fs.rmSync(sockPath, { force: true });
  }
});

backendTest("sendfile: refused after writeEof(); writeEof() during a sendfile takes effect after the file", async (t, { loop }) => {
  const reader = await new Reader((s) => s.on("end", () => s.end())).listen();
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      const sending = loop.sendfile(tr, file.path, 0, 100000);
      tr.writeEof();
      t.is(await within(20000, sending, "sendfile"), 100000);
      await t.throwsAsync(loop.sendfile(tr, file.path), { message: /after writeEof/ });
      t.is(await within(10000, p.lost.promise, "connectionLost after both EOFs"), null);
    });
    const r = await within(10000, reader.received(), "reader");
    t.is(r.bytes, 100000);
    t.is(r.hash, hashRange(file.path, 0, 100000));
  } finally {
    await reader.close();
  }
});
