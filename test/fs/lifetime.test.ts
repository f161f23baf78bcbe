// Offsets past 4 GiB, and fds across a loop's life: closing the loop closes what it opened.
import * as nfs from "node:fs";
import * as path from "node:path";
import { fs } from "ringloop";
import { backendTest, openFds, settleFds } from "../helpers/backends.js";
import { inLoop, tempDir, pattern } from "./_fs.js";

backendTest("fs: offsets above 4 GiB on a sparse file", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "sparse");
  const far = 2 ** 32 + 12345;
  const farther = 5 * 2 ** 32 + 7;
  const nodeBytes = pattern(100, 21);
  nfs.writeFileSync(file, "");
  nfs.truncateSync(file, 6 * 2 ** 32);
  const w = nfs.openSync(file, "r+");
  nfs.writeSync(w, nodeBytes, 0, 100, far + 1000);
  nfs.closeSync(w);
  await inLoop(loop, async () => {
    const h = await fs.open(file, "r+");
    t.is((await h.write(Buffer.from("above 4 GiB"), 0, 11, far)).bytesWritten, 11);
    t.is((await fs.write(h.fd, Buffer.from("bigint"), 0, 6, BigInt(farther))).bytesWritten, 6);
    const r = await h.read(Buffer.alloc(100), 0, 100, far + 1000);
    t.true(r.buffer.equals(nodeBytes), "read at > 4 GiB sees what node:fs wrote there");
    t.is(await fs.writev(h, [Buffer.from("v1"), Buffer.from("v2")], far + 5000), 4);
    const v = [Buffer.alloc(2), Buffer.alloc(2)];
    t.is(await fs.readv(h, v, far + 5000), 4);
    t.is(Buffer.concat(v).toString(), "v1v2");
    t.is((await h.stat()).size, 6 * 2 ** 32);
    await h.close();
  });
  const check = nfs.openSync(file, "r");
  const at = (pos: number, n: number): string => {
    const b = Buffer.alloc(n);
    nfs.readSync(check, b, 0, n, pos);
    return b.toString();
  };
  t.is(at(far, 11), "above 4 GiB");
  t.is(at(farther, 6), "bigint");
  t.is(at(far + 5000, 4), "v1v2");
  t.is(at(far - 4, 4), "\0\0\0\0", "nothing written below the offset (no 32-bit wrap)");
  t.is(at(12345, 11), "\0".repeat(11), "nothing written at the offset mod 2^32");
  nfs.closeSync(check);
});

backendTest("fs: closing the loop with FileHandles open closes their fds", async (t, { loop, newPolicy }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "f");
  nfs.writeFileSync(file, "content");
  const before = openFds();
  const other = newPolicy().newEventLoop();
  const handles = await inLoop(other, async () => Promise.all([fs.open(file), fs.open(file, "r+"), fs.open(path.join(dir, "g"), "w")]));
  t.true(openFds() >= before + 3, "three files open");
  other.close();
  t.is(await settleFds(before), before, "every fd the loop opened is closed");
  // The handles are bound to the closed loop: EBADF, never a reused fd.
  await inLoop(loop, async () => {
    const keep = await fs.open(file); // likely reuses one of the numbers just freed
    const err = await handles[0].read(Buffer.alloc(1)).then(() => null, (e: unknown) => e);
    t.is((err as { code?: string } | null)?.code, "EBADF");
    t.is((await keep.read(Buffer.alloc(7), 0, 7, 0)).buffer.toString(), "content");
    await keep.close();
    for (const h of handles) await h.close();
  });
});

backendTest("fs: FileHandle.close() waits for the reads in flight", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "f");
  const data = pattern(8 * 1024 * 1024, 2);
  nfs.writeFileSync(file, data);
  await inLoop(loop, async () => {
    const h = await fs.open(file);
    const reads = [0, 1, 2, 3].map((i) => h.read(Buffer.alloc(2 * 1024 * 1024), 0, 2 * 1024 * 1024, i * 2 * 1024 * 1024));
    const closed = h.close();
    const results = await Promise.all(reads);
    await closed;
    t.true(Buffer.concat(results.map((r) => r.buffer)).equals(data));
  });
});

backendTest("fs: closing a loop with file ops in flight: every op settles, no fd leaks", async (t, { newPolicy }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "f");
  nfs.writeFileSync(file, pattern(4 * 1024 * 1024, 4));
  const before = openFds();
  const other = newPolicy().newEventLoop();
  const handle = await inLoop(other, () => fs.open(file));
  let markClosed!: () => void;
  const loopClosed = new Promise<void>((r) => (markClosed = r));
  // Started inside the loop, not awaited: the loop stops with them in flight.
  const started = await inLoop(other, async () => {
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 16; i++) ops.push(handle.read(Buffer.alloc(256 * 1024), 0, 256 * 1024, i * 256 * 1024));
    // An open() that completes hands out a FileHandle bound to the closing loop: a read made
    // once the loop is closed (whenever the open completed) is EBADF.
    for (let i = 0; i < 8; i++) ops.push(fs.open(file).then(async (h) => (await loopClosed, h.read(Buffer.alloc(1)))));
    ops.push(fs.stat(file), fs.readFile(file));
    return ops.map((p) => p.then(() => "fulfilled", (e: { code?: string }) => `rejected ${e.code}`));
  });
  other.close();
  markClosed();
  const outcomes = await Promise.race([Promise.all(started), new Promise((r) => setTimeout(() => r("timeout"), 5000))]);
  t.not(outcomes, "timeout", "every op in flight settles once its loop is closed");
  const all = outcomes as string[];
  for (const o of all.slice(0, 16)) t.regex(o, /^(fulfilled|rejected ECANCELED)$/, "a read");
  for (const o of all.slice(16, 24)) t.regex(o, /^rejected (ECANCELED|EBADF)$/, "no fd of a closed loop is usable");
  t.is(await settleFds(before), before, "no fd left open, also none an in-flight open() returned");
});
