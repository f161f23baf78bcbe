// stat / lstat / fstat against node:fs.statSync / lstatSync / fstatSync, field by field.
import * as nfs from "node:fs";
import * as path from "node:path";
import { fs } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, tempDir, sameStats } from "./_fs.js";

backendTest("fs: stat, lstat and fstat equal node:fs's, symlink included", async (t, { loop }) => {
  const dir = tempDir(t);
  const file = path.join(dir, "file");
  const link = path.join(dir, "link");
  nfs.writeFileSync(file, "x".repeat(12345));
  nfs.chmodSync(file, 0o640);
  nfs.symlinkSync(file, link);
  nfs.utimesSync(file, 1700000000.123456, 1600000000.987654); // sub-ms times
  await inLoop(loop, async () => {
    sameStats(t, await fs.stat(file), nfs.statSync(file), "stat(file)");
    sameStats(t, await fs.stat(link), nfs.statSync(link), "stat(link)");
    const l = await fs.lstat(link);
    t.true(l.isSymbolicLink());
    sameStats(t, l, nfs.lstatSync(link), "lstat(link)");
    sameStats(t, await fs.stat(dir), nfs.statSync(dir), "stat(dir)");
    t.true((await fs.stat(dir)).isDirectory());
    sameStats(t, await fs.stat("/dev/null"), nfs.statSync("/dev/null"), "stat(/dev/null)");
    t.true((await fs.stat(new URL(`file://${file}`))).isFile());
    t.is((await fs.stat(Buffer.from(file))).size, 12345);
    const h = await fs.open(file);
    sameStats(t, await h.stat(), nfs.fstatSync(h.fd), "FileHandle.stat()");
    sameStats(t, await fs.fstat(h.fd), nfs.fstatSync(h.fd), "fstat(fd)");
    await h.close();
  });
});
