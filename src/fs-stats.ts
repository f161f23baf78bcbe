// Stats: what ringloop's fs.stat / lstat / fstat resolve, shaped like node:fs's Stats
// (same fields, same ms arithmetic, Dates rounded from the ms values as Node does).
import { constants } from "node:fs";
import type { StatFields } from "./proactor.js";

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK } = constants;

export class Stats implements StatFields {
  dev: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
  ino: number;
  size: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  /** @internal */
  constructor(f: StatFields) {
    this.dev = f.dev;
    this.mode = f.mode;
    this.nlink = f.nlink;
    this.uid = f.uid;
    this.gid = f.gid;
    this.rdev = f.rdev;
    this.blksize = f.blksize;
    this.ino = f.ino;
    this.size = f.size;
    this.blocks = f.blocks;
    this.atimeMs = f.atimeMs;
    this.mtimeMs = f.mtimeMs;
    this.ctimeMs = f.ctimeMs;
    this.birthtimeMs = f.birthtimeMs;
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
