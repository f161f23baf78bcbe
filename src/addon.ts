// The native addon as every backend sees it: the loader, the synchronous socket syscalls
// (native/sockets.cc), fd syscalls (native/fds.cc), child processes (native/spawn.cc), fd
// readiness on Node's libuv loop (native/fd_poll.cc, the fallback's watchFd) and the io_uring
// probe. Backend-neutral: socket.ts, sock-methods.ts and any backend use these; only the
// io_uring backend uses the addon's Ring class (its interface and shared-memory layouts are
// src/uring/native.ts).
//
// Where the addon did not build or load, loadAddon() says why and nativeSockets() throws;
// callers that can do without it turn that into NotImplementedError or the fallback.
import { createRequire } from "node:module";
import * as path from "node:path";
import type { SockAddr } from "./events.js";
import { systemError } from "./system-error.js";
import { errorExtra, type FamilyCode, type ResolvedAddr } from "./sockaddr.js";

export type { FamilyCode };

/** Socket option codes of NativeSockets.setOpt / getOpt (native/sockets.cc). */
export const SOCKOPT_REUSEADDR = 1;
export const SOCKOPT_REUSEPORT = 2;
export const SOCKOPT_V6ONLY = 3;
export const SOCKOPT_NODELAY = 4;
export const SOCKOPT_LINGER0 = 5;
export const SOCKOPT_KEEPALIVE = 6;
export const SOCKOPT_RCVBUF = 7;
export const SOCKOPT_SNDBUF = 8;
export const SOCKOPT_BROADCAST = 9;
/** setOpt value < 0: lingering off, >= 0: l_linger seconds; getOpt: out = [l_onoff, l_linger]. */
export const SOCKOPT_LINGER = 10;
/** getOpt only. */
export const SOCKOPT_ERROR = 11;
/** getOpt only: SOCK_STREAM (1) / SOCK_DGRAM (2). */
export const SOCKOPT_TYPE = 12;
/** TCP_KEEPIDLE: seconds of idle before the first keep-alive probe. */
export const SOCKOPT_KEEPIDLE = 13;

/** Address as native returns it: {host, port, family} for IP, the path for Unix. */
export type NativeAddr = SockAddr;

/**
 * Synchronous socket syscalls (native/sockets.cc). Each returns >= 0 or -errno. Sockets are
 * always SOCK_NONBLOCK | SOCK_CLOEXEC; -EAGAIN from an I/O call means "wait for readiness".
 */
export interface NativeSockets {
  /** `type` SOCK_STREAM (the default) or SOCK_DGRAM; `proto` 0 by default. */
  socket(family: FamilyCode, type?: number, proto?: number): number;
  /** Int options take `value` as is (flags 0/1); see SOCKOPT_LINGER for lingering. */
  setOpt(fd: number, opt: number, value: number): number;
  /** Writes the value into out[0] (SOCKOPT_LINGER: out[0], out[1]); returns 0 or -errno. */
  getOpt(fd: number, opt: number, out: Int32Array): number;
  /** accept4(NONBLOCK | CLOEXEC): [new fd, peer address]. */
  accept(fd: number): [number, NativeAddr | null] | number;
  /** Non-blocking connect: 0, -EINPROGRESS (wait for POLLOUT, then SOCKOPT_ERROR), -errno. */
  connect(fd: number, family: FamilyCode, host: string, port: number): number;
  recv(fd: number, buf: Uint8Array): number;
  /** [bytes, sender address (null when the sender has none, "" when unnamed Unix)]. */
  recvFrom(fd: number, buf: Uint8Array): [number, NativeAddr | null] | number;
  /** send(MSG_NOSIGNAL). */
  send(fd: number, buf: Uint8Array): number;
  sendTo(fd: number, buf: Uint8Array, family: FamilyCode, host: string, port: number): number;
  /** `host` is the IP literal, or the path for family 0 (leading NUL: abstract). */
  bind(fd: number, family: FamilyCode, host: string, port: number): number;
  listen(fd: number, backlog: number): number;
  sockName(fd: number): NativeAddr | number;
  peerName(fd: number): NativeAddr | number;
  close(fd: number): number;
  /** [family code (-1: other), SOCK_* type, listening 0/1], and sets O_NONBLOCK | FD_CLOEXEC. */
  inspect(fd: number): [number, number, number] | number;
}

/** Plain fd syscalls (native/fds.cc); each returns >= 0 or -errno. */
export interface NativeFds {
  /** fcntl(F_DUPFD_CLOEXEC): a new fd for the same open file. */
  dup(fd: number): number;
  /** O_NONBLOCK and FD_CLOEXEC. */
  setNonBlocking(fd: number): number;
}

/** NativeChildren.spawn's stdio codes (an fd >= 0 is dup2'ed as it is). */
export const STDIO_PIPE = -1;
/** fd 2 only: the child's fd 1. */
export const STDIO_STDOUT = -2;
export const STDIO_DEVNULL = -3;
export const STDIO_INHERIT = -4;

/** Child processes (native/spawn.cc: clone + execve, then a pidfd); each returns >= 0 or -errno. */
export interface NativeChildren {
  /**
   * Starts `file` (a path, or a name looked up in env's PATH) with `argv`, `env` ("NAME=value"
   * strings) and `cwd`; `stdio` per child fd 0..2 (an fd, or STDIO_*). out = [pid, pidfd, our
   * stdin write end, our stdout read end, our stderr read end] (-1 where not a pipe; our ends
   * O_NONBLOCK, all O_CLOEXEC).
   */
  spawn(file: string, argv: string[], env: string[], cwd: string | null, stdio: Int32Array, out: Int32Array): number;
  /** pidfd_send_signal. */
  signal(pidfd: number, signal: number): number;
  /** waitid(P_PIDFD, WNOHANG): 1 reaped (out[0] = returncode: exit status or -signal), 0 running. */
  wait(pidfd: number, out: Int32Array): number;
  /** As wait(), after waiting up to `timeoutMs` for the exit. */
  reap(pidfd: number, timeoutMs: number, out: Int32Array): number;
}

/** FdPoll event bits (libuv's UV_READABLE / UV_WRITABLE; native/fd_poll.cc asserts them). */
export const FD_POLL_READABLE = 1;
export const FD_POLL_WRITABLE = 2;

/**
 * Readiness of one fd through a libuv poll handle on Node's loop (native/fd_poll.h has the
 * state machine). The handle polls a private duplicate of the fd, so the caller may close
 * its fd at any time and two polls of one fd never collide; a waiting poll holds the file.
 * One event per start(): `callback(status, revents)` runs once (status < 0: POLLERR, the
 * next syscall on the fd reports the error); unless start() is called again during that
 * callback, the poll lets go of the file when the callback returns. Never ref'd.
 */
export interface NativeFdPoll {
  /** Starts waiting for `events` (FD_POLL_* bits), or changes them: 0 or -errno. */
  start(events: number): number;
  /** Stops waiting and lets go of the file. Idempotent. */
  stop(): void;
  /** True when not waiting, or when the fd provably still names the file being polled. */
  sameFile(): boolean;
  /** stop() for good: start() then returns -EBADF and the callback is dropped. */
  close(): void;
}

export type FdPollCallback = (status: number, revents: number) => void;

export interface ProbeResult {
  /** io_uring_setup outcome: 0 or -errno. */
  setupResult: number;
  /** Ring flags the ring would be created with on this kernel. */
  flags: string[];
  features: number;
  /** Opcode name (without IORING_OP_) -> supported. Empty when setup failed. */
  opcodes: Record<string, boolean>;
  kernel: string;
  /** setupResult is -EPERM because ringloop refused: this process runs setuid/setgid. */
  setuidRefused: boolean;
  /** The hardened ring's allowlist: the only opcodes the kernel takes from a ringloop ring. */
  allowedOpcodes: string[];
  /** The allowlist at work on the probe ring: a NOP (0) and a FALLOCATE (-EACCES when enforced). */
  restrictions: { nop?: number; refused?: number; error?: number };
}

export interface NativeAddon {
  /** The io_uring Ring class; typed by the io_uring backend (src/uring/native.ts). */
  Ring: unknown;
  FdPoll: new (fd: number, callback: FdPollCallback) => NativeFdPoll;
  probe(): ProbeResult;
  sockets: NativeSockets;
  fds: NativeFds;
  children: NativeChildren;
  /** Build facts: liburing version, sanitizers. */
  buildInfo: { liburing: string; sanitize: boolean };
}

export interface AddonLoad {
  addon: NativeAddon | null;
  path: string;
  error: string | null;
}

let cached: AddonLoad | undefined;

/** The package root (this file is dist/cjs/src/addon.js). */
const ROOT = path.resolve(__dirname, "../../..");

interface PkgPrebuilds {
  resolve(root: string, options: { name: string; napi_versions: number[] }, prebuildsOnly: boolean, throwOnMissing: boolean): string;
}

/**
 * The addon file, first found wins (pkg-prebuilds' order, as scripts/build-native.mjs):
 * build/Debug, build/Release (a source build), then the package's prebuilt binary
 * prebuilds/ringloop-<platform>-<arch>/node-napi-v<N>.node, N from package.json's
 * binary.napi_versions. Throws, listing the paths tried, when there is none.
 */
function findAddon(): string {
  const req = createRequire(__filename);
  const napiVersions = (req(path.join(ROOT, "package.json")) as { binary: { napi_versions: number[] } }).binary.napi_versions;
  const prebuilds = req("pkg-prebuilds") as PkgPrebuilds;
  return prebuilds.resolve(ROOT, { name: "ringloop", napi_versions: napiVersions }, false, true);
}

/** Loads the addon once. RINGLOOP_ADDON overrides the search (the ASan build in CI uses it). */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  let file = process.env.RINGLOOP_ADDON ? path.resolve(process.env.RINGLOOP_ADDON) : "";
  if (!file) {
    try {
      file = findAddon();
    } catch (err) {
      const tried = String((err as Error).message).split("\n").filter((l) => l.startsWith(" - ")).map((l) => l.slice(3));
      const error = tried.length > 0
        ? `addon not built and no prebuild for ${process.platform}-${process.arch} (tried ${tried.join(", ")})`
        : `addon not found (${(err as Error).message})`;
      return (cached = { addon: null, path: tried.at(-1) ?? ROOT, error });
    }
  }
  try {
    const req = createRequire(__filename);
    cached = { addon: req(file) as NativeAddon, path: file, error: null };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    cached = { addon: null, path: file, error: e.code === "MODULE_NOT_FOUND" ? `addon not built (${file} missing)` : `${file} does not load: ${e.message}` };
  }
  return cached;
}

let probed: ProbeResult | null | undefined;

/** The addon's io_uring probe, run once per thread (it sets up and tears down a small ring); null without the addon. */
export function probeOnce(): ProbeResult | null {
  if (probed === undefined) probed = loadAddon().addon?.probe() ?? null;
  return probed;
}

/** The addon's socket syscalls; throws (saying why) where the addon did not load. */
export function nativeSockets(): NativeSockets {
  const { addon, error } = loadAddon();
  if (!addon) throw new Error(`the ringloop addon is unavailable: ${error}`);
  return addon.sockets;
}

/** The addon's fd syscalls, or null where the addon did not load. */
export function nativeFds(): NativeFds | null {
  return loadAddon().addon?.fds ?? null;
}

/** The addon's child-process syscalls; throws (saying why) where the addon did not load. */
export function nativeChildren(): NativeChildren {
  const { addon, error } = loadAddon();
  if (!addon) throw new Error(`the ringloop addon is unavailable: ${error}`);
  return addon.children;
}

/** Throws the system error (naming `a` when given) for a negative result; returns it otherwise. */
export function check(r: number, syscall: string, a?: ResolvedAddr): number {
  if (r < 0) throw systemError(r, syscall, a ? errorExtra(a) : undefined);
  return r;
}

/** Closes `fd`, ignoring errors (the fd is ours and closed exactly once). */
export function closeFd(fd: number): void {
  nativeSockets().close(fd);
}
