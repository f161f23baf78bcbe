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
//
// Precompressed siblings (precompressed, nginx's gzip_static/brotli_static): when the
// entry is opened or re-checked, "<file>.br" and "<file>.gz" next to the file are looked
// for (regular files inside the root, not older than the file: a stale sibling is
// ignored); the entry lists the codings found (`encodings`). lookupEncoded() opens one as
// its own entry, with the file's Content-Type, "Content-Encoding" and its own validators.
// An entry that has siblings, or that on-the-fly compression applies to (`compressible`),
// says "Vary: Accept-Encoding" in every response.
import * as fs from "node:fs";
import { resolvePath, resolveSibling } from "./resolve.js";
import { contentType } from "./mime.js";
import { httpDate } from "./http-date.js";
import { ENCODINGS, SUFFIX, compressibleType, type Encoding } from "./encoding.js";

/** Smallest file compressed on the fly (smaller ones gain too little). */
export const COMPRESS_MIN_BYTES = 256;

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
  /** Last-Modified, ETag, Accept-Ranges [, Vary] [, Content-Encoding] fields. */
  readonly validators: string;
  /** Content-Type + validators: the response-head fields after Date, constant for this file version. */
  readonly fields: string;
  /** Codings of fresh precompressed siblings (identity entries only). */
  readonly encodings: readonly Encoding[];
  /** On-the-fly compression applies (compress on, compressible type, size in range). */
  readonly compressible: boolean;
  /** The coding of this entry's bytes (a precompressed sibling), or null. */
  readonly encoding: Encoding | null;
  /** loop time of the last check against the file system. */
  checkedAt: number;
  refs: number;
  dropped: boolean;
  /** Memo of the full 200 response (head [+ body]) for one Date second and one Connection mode. */
  memo: { second: number; mode: number; buf: Buffer } | null;
}

export type Lookup =
  | { kind: "file"; entry: FileEntry }
  | { kind: "directory"; fsPath: string }
  | { kind: "redirect"; location: string }
  | { kind: "error"; status: number; reason: string };

export interface FileCacheOptions {
  root: string;
  validMs: number;
  maxEntries: number;
  bodyCache: boolean;
  precompressed?: boolean;
  compress?: boolean;
  compressMaxBytes?: number;
  /** Called with each entry dropped (the compressed bodies of it can go). */
  onDrop?: (entry: FileEntry) => void;
}

/** What an entry is beyond its file: its type, siblings, coding. */
interface EntryKind {
  type: string;
  encodings: readonly Encoding[];
  /** compress option on (the size decides the rest). */
  compress: boolean;
  compressMaxBytes: number;
  encoding: Encoding | null;
}

function openEntry(fsPath: string, bodyCache: boolean, now: number, kind: EntryKind): FileEntry | { status: number; reason: string } {
  let fd: number;
  try {
    // fsPath is a realpath. O_NOFOLLOW: a last component swapped for a symlink since then
    // is refused (ELOOP -> 404); O_NONBLOCK: one swapped for a fifo must not block the loop.
    fd = fs.openSync(fsPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EMFILE" || code === "ENFILE") return { status: 503, reason: `${fsPath}: ${code} (out of file descriptors)` };
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
  const type = kind.type;
  const compressible = kind.compress && kind.encoding === null && size >= COMPRESS_MIN_BYTES && size <= kind.compressMaxBytes && compressibleType(type);
  const vary = kind.encoding !== null || kind.encodings.length > 0 || compressible ? "Vary: Accept-Encoding\r\n" : "";
  const coding = kind.encoding === null ? "" : `Content-Encoding: ${kind.encoding}\r\n`;
  const validators = `Last-Modified: ${lastModified}\r\nETag: ${etag}\r\nAccept-Ranges: bytes\r\n${vary}${coding}`;
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
    validators,
    fields: `Content-Type: ${type}\r\n${validators}`,
    encodings: kind.encodings,
    compressible,
    encoding: kind.encoding,
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
    const encodings = this.opts.precompressed ? this.siblings(r.fsPath, r.stat.mtimeMs) : [];
    return this.refresh(urlPath, cached, r.fsPath, r.stat, now, {
      type: contentType(r.fsPath),
      encodings,
      compress: this.opts.compress === true,
      compressMaxBytes: this.opts.compressMaxBytes ?? 0,
      encoding: null,
    });
  }

  /** The precompressed sibling of `file` (an entry lookup() returned) in `enc`, or null when there is none now. */
  lookupEncoded(urlPath: string, file: FileEntry, enc: Encoding, now: number): FileEntry | null {
    const key = `\0${enc}\0${urlPath}`;
    const cached = this.entries.get(key);
    if (cached !== undefined && now - cached.checkedAt < this.opts.validMs) return cached;
    const sibling = resolveSibling(this.opts.root, file.fsPath + SUFFIX[enc]);
    if (sibling === null || sibling.stat.mtimeMs < file.mtimeMs) {
      if (cached !== undefined) this.drop(key, cached);
      return null;
    }
    const r = this.refresh(key, cached, sibling.fsPath, sibling.stat, now, { type: file.contentType, encodings: [], compress: false, compressMaxBytes: 0, encoding: enc });
    return r.kind === "file" ? r.entry : null;
  }

  /** Codings of the fresh precompressed siblings of `fsPath`. */
  private siblings(fsPath: string, mtimeMs: number): Encoding[] {
    const found: Encoding[] = [];
    for (const enc of ENCODINGS) {
      const s = resolveSibling(this.opts.root, fsPath + SUFFIX[enc]);
      if (s !== null && s.stat.mtimeMs >= mtimeMs) found.push(enc);
    }
    return found;
  }

  /** Keeps `cached` when it is still this file version (and kind), else opens it anew under `key`. */
  private refresh(key: string, cached: FileEntry | undefined, fsPath: string, st: fs.Stats, now: number, kind: EntryKind): Lookup {
    if (cached !== undefined) {
      if (cached.fsPath === fsPath && cached.dev === st.dev && cached.ino === st.ino && cached.size === st.size && cached.mtimeMs === st.mtimeMs && sameCodings(cached.encodings, kind.encodings)) {
        cached.checkedAt = now;
        // Refresh its place in the eviction order (oldest-checked goes first).
        this.entries.delete(key);
        this.entries.set(key, cached);
        return { kind: "file", entry: cached };
      }
      this.drop(key, cached);
    }
    let opened = openEntry(fsPath, this.opts.bodyCache, now, kind);
    if (!("fd" in opened) && opened.status === 503 && this.dropUnused() > 0) opened = openEntry(fsPath, this.opts.bodyCache, now, kind);
    if (!("fd" in opened)) return { kind: "error", status: opened.status, reason: opened.reason };
    if (this.closed) {
      opened.dropped = true;
      return { kind: "file", entry: opened };
    }
    this.entries.set(key, opened);
    if (this.entries.size > this.opts.maxEntries) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, FileEntry];
      this.drop(oldestKey, oldest);
    }
    return { kind: "file", entry: opened };
  }

  /** Out of descriptors: closes every entry no response is sending from; returns how many. */
  private dropUnused(): number {
    let n = 0;
    for (const [key, entry] of this.entries) {
      if (entry.refs === 0) {
        this.drop(key, entry);
        n++;
      }
    }
    return n;
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
    this.opts.onDrop?.(entry);
    if (entry.refs === 0) fs.closeSync(entry.fd);
  }
}

function sameCodings(a: readonly Encoding[], b: readonly Encoding[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
