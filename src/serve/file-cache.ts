// Open-file cache (nginx's open_file_cache): URL path -> open fd + validators + the
// constant part of the response head, so a repeated request costs no syscall but the send.
//
// Freshness: an entry is trusted for `validMs` after its last check; the next lookup after
// that re-resolves the path (realpath + stat, so renamed, replaced, deleted files and
// swapped symlinks are seen) and reopens when dev/ino/size/mtime changed. Nothing older
// than validMs is ever served.
//
// Ownership of fds: an entry's fd is closed when the entry is dropped (stale, evicted
// beyond maxEntries, or cache closed) AND no response still uses it: responses hold a
// reference (acquire/release) for as long as their body is being sent.
//
// Small-file body cache (optional, bodyCache): files up to SMALL_BODY_MAX bytes are read
// once into memory so head + body leave in ONE write; the copy is dropped with the entry.
import * as fs from "node:fs";
import { resolvePath } from "./resolve.js";
import { contentType } from "./mime.js";
import { httpDate } from "./http-date.js";

/** Largest file whose body the small-file cache keeps in memory. */
export const SMALL_BODY_MAX = 32 * 1024;

export interface FileEntry {
  readonly fsPath: string;
  readonly fd: number;
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
  readonly mtimeMs: number;
  /** Last-Modified in whole seconds (the precision HTTP dates carry). */
  readonly mtimeSec: number;
  /** Strong validator like nginx's: "<mtime seconds hex>-<size hex>". */
  readonly etag: string;
  readonly lastModified: string;
  readonly contentType: string;
  /** Body bytes when the small-file cache holds them, else null. */
  readonly body: Buffer | null;
  /** Response-head fields after Date, constant for this file version. */
  readonly fields: string;
  /** loop time of the last check against the file system. */
  checkedAt: number;
  refs: number;
  dropped: boolean;
  /** Memo of the full 200 response (head [+ body]) for one Date second and one Connection mode. */
  memo: { second: number; mode: number; buf: Buffer } | null;
}

export type Lookup = { kind: "file"; entry: FileEntry } | { kind: "redirect"; location: string } | { kind: "error"; status: number; reason: string };

export interface FileCacheOptions {
  root: string;
  validMs: number;
  maxEntries: number;
  bodyCache: boolean;
}

function openEntry(fsPath: string, bodyCache: boolean, now: number): FileEntry | { status: number; reason: string } {
  let fd: number;
  try {
    // fsPath is a realpath. O_NOFOLLOW: a last component swapped for a symlink since then
    // is refused (ELOOP -> 404); O_NONBLOCK: one swapped for a fifo must not block the loop.
    fd = fs.openSync(fsPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === "EACCES" || code === "EPERM" ? { status: 403, reason: `${fsPath}: permission denied` } : { status: 404, reason: `${fsPath}: ${code}` };
  }
  let st: fs.Stats;
  let body: Buffer | null = null;
  try {
    st = fs.fstatSync(fd);
    if (!st.isFile()) {
      fs.closeSync(fd);
      return { status: 403, reason: `${fsPath}: not a regular file` };
    }
    if (bodyCache && st.size <= SMALL_BODY_MAX) {
      body = Buffer.allocUnsafe(st.size);
      let got = 0;
      while (got < st.size) {
        const n = fs.readSync(fd, body, got, st.size - got, got);
        if (n === 0) break;
        got += n;
      }
      if (got < st.size) body = body.subarray(0, got);
    }
  } catch (err) {
    fs.closeSync(fd);
    return { status: 404, reason: `${fsPath}: ${(err as { code?: string }).code}` };
  }
  const size = body !== null ? body.length : st.size;
  const mtimeSec = Math.floor(st.mtimeMs / 1000);
  const etag = `"${mtimeSec.toString(16)}-${size.toString(16)}"`;
  const lastModified = httpDate(mtimeSec * 1000);
  const type = contentType(fsPath);
  return {
    fsPath,
    fd,
    size,
    dev: st.dev,
    ino: st.ino,
    mtimeMs: st.mtimeMs,
    mtimeSec,
    etag,
    lastModified,
    contentType: type,
    body,
    fields: `Content-Type: ${type}\r\nLast-Modified: ${lastModified}\r\nETag: ${etag}\r\nAccept-Ranges: bytes\r\n`,
    checkedAt: now,
    refs: 0,
    dropped: false,
    memo: null,
  };
}

export class FileCache {
  private readonly opts: FileCacheOptions;
  private readonly entries = new Map<string, FileEntry>();
  private closed = false;

  constructor(opts: FileCacheOptions) {
    this.opts = opts;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The file for a normalised URL path, checked against the file system at most every validMs. */
  lookup(urlPath: string, now: number): Lookup {
    const cached = this.entries.get(urlPath);
    if (cached !== undefined && now - cached.checkedAt < this.opts.validMs) return { kind: "file", entry: cached };
    const r = resolvePath(this.opts.root, urlPath);
    if (r.kind !== "file") {
      if (cached !== undefined) this.drop(urlPath, cached);
      return r;
    }
    if (cached !== undefined) {
      const st = r.stat;
      if (cached.fsPath === r.fsPath && cached.dev === st.dev && cached.ino === st.ino && cached.size === st.size && cached.mtimeMs === st.mtimeMs) {
        cached.checkedAt = now;
        // Refresh its place in the eviction order (oldest-checked goes first).
        this.entries.delete(urlPath);
        this.entries.set(urlPath, cached);
        return { kind: "file", entry: cached };
      }
      this.drop(urlPath, cached);
    }
    const opened = openEntry(r.fsPath, this.opts.bodyCache, now);
    if (!("fd" in opened)) return { kind: "error", status: opened.status, reason: opened.reason };
    if (this.closed) {
      opened.dropped = true;
      return { kind: "file", entry: opened };
    }
    this.entries.set(urlPath, opened);
    if (this.entries.size > this.opts.maxEntries) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, FileEntry];
      this.drop(oldestKey, oldest);
    }
    return { kind: "file", entry: opened };
  }

  acquire(entry: FileEntry): void {
    entry.refs++;
  }

  release(entry: FileEntry): void {
    entry.refs--;
    if (entry.refs === 0 && entry.dropped) fs.closeSync(entry.fd);
  }

  /** Closes every fd nobody is sending from; the rest close on their last release. */
  close(): void {
    this.closed = true;
    for (const [key, entry] of this.entries) this.drop(key, entry);
  }

  private drop(key: string, entry: FileEntry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
    if (entry.dropped) return;
    entry.dropped = true;
    if (entry.refs === 0) fs.closeSync(entry.fd);
  }
}
