// The fs module's reads and writes against node:fs's results, on both backends.
import * as nfs from "node:fs";
import * as path from "node:path";
import { fs } from "ringloop";
import { backendTest, uringOnlyTest } from "../helpers/backends.js";
import { inLoop, tempDir, pattern } from "./_fs.js";

backendTest("fs: the uring backend uses io_uring file ops, the fallback node:fs/promises", async (t, { loop, backend }) => {
  const files = (loop as unknown as { _proactor: { files: object } })._proactor.files;
  t.is(files.constructor.name, backend === "uring" ? "UringFileOps" : "FallbackFileOps");
});

backendTest("fs: read and write at positions match node:fs", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "rw");
  const data = pattern(10000);
  nfs.writeFileSync(file, data);
  await inLoop(loop, async () => {
    const h = await fs.open(file, "r+");
    t.true(h.fd >= 0);
    // read at explicit positions, into an offset of the buffer
    const buf = Buffer.alloc(300);
    const r = await h.read(buf, 100, 200, 5000);
    t.is(r.bytesRead, 200);
    t.is(r.buffer, buf);
    t.deepEqual(buf.subarray(100, 300), data.subarray(5000, 5200));
    t.deepEqual(buf.subarray(0, 100), Buffer.alloc(100));
    // short read at EOF, then 0
    t.is((await fs.read(h, Buffer.alloc(500), 0, 500, 9900)).bytesRead, 100);
    t.is((await fs.read(h.fd, Buffer.alloc(10), 0, 10, 10000)).bytesRead, 0);
    // position null/omitted: the file position advances
    const a = await h.read(Buffer.alloc(4), 0, 4, null);
    const b = await h.read(Buffer.alloc(4));
    t.deepEqual(Buffer.concat([a.buffer, b.buffer]), data.subarray(0, 8));
    // the options forms
    const o = await h.read({ buffer: Buffer.alloc(8), position: 16 });
    t.deepEqual(o.buffer, data.subarray(16, 24));
    const o2 = await h.read(Buffer.alloc(8), { offset: 4, length: 4, position: 32 });
    t.deepEqual(o2.buffer.subarray(4), data.subarray(32, 36));
    // writes at positions, in the middle and past the end (a hole)
    const w = await h.write(Buffer.from("ABCDEFGH"), 2, 4, 100);
    t.is(w.bytesWritten, 4);
    t.is((await fs.write(h.fd, Buffer.from("xyz"), 0, 3, 20000)).bytesWritten, 3);
    t.is((await h.write("héllo", 300, "utf8")).bytesWritten, 6);
    await h.close();
    t.is(h.fd, -1);
  });
  const expect = Buffer.alloc(20003);
  data.copy(expect);
  Buffer.from("CDEF").copy(expect, 100);
  Buffer.from("héllo").copy(expect, 300);
  Buffer.from("xyz").copy(expect, 20000);
  t.deepEqual(nfs.readFileSync(file), expect);
});

backendTest("fs: readv and writev at positions match node:fs", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "vec");
  const data = pattern(4096, 7);
  nfs.writeFileSync(file, data);
  await inLoop(loop, async () => {
    const h = await fs.open(file, "r+");
    const bufs = [Buffer.alloc(10), new Uint8Array(0), Buffer.alloc(20), new Uint8Array(5)];
    t.is(await fs.readv(h.fd, bufs, 1000), 35);
    t.deepEqual(Buffer.concat(bufs), data.subarray(1000, 1035));
    const r = await h.readv([Buffer.alloc(3000), Buffer.alloc(3000)], 2000);
    t.is(r.bytesRead, 2096, "short readv at EOF");
    t.deepEqual(Buffer.concat(r.buffers).subarray(0, 2096), data.subarray(2000));
    t.is(await fs.writev(h, [Buffer.from("ab"), Buffer.from("cd"), new Uint16Array([0x6665])], 10), 6);
    const w = await h.writev([Buffer.from("END")], 5000);
    t.is(w.bytesWritten, 3);
    await fs.close(h);
  });
  const expect = Buffer.alloc(5003);
  data.copy(expect);
  Buffer.from("abcdef").copy(expect, 10);
  Buffer.from("END").copy(expect, 5000);
  t.deepEqual(nfs.readFileSync(file), expect);
});

backendTest("fs: readv and writev of more than IOV_MAX buffers behave as node:fs's", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "many");
  const ones = (n: number, c = 0): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from([c || 32 + (i % 90)]));
  const src = ones(1100);
  const nodeCount = (bufs: Buffer[]): number => {
    const fd = nfs.openSync(file, "r");
    try {
      return nfs.readvSync(fd, bufs, 0);
    } finally {
      nfs.closeSync(fd);
    }
  };
  await inLoop(loop, async () => {
    const h = await fs.open(file, "w+");
    t.is(await fs.writev(h, src, 0), 1100, "writev writes every buffer");
    t.true(nfs.readFileSync(file).equals(Buffer.concat(src)));
    const mine = ones(1100, 1);
    t.is(await fs.readv(h, mine, 0), nodeCount(ones(1100, 1)), "readv: as many bytes as node:fs's readv");
    await h.close();
  });
});

backendTest("fs: readFile and writeFile: 20 MiB, empty, encodings, FileHandle positions", async (t, { loop }) => {
  const dir = tempDir(t);
  const big = pattern(20 * 1024 * 1024 + 123, 3);
  const bigFile = path.join(dir, "big");
  const empty = path.join(dir, "empty");
  const text = path.join(dir, "text");
  await inLoop(loop, async () => {
    await fs.writeFile(bigFile, big);
    t.true(nfs.readFileSync(bigFile).equals(big), "writeFile wrote every byte");
    t.true((await fs.readFile(bigFile) as Buffer).equals(big), "readFile read every byte");
    await fs.writeFile(empty, "");
    t.is(nfs.statSync(empty).size, 0);
    const e = await fs.readFile(empty);
    t.true(Buffer.isBuffer(e));
    t.is(e.length, 0);
    t.is(await fs.readFile(empty, "utf8"), "");
    await fs.writeFile(text, "68656c6c6f", { encoding: "hex", mode: 0o600 });
    t.is(nfs.statSync(text).mode & 0o777, 0o600 & ~process.umask());
    t.is(await fs.readFile(text, "utf8"), "hello");
    t.is(await fs.readFile(text, { encoding: "base64" }), Buffer.from("hello").toString("base64"));
    // FileHandle: readFile from the current position, writeFile at it
    const h = await fs.open(text, "r+");
    await h.read(Buffer.alloc(2));
    t.is(await h.readFile("utf8"), "llo");
    await h.writeFile(Buffer.from("!"));
    await h.close();
    t.is(nfs.readFileSync(text, "utf8"), "hello!");
    // readFile / writeFile through a FileHandle argument
    const h2 = await fs.open(text, "r");
    t.is(await fs.readFile(h2, "latin1"), "hello!");
    await h2.close();
  });
  // /proc files stat as size 0: read until EOF all the same
  await inLoop(loop, async () => {
    const ours = (await fs.readFile("/proc/self/status", "utf8")) as string;
    t.regex(ours, /^Name:/);
    t.true(ours.length > 100);
  });
});

backendTest("fs: open flags: append, wx, w truncates, numbers", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "flags");
  nfs.writeFileSync(file, "start");
  await inLoop(loop, async () => {
    await fs.writeFile(file, "+more", { flag: "a" });
    t.is(nfs.readFileSync(file, "utf8"), "start+more");
    const h = await fs.open(file, "a");
    await h.write(Buffer.from("!"), 0, 1, 0); // O_APPEND: position ignored, as in node:fs
    await h.close();
    t.is(nfs.readFileSync(file, "utf8"), "start+more!");
    const fresh = path.join(dir, "fresh");
    const x = await fs.open(fresh, "wx");
    await x.write("new");
    await x.close();
    t.is(nfs.readFileSync(fresh, "utf8"), "new");
    await fs.writeFile(file, "w");
    t.is(nfs.readFileSync(file, "utf8"), "w", "'w' truncates");
    const n = await fs.open(file, nfs.constants.O_RDONLY);
    t.is(await n.readFile("utf8"), "w");
    await n.close();
    const plus = await fs.open(file, "a+");
    t.is(await plus.readFile("utf8"), "w");
    await plus.close();
  });
});

backendTest("fs: fsync and fdatasync", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "sync");
  await inLoop(loop, async () => {
    const h = await fs.open(file, "w");
    await h.write("durable");
    await h.sync();
    await h.datasync();
    await fs.fsync(h.fd);
    await fs.fdatasync(h);
    await h.close();
  });
  t.is(nfs.readFileSync(file, "utf8"), "durable");
});

backendTest("fs: 64 concurrent reads at random positions", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "qd");
  const data = pattern(1024 * 1024, 11);
  nfs.writeFileSync(file, data);
  await inLoop(loop, async () => {
    const h = await fs.open(file);
    const positions = Array.from({ length: 64 }, (_, i) => ((i * 7919) % 250) * 4096 + (i % 3));
    const results = await Promise.all(positions.map((p) => h.read(Buffer.alloc(4096), 0, 4096, p)));
    results.forEach((r, i) => {
      t.is(r.bytesRead, 4096);
      t.true(r.buffer.equals(data.subarray(positions[i], positions[i] + 4096)), `read ${i}`);
    });
    await h.close();
  });
});

/** AnonHugePages of this process, in KiB (/proc/self/smaps_rollup). */
function anonHugeKiB(): number {
  const m = /^AnonHugePages:\s+(\d+) kB$/m.exec(nfs.readFileSync("/proc/self/smaps_rollup", "utf8"));
  return m === null ? 0 : Number(m[1]);
}

/** The kernel's THP mode: "always", "madvise" or "never" (the bracketed word). */
function thpMode(): string {
  try {
    return /\[(\w+)\]/.exec(nfs.readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1] ?? "never";
  } catch {
    return "never";
  }
}

uringOnlyTest("fs: readFile's fresh buffer is 2 MiB-aligned memory advised MADV_HUGEPAGE (2 MiB first-touch faults)", async (t, { loop }) => {
  const native = (loop as unknown as { _proactor: { ring: { native: { freshHugeBuffer(n: unknown): Buffer | number } } } })._proactor.ring.native;
  const fresh = native.freshHugeBuffer((8 << 20) + 5) as Buffer;
  t.true(Buffer.isBuffer(fresh));
  t.is(fresh.length, (8 << 20) + 5);
  fresh.fill(7, fresh.length - 10);
  t.is(fresh[fresh.length - 1], 7, "writable to its last byte");
  for (const bad of [0, -1, 1.5, NaN, "8"]) t.is(native.freshHugeBuffer(bad), -22, `size ${String(bad)}: -EINVAL`);
  const dir = tempDir(t);
  const file = path.join(dir, "big");
  const data = pattern(48 << 20, 5);
  nfs.writeFileSync(file, data);
  await inLoop(loop, async () => {
    const before = anonHugeKiB();
    const got = (await fs.readFile(file)) as Buffer;
    const grown = anonHugeKiB() - before;
    t.true(got.equals(data));
    // In "madvise" mode only advised memory gets huge pages: without the advice, none would
    // appear for this buffer. (A fragmented machine may fall back to 4 KiB pages for some.)
    if (thpMode() === "madvise") t.true(grown >= 16 << 10, `AnonHugePages grew by ${grown} KiB`);
    else t.log(`THP mode ${thpMode()}: AnonHugePages grew by ${grown} KiB (not asserted)`);
  });
});

uringOnlyTest("fs: the mapping of a freed readFile buffer is reused by the next one of its 2 MiB step, not mapped afresh", async (t, { loop }) => {
  const native = (loop as unknown as { _proactor: { ring: { native: { freshHugeBuffer(n: number): Buffer | number } } } })._proactor.ring.native;
  // Sizes no other test here uses: 22 MiB + 123 and + 1000 share the 24 MiB step.
  const size = (22 << 20) + 123;
  const fillAndDrop = (): void => {
    (native.freshHugeBuffer(size) as Buffer).fill(0x5a);
  };
  fillAndDrop();
  // The finalizer runs on the JS thread after the GC has freed the Buffer (Node queues it).
  for (let i = 0; i < 3; i++) {
    globalThis.gc!();
    await new Promise((r) => setImmediate(r));
  }
  const again = native.freshHugeBuffer(size + 1000) as Buffer;
  t.is(again[0], 0x5a, "the old bytes: the pooled mapping, not a fresh (zeroed) one");
  t.is(again[size - 1], 0x5a);
  const other = native.freshHugeBuffer(size + (4 << 20)) as Buffer;
  t.is(other[0], 0, "another 2 MiB step: a fresh mapping");
});
