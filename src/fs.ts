// ringloop's `fs`: files through the running loop's backend (io_uring OPENAT / READ / WRITE /
// STATX / FSYNC / CLOSE on the uring backend, node:fs/promises on the fallback), with
// node:fs/promises's shapes and Node-style errors. Written once over the FileOps seam
// (src/proactor.ts); argument checks in fs-args.ts, Stats in fs-stats.ts.
//
// Every function uses the RUNNING loop (getRunningLoop()): call it from a task or callback
// of a running loop. With no running loop it rejects with Error "no running event loop"
// (code ERR_NO_RUNNING_LOOP). Like node:fs/promises, bad arguments reject too (TypeError /
// RangeError naming the argument).
//
// A FileHandle is bound to the loop that opened it: its ops run on that loop's backend even
// when called from another, and closing that loop closes its fd (later ops reject EBADF).
// FileHandle.close() waits for the handle's ops in flight, then closes the fd.
import { constants as fsConstants } from "node:fs";
import { getRunningLoop } from "./running.js";
import type { FileOps } from "./proactor.js";
import { errno } from "./system-error.js";
import { fileError } from "./file-error.js";
import { abortReason } from "./exceptions.js";
import { Stats } from "./fs-stats.js";
import {
  toPath, validateFd, parseFlags, parseMode, toBytes, toBytesArray, toPosition, offsetLength,
  encodingOf, invalidType, invalidValue,
} from "./fs-args.js";
import { argRangeError } from "./validate.js";

export { Stats };

/**
 * readFile reads a file of known size in reads of this many bytes (one huge page: see
 * FileOps.freshBuffer), this many in flight. perf/fs-bench.mjs, 64 MiB, medians of 21-31
 * interleaved rounds: 2 MiB x 8 was ahead of 1 MiB x 4, 2 MiB x 4 and 8 MiB x 2 by 5-15%.
 */
const READ_CHUNK = 2 << 20;
const READ_DEPTH = 8;
/** Reads of a file of unknown size (or past its stat size) start with this many bytes. */
const UNKNOWN_SIZE_CHUNK = 64 * 1024;
/** Largest file readFile returns (Node's kIoMaxLength). */
const MAX_READ_FILE = 2 ** 31 - 1;

function runningFiles(): FileOps {
  const loop = getRunningLoop() as unknown as { _proactor?: { files?: FileOps } };
  const files = loop._proactor?.files;
  if (files === undefined) throw new Error("ringloop fs: the running loop's backend has no file operations");
  return files;
}

export interface ReadResult<T extends ArrayBufferView = Buffer> {
  bytesRead: number;
  buffer: T;
}

export interface WriteResult<T extends ArrayBufferView | string = Buffer> {
  bytesWritten: number;
  buffer: T;
}

export interface ReadOptions<T extends ArrayBufferView = Buffer> {
  buffer?: T;
  offset?: number | null;
  length?: number | null;
  position?: number | bigint | null;
}

export interface ReadFileOptions {
  encoding?: BufferEncoding | null;
  flag?: string | number;
  signal?: AbortSignal;
}

export interface WriteFileOptions {
  encoding?: BufferEncoding | null;
  mode?: number | string;
  flag?: string | number;
  signal?: AbortSignal;
}

type Fd = number | FileHandle;

export class FileHandle {
  private _fd: number;
  private _pending = 0;
  private _drained: (() => void) | null = null;
  private _closing: Promise<void> | null = null;

  /** @internal Use open(). */
  constructor(fd: number, private readonly _ops: FileOps) {
    this._fd = fd;
  }

  /** The fd, -1 once close() was called. */
  get fd(): number {
    return this._fd;
  }

  /** @internal Runs one op on this handle's fd, counted so close() can wait for it. */
  async _run<T>(syscall: string, body: (ops: FileOps, fd: number) => Promise<T>): Promise<T> {
    if (this._fd < 0) throw fileError(-errno.EBADF, syscall);
    this._pending++;
    try {
      return await body(this._ops, this._fd);
    } finally {
      if (--this._pending === 0 && this._drained !== null) this._drained();
    }
  }

  read<T extends ArrayBufferView = Buffer>(buffer: T, offset?: number | null, length?: number | null, position?: number | bigint | null): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView = Buffer>(buffer: T, options?: Omit<ReadOptions, "buffer">): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView = Buffer>(options?: ReadOptions<T>): Promise<ReadResult<T>>;
  read(buffer?: unknown, offset?: unknown, length?: unknown, position?: unknown): Promise<ReadResult<ArrayBufferView>> {
    return this._run("read", (ops, fd) => readInto(ops, fd, buffer, offset, length, position));
  }

  write<T extends ArrayBufferView>(buffer: T, offset?: number | null, length?: number | null, position?: number | bigint | null): Promise<WriteResult<T>>;
  write<T extends ArrayBufferView>(buffer: T, options?: Omit<ReadOptions, "buffer">): Promise<WriteResult<T>>;
  write(data: string, position?: number | bigint | null, encoding?: BufferEncoding | null): Promise<WriteResult<string>>;
  write(data: unknown, offsetOrPosition?: unknown, lengthOrEncoding?: unknown, position?: unknown): Promise<WriteResult<ArrayBufferView | string>> {
    return this._run("write", (ops, fd) => writeFrom(ops, fd, data, offsetOrPosition, lengthOrEncoding, position));
  }

  readv<T extends readonly ArrayBufferView[]>(buffers: T, position?: number | bigint | null): Promise<{ bytesRead: number; buffers: T }> {
    return this._run("read", async (ops, fd) => ({ bytesRead: await vector(ops, fd, buffers, position, false), buffers }));
  }

  writev<T extends readonly ArrayBufferView[]>(buffers: T, position?: number | bigint | null): Promise<{ bytesWritten: number; buffers: T }> {
    return this._run("write", async (ops, fd) => ({ bytesWritten: await vector(ops, fd, buffers, position, true), buffers }));
  }

  stat(): Promise<Stats> {
    return this._run("fstat", async (ops, fd) => new Stats(await ops.fstat(fd)));
  }

  sync(): Promise<void> {
    return this._run("fsync", (ops, fd) => ops.fsync(fd, false));
  }

  datasync(): Promise<void> {
    return this._run("fdatasync", (ops, fd) => ops.fsync(fd, true));
  }

  /** Reads from the current file position to EOF. */
  readFile(options?: ReadFileOptions | BufferEncoding | null): Promise<Buffer | string> {
    return this._run("read", async (ops, fd) => {
      const encoding = encodingOf(options);
      return decode(await readAll(ops, fd, false, signalOf(options)), encoding);
    });
  }

  /** Writes all of `data` at the current file position. */
  writeFile(data: string | ArrayBufferView, options?: WriteFileOptions | BufferEncoding | null): Promise<void> {
    return this._run("write", async (ops, fd) => writeAll(ops, fd, dataBytes(data, options), signalOf(options)));
  }

  /** Waits for this handle's ops in flight, then closes the fd. Idempotent. */
  close(): Promise<void> {
    if (this._closing !== null) return this._closing;
    if (this._fd < 0) return Promise.resolve();
    const fd = this._fd;
    this._fd = -1;
    this._closing = (async () => {
      if (this._pending > 0) await new Promise<void>((resolve) => (this._drained = resolve));
      await this._ops.close(fd);
    })();
    return this._closing;
  }
}

// ---- the ops behind both the fd functions and FileHandle

async function readInto(
  ops: FileOps,
  fd: number,
  bufferOrOptions: unknown,
  offsetOrOptions: unknown,
  length: unknown,
  position: unknown,
): Promise<ReadResult<ArrayBufferView>> {
  let buffer: unknown;
  let offset: unknown = offsetOrOptions;
  if (bufferOrOptions === undefined || bufferOrOptions === null || !ArrayBuffer.isView(bufferOrOptions)) {
    if (bufferOrOptions !== undefined && bufferOrOptions !== null && typeof bufferOrOptions !== "object") {
      throw invalidType("buffer", "an instance of Buffer, TypedArray, or DataView", bufferOrOptions);
    }
    const o = (bufferOrOptions ?? {}) as ReadOptions<ArrayBufferView>;
    buffer = o.buffer ?? Buffer.alloc(16384);
    ({ offset, length, position } = o);
  } else {
    buffer = bufferOrOptions;
    if (offsetOrOptions !== null && typeof offsetOrOptions === "object") ({ offset, length, position } = offsetOrOptions as ReadOptions);
  }
  const bytes = toBytes(buffer, "buffer");
  const [off, len] = offsetLength(offset, length, bytes.byteLength);
  const pos = toPosition(position);
  const view = buffer as ArrayBufferView;
  if (len === 0) return { bytesRead: 0, buffer: view };
  const bytesRead = await ops.read(fd, bytes.subarray(off, off + len), pos);
  return { bytesRead, buffer: view };
}

async function writeFrom(
  ops: FileOps,
  fd: number,
  data: unknown,
  offsetOrPosition: unknown,
  lengthOrEncoding: unknown,
  position: unknown,
): Promise<WriteResult<ArrayBufferView | string>> {
  let bytes: Uint8Array;
  let pos: number;
  if (typeof data === "string") {
    // write(string, position?, encoding?)
    const encoding = lengthOrEncoding ?? "utf8";
    if (typeof encoding !== "string" || !Buffer.isEncoding(encoding)) throw invalidValue("encoding", encoding);
    pos = toPosition(offsetOrPosition);
    bytes = Buffer.from(data, encoding);
  } else {
    let offset: unknown = offsetOrPosition;
    let length: unknown = lengthOrEncoding;
    let p: unknown = position;
    if (offsetOrPosition !== null && typeof offsetOrPosition === "object") ({ offset, length, position: p } = offsetOrPosition as ReadOptions);
    const all = toBytes(data, "buffer");
    const [off, len] = offsetLength(offset, length, all.byteLength);
    pos = toPosition(p);
    bytes = all.subarray(off, off + len);
  }
  const buffer = data as ArrayBufferView | string;
  if (bytes.byteLength === 0) return { bytesWritten: 0, buffer };
  return { bytesWritten: await ops.write(fd, bytes, pos), buffer };
}

/** iovecs per readv/writev call (Linux IOV_MAX). */
const IOV_MAX = 1024;

/**
 * readv: one call (at most IOV_MAX buffers: a short count beyond, as libuv). writev: every
 * byte, IOV_MAX buffers per call, going on after short writes (libuv's uv__fs_write_all).
 */
async function vector(ops: FileOps, fd: number, buffers: unknown, position: unknown, write: boolean): Promise<number> {
  let rest = toBytesArray(buffers, "buffers");
  let pos = toPosition(position);
  if (rest.length === 0) return 0;
  if (!write) return ops.readv(fd, rest, pos);
  let total = 0;
  while (rest.length > 0) {
    const n = await ops.writev(fd, rest.length > IOV_MAX ? rest.slice(0, IOV_MAX) : rest, pos);
    if (n <= 0) break;
    total += n;
    if (pos >= 0) pos += n;
    let skip = n;
    let i = 0;
    while (i < rest.length && skip >= rest[i].byteLength) skip -= rest[i++].byteLength;
    rest = rest.slice(i);
    if (skip > 0) rest[0] = rest[0].subarray(skip);
  }
  return total;
}

function signalOf(options: unknown): AbortSignal | undefined {
  if (options === null || typeof options !== "object") return undefined;
  const signal = (options as { signal?: unknown }).signal;
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw invalidType("options.signal", "an instance of AbortSignal", signal);
  return signal;
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

function decode(buf: Buffer, encoding: BufferEncoding | null): Buffer | string {
  return encoding === null ? buf : buf.toString(encoding);
}

function dataBytes(data: unknown, options: unknown): Uint8Array {
  if (typeof data === "string") return Buffer.from(data, encodingOf(options) ?? "utf8");
  if (ArrayBuffer.isView(data)) return toBytes(data, "data");
  throw invalidType("data", "of type string or an instance of Buffer, TypedArray, or DataView", data);
}

/**
 * Everything from the start (fromStart: explicit positions, pipelined) or from the file
 * position (-1: one read at a time) to EOF. The stat size is a hint: reading goes on past
 * it until a read returns 0, so a file that grew is read whole.
 */
async function readAll(ops: FileOps, fd: number, fromStart: boolean, signal: AbortSignal | undefined): Promise<Buffer> {
  checkAbort(signal);
  const st = await ops.fstat(fd);
  const hint = (st.mode & fsConstants.S_IFMT) === fsConstants.S_IFREG ? st.size : 0;
  if (hint > MAX_READ_FILE) throw tooLarge(hint);
  let buf = ops.freshBuffer(hint > 0 ? hint : UNKNOWN_SIZE_CHUNK);
  let total = 0;
  if (hint > 0) {
    total = fromStart ? await readSpan(ops, fd, buf, hint, signal) : await readSerial(ops, fd, buf, 0, -1, signal);
    if (total < hint) return buf.subarray(0, total);
    // At the stat size: one more read tells EOF from a file that grew.
    const probe = Buffer.allocUnsafe(UNKNOWN_SIZE_CHUNK);
    const n = await ops.read(fd, probe, fromStart ? total : -1);
    if (n === 0) return buf;
    buf = Buffer.concat([buf, probe.subarray(0, n)], Math.min(MAX_READ_FILE, 2 * (total + n)));
    total += n;
  }
  for (;;) {
    if (total === buf.length) {
      if (total >= MAX_READ_FILE) throw tooLarge(total);
      const bigger = ops.freshBuffer(Math.min(MAX_READ_FILE, 2 * buf.length));
      buf.copy(bigger, 0, 0, total);
      buf = bigger;
    }
    const got = await readSerial(ops, fd, buf, total, fromStart ? total : -1, signal);
    if (got === total) return buf.subarray(0, total);
    total = got;
  }
}

/** Reads into buf[at..] until it is full or a read returns 0; returns the new fill level. */
async function readSerial(ops: FileOps, fd: number, buf: Buffer, at: number, position: number, signal: AbortSignal | undefined, offload = false): Promise<number> {
  while (at < buf.length) {
    checkAbort(signal);
    const n = await ops.read(fd, buf.subarray(at, Math.min(buf.length, at + READ_CHUNK * READ_DEPTH)), position, offload);
    if (n === 0) break;
    at += n;
    if (position >= 0) position += n;
  }
  return at;
}

/**
 * buf[0..size) from file offset 0, READ_DEPTH reads of READ_CHUNK bytes in flight, offloaded
 * (FileOps.read): the fresh buffer's page faults then spread over the CPUs (perf/fs-bench.mjs).
 * Returns the bytes read before the first short read that hit EOF (the file shrank).
 */
async function readSpan(ops: FileOps, fd: number, buf: Buffer, size: number, signal: AbortSignal | undefined): Promise<number> {
  if (size <= READ_CHUNK) return readSerial(ops, fd, buf.subarray(0, size), 0, 0, signal);
  let next = 0;
  let end = size;
  const reader = async (): Promise<void> => {
    while (next < end) {
      checkAbort(signal);
      const at = next;
      const stop = Math.min(end, at + READ_CHUNK);
      next = stop;
      const got = await readSerial(ops, fd, buf.subarray(0, stop), at, at, signal, true);
      if (got < stop) end = Math.min(end, got);
    }
  };
  const readers: Promise<void>[] = [];
  for (let i = 0; i < READ_DEPTH; i++) readers.push(reader());
  await Promise.all(readers);
  return end;
}

async function writeAll(ops: FileOps, fd: number, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
  let at = 0;
  while (at < bytes.byteLength) {
    checkAbort(signal);
    at += await ops.write(fd, bytes.subarray(at), -1);
  }
}

function tooLarge(size: number): RangeError {
  const err = argRangeError(`File size (${size}) is greater than 2 GiB`) as RangeError & { code: string };
  err.code = "ERR_FS_FILE_TOO_LARGE";
  return err;
}

// ---- the public functions

function fdOf(fd: unknown): number {
  return validateFd(fd);
}

/** Runs `body` on a FileHandle (its own loop) or a plain fd (the running loop). */
function onFd<T>(fd: Fd, syscall: string, body: (ops: FileOps, fd: number) => Promise<T>): Promise<T> {
  if (fd instanceof FileHandle) return fd._run(syscall, body);
  return body(runningFiles(), fdOf(fd));
}

export async function open(path: string | Buffer | URL, flags: string | number = "r", mode: number | string = 0o666): Promise<FileHandle> {
  const p = toPath(path);
  const f = parseFlags(flags, "r");
  const m = parseMode(mode, 0o666);
  const ops = runningFiles();
  return new FileHandle(await ops.open(p, f, m), ops);
}

export async function close(fd: Fd): Promise<void> {
  if (fd instanceof FileHandle) return fd.close();
  return runningFiles().close(fdOf(fd));
}

export function read<T extends ArrayBufferView = Buffer>(fd: Fd, buffer: T, offset?: number | null, length?: number | null, position?: number | bigint | null): Promise<ReadResult<T>>;
export function read<T extends ArrayBufferView = Buffer>(fd: Fd, buffer: T, options?: Omit<ReadOptions, "buffer">): Promise<ReadResult<T>>;
export function read<T extends ArrayBufferView = Buffer>(fd: Fd, options?: ReadOptions<T>): Promise<ReadResult<T>>;
export async function read(fd: Fd, buffer?: unknown, offset?: unknown, length?: unknown, position?: unknown): Promise<ReadResult<ArrayBufferView>> {
  return onFd(fd, "read", (ops, n) => readInto(ops, n, buffer, offset, length, position));
}

export function write<T extends ArrayBufferView>(fd: Fd, buffer: T, offset?: number | null, length?: number | null, position?: number | bigint | null): Promise<WriteResult<T>>;
export function write<T extends ArrayBufferView>(fd: Fd, buffer: T, options?: Omit<ReadOptions, "buffer">): Promise<WriteResult<T>>;
export function write(fd: Fd, data: string, position?: number | bigint | null, encoding?: BufferEncoding | null): Promise<WriteResult<string>>;
export async function write(fd: Fd, data: unknown, offsetOrPosition?: unknown, lengthOrEncoding?: unknown, position?: unknown): Promise<WriteResult<ArrayBufferView | string>> {
  return onFd(fd, "write", (ops, n) => writeFrom(ops, n, data, offsetOrPosition, lengthOrEncoding, position));
}

export async function readv(fd: Fd, buffers: ArrayBufferView[], position?: number | bigint | null): Promise<number> {
  return onFd(fd, "read", (ops, n) => vector(ops, n, buffers, position, false));
}

export async function writev(fd: Fd, buffers: ArrayBufferView[], position?: number | bigint | null): Promise<number> {
  return onFd(fd, "write", (ops, n) => vector(ops, n, buffers, position, true));
}

export async function stat(path: string | Buffer | URL): Promise<Stats> {
  const p = toPath(path);
  return new Stats(await runningFiles().stat(p, true));
}

export async function lstat(path: string | Buffer | URL): Promise<Stats> {
  const p = toPath(path);
  return new Stats(await runningFiles().stat(p, false));
}

export async function fstat(fd: Fd): Promise<Stats> {
  return onFd(fd, "fstat", async (ops, n) => new Stats(await ops.fstat(n)));
}

export async function fsync(fd: Fd): Promise<void> {
  return onFd(fd, "fsync", (ops, n) => ops.fsync(n, false));
}

export async function fdatasync(fd: Fd): Promise<void> {
  return onFd(fd, "fdatasync", (ops, n) => ops.fsync(n, true));
}

/** The whole file (a FileHandle: from its current position) as a Buffer, or a string with `encoding`. */
export async function readFile(path: string | Buffer | URL | FileHandle, options?: ReadFileOptions | BufferEncoding | null): Promise<Buffer | string> {
  if (path instanceof FileHandle) return path.readFile(options);
  const p = toPath(path);
  const encoding = encodingOf(options);
  const signal = signalOf(options);
  const flag = parseFlags(typeof options === "object" && options !== null ? options.flag : undefined, "r", "options.flag");
  checkAbort(signal);
  const ops = runningFiles();
  const fd = await ops.open(p, flag, 0o666);
  try {
    return decode(await readAll(ops, fd, true, signal), encoding);
  } finally {
    await ops.close(fd);
  }
}

/** Writes all of `data` (a FileHandle: at its current position); creates or truncates per `flag` ('w'). */
export async function writeFile(path: string | Buffer | URL | FileHandle, data: string | ArrayBufferView, options?: WriteFileOptions | BufferEncoding | null): Promise<void> {
  if (path instanceof FileHandle) return path.writeFile(data, options);
  const p = toPath(path);
  const bytes = dataBytes(data, options);
  const signal = signalOf(options);
  const o = typeof options === "object" && options !== null ? options : {};
  const flag = parseFlags(o.flag, "w", "options.flag");
  const mode = parseMode(o.mode, 0o666, "options.mode");
  checkAbort(signal);
  const ops = runningFiles();
  const fd = await ops.open(p, flag, mode);
  try {
    await writeAll(ops, fd, bytes, signal);
  } finally {
    await ops.close(fd);
  }
}
