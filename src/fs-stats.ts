// Stats: what ringloop's fs.stat / lstat / fstat resolve, shaped like node:fs's Stats
// (same fields, same ms arithmetic, Dates rounded from the ms values as Node does).
import { constants } from "node:fs";
import type { StatFields } from "./proactor.js";

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK } = constants;

// The fields are declared through this interface (merged with the class below) and set in
// the constructor in node:fs's order.
export interface Stats extends StatFields {
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;
}

export class Stats {
  /** @internal */
  constructor(f: StatFields) {
    Object.assign(this, {
      dev: f.dev, mode: f.mode, nlink: f.nlink, uid: f.uid, gid: f.gid, rdev: f.rdev, blksize: f.blksize, ino: f.ino,
      size: f.size, blocks: f.blocks, atimeMs: f.atimeMs, mtimeMs: f.mtimeMs, ctimeMs: f.ctimeMs, birthtimeMs: f.birthtimeMs,
    });
    this.atime = new Date(Math.round(f.atimeMs));
    this.mtime = new Date(Math.round(f.mtimeMs));
    this.ctime = new Date(Math.round(f.ctimeMs));
    this.birthtime = new Date(Math.round(f.birthtimeMs));
  }

  isFile(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
  isBlockDevice(): boolean {
    return (this.mode & S_IFMT) === S_IFBLK;
  }
  isCharacterDevice(): boolean {
    return (this.mode & S_IFMT) === S_IFCHR;
  }
  isFIFO(): boolean {
    return (this.mode & S_IFMT) === S_IFIFO;
  }
  isSocket(): boolean {
    return (this.mode & S_IFMT) === S_IFSOCK;
  }
}
