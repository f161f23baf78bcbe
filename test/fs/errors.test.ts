// Errors: the same code / errno / syscall / path as node:fs; argument checks like node:fs's.
import * as nfs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import test from "ava";
import { fs } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, tempDir, errorShape, rejection } from "./_fs.js";

backendTest("fs: ENOENT, EISDIR, EBADF, EEXIST as node:fs reports them", async (t, { loop }) => {
  const dir = tempDir(t);
  const missing = path.join(dir, "missing");
  const existing = path.join(dir, "existing");
  nfs.writeFileSync(existing, "x");
  const badFd = 987654;
  const cases: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
    ["open ENOENT", () => fs.open(missing), () => fsp.open(missing)],
    ["readFile ENOENT", () => fs.readFile(missing), () => fsp.readFile(missing)],
    ["stat ENOENT", () => fs.stat(missing), () => fsp.stat(missing)],
    ["lstat ENOENT", () => fs.lstat(missing), () => fsp.lstat(missing)],
    ["readFile EISDIR", () => fs.readFile(dir), () => fsp.readFile(dir)],
    ["open(dir, 'w') EISDIR", () => fs.open(dir, "w"), () => fsp.open(dir, "w")],
    ["open 'wx' EEXIST", () => fs.open(existing, "wx"), () => fsp.open(existing, "wx")],
    ["writeFile 'wx' EEXIST", () => fs.writeFile(existing, "y", { flag: "wx" }), () => fsp.writeFile(existing, "y", { flag: "wx" })],
    ["read EBADF", () => fs.read(badFd, Buffer.alloc(1)), () => new Promise((_, rej) => nfs.read(badFd, Buffer.alloc(1), 0, 1, null, rej))],
    ["write EBADF", () => fs.write(badFd, Buffer.alloc(1)), () => new Promise((_, rej) => nfs.write(badFd, Buffer.alloc(1), rej))],
    ["fstat EBADF", () => fs.fstat(badFd), () => new Promise((_, rej) => nfs.fstat(badFd, rej))],
    ["fsync EBADF", () => fs.fsync(badFd), () => new Promise((_, rej) => nfs.fsync(badFd, rej))],
    ["close EBADF", () => fs.close(badFd), () => new Promise((_, rej) => nfs.close(badFd, rej))],
  ];
  await inLoop(loop, async () => {
    for (const [what, ours, node] of cases) {
      const a = await rejection(t, ours(), what);
      const b = await rejection(t, node(), `node ${what}`);
      t.deepEqual(errorShape(a), errorShape(b), what);
      t.is((a as Error).message, (b as Error).message, `${what}: message`);
    }
    // a closed FileHandle: EBADF, as node:fs/promises
    const h = await fs.open(existing);
    await h.close();
    await h.close();
    const e = await rejection(t, h.read(Buffer.alloc(1)), "read on a closed FileHandle");
    t.is((e as { code: string }).code, "EBADF");
    t.is((e as { syscall: string }).syscall, "read");
  });
});

backendTest("fs: argument checks: TypeError / RangeError naming the argument", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "f");
  nfs.writeFileSync(file, "0123456789");
  await inLoop(loop, async () => {
    const h = await fs.open(file, "r+");
    const bad: [string, () => Promise<unknown>, ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, RegExp][] = [
      ["path number", () => fs.open(123 as never), TypeError, /"path"/],
      ["path with NUL", () => fs.stat("a\0b"), TypeError, /'path'/],
      ["flags", () => fs.open(file, "rw" as never), TypeError, /'flags'/],
      ["flags object", () => fs.open(file, {} as never), TypeError, /'flags'/],
      ["mode string", () => fs.open(file, "r", "9x"), TypeError, /'mode'/],
      ["mode negative", () => fs.open(file, "r", -1), RangeError, /"mode"/],
      ["buffer", () => h.read("abc" as never, 0, 1, 0), TypeError, /"buffer"/],
      ["offset type", () => h.read(Buffer.alloc(4), "1" as never), TypeError, /"offset"/],
      ["offset range", () => h.read(Buffer.alloc(4), 5, 1, 0), RangeError, /"offset"/],
      ["length range", () => h.read(Buffer.alloc(4), 1, 4, 0), RangeError, /"length"/],
      ["length type", () => fs.read(h.fd, Buffer.alloc(4), 0, "2" as never), TypeError, /"length"/],
      ["position type", () => h.read(Buffer.alloc(4), 0, 4, "0" as never), TypeError, /"position"/],
      ["position range", () => h.read(Buffer.alloc(4), 0, 4, -2), RangeError, /"position"/],
      ["position fraction", () => h.write(Buffer.alloc(4), 0, 4, 1.5), RangeError, /"position"/],
      ["write length range", () => fs.write(h, Buffer.alloc(4), 2, 3), RangeError, /"length"/],
      ["fd type", () => fs.read("3" as never, Buffer.alloc(1)), TypeError, /"fd"/],
      ["fd range", () => fs.fstat(-1), RangeError, /"fd"/],
      ["readv buffers", () => fs.readv(h, [Buffer.alloc(1), "x" as never]), TypeError, /"buffers\[1\]"/],
      ["writeFile data", () => fs.writeFile(file, 42 as never), TypeError, /"data"/],
      ["encoding", () => fs.readFile(file, "nope" as never), TypeError, /'encoding'/],
      ["FileHandle.readFile encoding", () => h.readFile({ encoding: 7 as never }), TypeError, /'encoding'/],
      ["FileHandle.writeFile data", () => h.writeFile(null as never), TypeError, /"data"/],
    ];
    for (const [what, call, type, message] of bad) {
      const err = await rejection(t, call(), what);
      t.true(err instanceof type, `${what}: ${String(err)}`);
      t.regex(String((err as Error).message), message, what);
    }
    await h.close();
  });
  t.is(nfs.readFileSync(file, "utf8"), "0123456789", "no bad call wrote anything");
});

backendTest("fs: readFile with an aborted signal rejects with AbortError", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "f");
  nfs.writeFileSync(file, "data");
  await inLoop(loop, async () => {
    const err = await rejection(t, fs.readFile(file, { signal: AbortSignal.abort() }), "aborted readFile");
    t.is((err as Error).name, "AbortError");
  });
});

test("fs: with no running loop the functions reject with 'no running event loop'", async (t) => {
  const err = await rejection(t, fs.readFile("/etc/hostname"), "readFile outside a loop");
  t.regex((err as Error).message, /no running event loop/);
  t.is((err as { code: string }).code, "ERR_NO_RUNNING_LOOP");
});

test("fs: the \"ringloop/fs\" subpath (require and import) is the same module as the fs export", async (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const required = require("ringloop/fs") as typeof fs;
  const imported = (await (new Function("s", "return import(s)") as (s: string) => Promise<typeof fs>)("ringloop/fs"));
  for (const name of ["open", "close", "read", "write", "readv", "writev", "stat", "lstat", "fstat", "fsync", "fdatasync", "readFile", "writeFile", "FileHandle", "Stats"] as const) {
    t.is(typeof fs[name], "function", name);
    t.is(required[name], fs[name], `require: ${name}`);
    t.is(imported[name], fs[name], `import: ${name}`);
  }
});
