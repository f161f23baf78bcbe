// On-the-fly compression (--compress): a file's body compressed with brotli or gzip
// (node:zlib, on libuv's thread pool, never on the loop's thread), kept in memory and
// shared by every response for that file version, so each version is compressed once per
// coding.
//
// Rules:
// - A body is keyed by the open-file cache's entry: a changed file is a new entry and so
//   compressed anew; a dropped entry's bodies are forgotten.
// - Requests arriving while a body is being compressed wait for the same work.
// - A result not smaller than the file is remembered as "not worth it" (null): the file
//   is then sent as it is.
// - Bodies are kept up to maxBytes in all, least recently used dropped first.
// - The caller holds a reference on the entry (FileCache.acquire) until the promise
//   settles: the file is read through the entry's fd.
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import type { FileEntry } from "./file-cache.js";
import type { Encoding } from "./encoding.js";

export const BROTLI_QUALITY = 6;
export const GZIP_LEVEL = 6;

type Slot = { entry: FileEntry; body: Buffer | null | Promise<Buffer | null>; bytes: number };

function readAll(entry: FileEntry): Promise<Buffer> {
  if (entry.body !== null) return Promise.resolve(entry.body);
  const buf = Buffer.allocUnsafe(entry.size);
  return new Promise((resolve, reject) => {
    const step = (got: number): void => {
      if (got === entry.size) return resolve(buf);
      fs.read(entry.fd, buf, got, entry.size - got, got, (err, n) => {
        if (err !== null) reject(err);
        else if (n === 0) resolve(buf.subarray(0, got));
        else step(got + n);
      });
    };
    step(0);
  });
}

function compress(data: Buffer, enc: Encoding): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer): void => (err !== null ? reject(err) : resolve(out));
    if (enc === "br") {
      zlib.brotliCompress(data, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
          [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        },
      }, done);
    } else {
      zlib.gzip(data, { level: GZIP_LEVEL }, done);
    }
  });
}

export class CompressCache {
  private readonly maxBytes: number;
  /** Insertion order = least recently used first. */
  private readonly slots = new Map<string, Slot>();
  private bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes of compressed bodies held now. */
  get size(): number {
    return this.bytes;
  }

  /** The body of `entry` in `enc` (null: not smaller than the file), or a promise of it. */
  get(entry: FileEntry, enc: Encoding): Buffer | null | Promise<Buffer | null> {
    const key = `${enc}\0${entry.fsPath}`;
    const slot = this.slots.get(key);
    if (slot !== undefined && slot.entry === entry) {
      this.slots.delete(key);
      this.slots.set(key, slot);
      return slot.body;
    }
    if (slot !== undefined) this.remove(key, slot);
    const fresh: Slot = { entry, body: null, bytes: 0 };
    fresh.body = readAll(entry)
      .then((data) => compress(data, enc).then((out) => (out.length < data.length ? out : null)))
      .then(
        (out) => {
          if (this.slots.get(key) === fresh) {
            fresh.body = out;
            fresh.bytes = out === null ? 0 : out.length;
            this.bytes += fresh.bytes;
            this.trim();
          }
          return out;
        },
        (err: unknown) => {
          if (this.slots.get(key) === fresh) this.slots.delete(key);
          throw err;
        },
      );
    this.slots.set(key, fresh);
    return fresh.body;
  }

  /** Drops the bodies of an entry the file cache dropped. */
  forget(entry: FileEntry): void {
    for (const enc of ["br", "gzip"]) {
      const key = `${enc}\0${entry.fsPath}`;
      const slot = this.slots.get(key);
      if (slot !== undefined && slot.entry === entry) this.remove(key, slot);
    }
  }

  private remove(key: string, slot: Slot): void {
    this.slots.delete(key);
    this.bytes -= slot.bytes;
  }

  private trim(): void {
    for (const [key, slot] of this.slots) {
      if (this.bytes <= this.maxBytes) break;
      if (slot.body instanceof Promise) continue;
      this.remove(key, slot);
    }
  }
}
