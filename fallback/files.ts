// FallbackFileOps: the FileOps seam (src/proactor.ts) over node:fs/promises. Files opened
// here are FileHandles, looked up by fd; an fd opened elsewhere goes through node:fs's
// fd functions (the same libuv requests). Errors are Node's own.
//
// close() of the proactor closes every FileHandle still open (FileHandle.close() is
// asynchronous: the fd is released a moment later); after that close() resolves and every
// other op rejects with EBADF.
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { promisify } from "node:util";
import type { FileOps, StatFields } from "../src/proactor.js";
import { errno } from "../src/system-error.js";
import { fileError } from "../src/file-error.js";

const readFd = promisify(fs.read);
const writeFd = promisify(fs.write);
const readvFd = promisify(fs.readv);
const writevFd = promisify(fs.writev);
const fstatFd = promisify(fs.fstat);
const fsyncFd = promisify(fs.fsync);
const fdatasyncFd = promisify(fs.fdatasync);
const closeFd = promisify(fs.close);

function fields(s: fs.Stats): StatFields {
  return {
    dev: s.dev, mode: s.mode, nlink: s.nlink, uid: s.uid, gid: s.gid, rdev: s.rdev,
    blksize: s.blksize, ino: s.ino, size: s.size, blocks: s.blocks,
    atimeMs: s.atimeMs, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, birthtimeMs: s.birthtimeMs,
  };
}

const pos = (position: number): number | null => (position < 0 ? null : position);

export class FallbackFileOps implements FileOps {
  private readonly handles = new Map<number, fsp.FileHandle>();
  private closed = false;

  private check(syscall: string): void {
    if (this.closed) throw fileError(-errno.EBADF, syscall);
  }

  async open(path: string | Buffer, flags: number, mode: number): Promise<number> {
    this.check("open");
    const fh = await fsp.open(path, flags, mode);
    if (this.closed) {
      await fh.close(); // opened while the loop closed: nobody may use it
      throw fileError(-errno.ECANCELED, "open", typeof path === "string" ? path : path.toString());
    }
    this.handles.set(fh.fd, fh);
    return fh.fd;
  }

  async close(fd: number): Promise<void> {
    if (this.closed) return; // release() closed every FileHandle open() gave out
    const fh = this.handles.get(fd);
    if (fh === undefined) return closeFd(fd);
    this.handles.delete(fd);
    await fh.close();
  }

  async read(fd: number, buf: Uint8Array, position: number): Promise<number> {
    this.check("read");
    const fh = this.handles.get(fd);
    if (fh !== undefined) return (await fh.read(buf, 0, buf.byteLength, pos(position))).bytesRead;
    return (await readFd(fd, buf, 0, buf.byteLength, pos(position))).bytesRead;
  }

  async write(fd: number, buf: Uint8Array, position: number): Promise<number> {
    this.check("write");
    const fh = this.handles.get(fd);
    if (fh !== undefined) return (await fh.write(buf, 0, buf.byteLength, pos(position))).bytesWritten;
    return (await writeFd(fd, buf, 0, buf.byteLength, pos(position))).bytesWritten;
  }

  async readv(fd: number, bufs: Uint8Array[], position: number): Promise<number> {
    this.check("read");
    const fh = this.handles.get(fd);
    if (fh !== undefined) return (await fh.readv(bufs, pos(position) ?? undefined)).bytesRead;
    return (await readvFd(fd, bufs, pos(position) ?? undefined)).bytesRead;
  }

  async writev(fd: number, bufs: Uint8Array[], position: number): Promise<number> {
    this.check("write");
    const fh = this.handles.get(fd);
    if (fh !== undefined) return (await fh.writev(bufs, pos(position) ?? undefined)).bytesWritten;
    return (await writevFd(fd, bufs, pos(position) ?? undefined)).bytesWritten;
  }

  async stat(path: string | Buffer, followLinks: boolean): Promise<StatFields> {
    this.check(followLinks ? "stat" : "lstat");
    return fields(await (followLinks ? fsp.stat(path) : fsp.lstat(path)));
  }

  async fstat(fd: number): Promise<StatFields> {
    this.check("fstat");
    const fh = this.handles.get(fd);
    return fields(fh !== undefined ? await fh.stat() : await fstatFd(fd));
  }

  async fsync(fd: number, dataOnly: boolean): Promise<void> {
    this.check(dataOnly ? "fdatasync" : "fsync");
    const fh = this.handles.get(fd);
    if (fh !== undefined) await (dataOnly ? fh.datasync() : fh.sync());
    else await (dataOnly ? fdatasyncFd(fd) : fsyncFd(fd));
  }

  freshBuffer(size: number): Buffer {
    return Buffer.allocUnsafeSlow(size);
  }

  /** The loop is closing: close every FileHandle still open. */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fh of this.handles.values()) fh.close().catch(() => {});
    this.handles.clear();
  }
}
