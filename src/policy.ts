// Backend choice and event loop policies (asyncio events.py policies).
//
// DefaultEventLoopPolicy picks io_uring only where it really works (DESIGN.md, Backend
// choice): Linux, the addon loaded, kernel.io_uring_disabled not blocking, io_uring_setup
// succeeding (not ENOSYS, not EPERM from seccomp, not ENOMEM from memlock), and every
// needed opcode supported. RINGLOOP_BACKEND=uring|fallback overrides that policy only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as util from "node:util";
import { AbstractEventLoopPolicy, type AbstractEventLoop } from "./events.js";
import { BaseEventLoop } from "./base-events.js";
import { describeType, argRangeError, argTypeError } from "./validate.js";
import { UringEventLoop } from "./uring/loop.js";
import { FallbackEventLoop } from "../fallback/loop.js";
import { loadAddon, probeOnce } from "./addon.js";
import { NEEDED_OPCODES, OPTIONAL_OPCODES } from "./uring/opcodes.js";

export { NEEDED_OPCODES };
import { getRunningLoopOrNull } from "./running.js";
import { _setDefaultLoopGetter } from "./futures.js";
import type { Backend } from "./proactor.js";

export interface BackendCheck {
  name: "platform" | "kernel" | "addon" | "sysctl" | "io_uring_setup" | "opcodes" | "override";
  ok: boolean;
  detail: string;
}

export interface BackendReport {
  backend: Backend;
  reason: string;
  kernel: string;
  checks: BackendCheck[];
}

export interface UringAvailability {
  ok: boolean;
  /** One line: why io_uring is or is not usable. */
  reason: string;
  checks: BackendCheck[];
  flags: string[];
  opcodes: Record<string, boolean>;
}

let availability: UringAvailability | undefined;

/** Runs the io_uring checks once per thread (they create and destroy a tiny ring). */
export function uringAvailability(): UringAvailability {
  if (availability) return availability;
  const checks: BackendCheck[] = [];
  const fail = (check: BackendCheck): UringAvailability => {
    checks.push(check);
    return (availability = { ok: false, reason: `${check.name}: ${check.detail}`, checks, flags: [], opcodes: {} });
  };
  if (process.platform !== "linux") return fail({ name: "platform", ok: false, detail: `io_uring needs Linux, this is ${process.platform}` });
  checks.push({ name: "platform", ok: true, detail: "linux" });

  const release = os.release();
  if (!kernelAtLeast(release, MIN_KERNEL)) {
    return fail({ name: "kernel", ok: false, detail: `${release} is older than ${MIN_KERNEL.join(".")} (${MIN_KERNEL_WHY})` });
  }
  checks.push({ name: "kernel", ok: true, detail: `${release} >= ${MIN_KERNEL.join(".")}` });

  const load = loadAddon();
  if (!load.addon) return fail({ name: "addon", ok: false, detail: load.error ?? "not loaded" });
  checks.push({ name: "addon", ok: true, detail: `loaded ${load.path} (liburing ${load.addon.buildInfo.liburing}${load.addon.buildInfo.sanitize ? ", ASan/UBSan" : ""})` });

  const sysctl = readSysctl("/proc/sys/kernel/io_uring_disabled");
  if (sysctl === "2") return fail({ name: "sysctl", ok: false, detail: "kernel.io_uring_disabled=2 (io_uring disabled for every process)" });
  checks.push({
    name: "sysctl",
    ok: true,
    detail: sysctl === null ? "kernel.io_uring_disabled not present (kernel before 6.6)" : `kernel.io_uring_disabled=${sysctl}${sysctl === "1" ? " (allowed for io_uring_group members; setup decides)" : ""}`,
  });

  const probe = probeOnce()!;
  if (probe.setuidRefused) {
    return fail({
      name: "io_uring_setup",
      ok: false,
      detail: "refused by ringloop: this process runs setuid/setgid (effective ids differ from the real ones), where io_uring work could run with credentials the process meant to drop (CVE-2024-22017)",
    });
  }
  if (probe.setupResult !== 0) {
    const code = errnoName(probe.setupResult);
    const why: Record<string, string> = {
      ENOSYS: "kernel without io_uring",
      EPERM: "denied (seccomp profile, e.g. Docker's default, or kernel.io_uring_disabled=1)",
      ENOMEM: "not enough locked memory (RLIMIT_MEMLOCK)",
    };
    return fail({ name: "io_uring_setup", ok: false, detail: `failed with ${code}${why[code] ? `: ${why[code]}` : ""}` });
  }
  checks.push({
    name: "io_uring_setup",
    ok: true,
    detail: `ok, flags ${probe.flags.join("|") || "none"}; restricted to ${probe.allowedOpcodes.length} opcodes (a refused op got ${probe.restrictions.refused === undefined ? "no answer" : errnoName(probe.restrictions.refused)})`,
  });

  const missing = NEEDED_OPCODES.filter((op) => !probe.opcodes[op]);
  if (missing.length > 0) return fail({ name: "opcodes", ok: false, detail: `missing ${missing.join(", ")}` });
  const optional = OPTIONAL_OPCODES.map((op) => `${op} ${probe.opcodes[op] ? "yes" : "no (that op falls back)"}`).join(", ");
  checks.push({ name: "opcodes", ok: true, detail: `all ${NEEDED_OPCODES.length} needed opcodes supported (${NEEDED_OPCODES.join(", ")}); optional: ${optional}` });

  return (availability = { ok: true, reason: "io_uring works here", checks, flags: probe.flags, opcodes: probe.opcodes });
}

/**
 * Oldest kernel the backend runs on: what the opcode probe cannot see (multishot recv with
 * provided buffer rings, synchronous cancel by fd) needs 6.0; SINGLE_ISSUER is 6.0 too.
 */
export const MIN_KERNEL: [number, number] = [6, 0];
const MIN_KERNEL_WHY = "needs multishot recv with provided buffer rings and cancel by fd";

/** "6.18.44-fc-v669" >= [6, 0]; an unparsable release counts as too old. */
export function kernelAtLeast(release: string, [major, minor]: [number, number]): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const maj = Number(m[1]);
  return maj > major || (maj === major && Number(m[2]) >= minor);
}

function readSysctl(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    return null;
  }
}

function errnoName(errno: number): string {
  try {
    return util.getSystemErrorName(errno > 0 ? -errno : errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** RINGLOOP_BACKEND, validated; null when unset. */
function backendOverride(): Backend | null {
  const value = process.env.RINGLOOP_BACKEND;
  if (value === undefined || value === "") return null;
  if (value !== "uring" && value !== "fallback") {
    throw argRangeError(`RINGLOOP_BACKEND must be "uring" or "fallback". Received "${value}"`);
  }
  return value;
}

/** What DefaultEventLoopPolicy picks, why, and every check with its outcome. */
export function backendReport(): BackendReport {
  const kernel = os.release();
  const override = backendOverride();
  const avail = uringAvailability();
  const checks = [...avail.checks];
  if (override !== null) {
    checks.push({ name: "override", ok: true, detail: `RINGLOOP_BACKEND=${override}` });
    const reason = override === "uring" && !avail.ok ? `RINGLOOP_BACKEND=uring, but io_uring is unusable (${avail.reason})` : `RINGLOOP_BACKEND=${override}`;
    return { backend: override, reason, kernel, checks };
  }
  return { backend: avail.ok ? "uring" : "fallback", reason: avail.ok ? avail.reason : `io_uring unusable, ${avail.reason}`, kernel, checks };
}

/** Loops per thread (asyncio's BaseDefaultEventLoopPolicy): a loop is created on first get. */
abstract class BaseLoopPolicy extends AbstractEventLoopPolicy {
  private loop: AbstractEventLoop | null = null;
  private setCalled = false;

  override getEventLoop(): AbstractEventLoop {
    if (this.loop === null && !this.setCalled) this.setEventLoop(this.newEventLoop());
    if (this.loop === null) {
      throw new Error("There is no current event loop: setEventLoop(null) was called; use newEventLoop() or run()");
    }
    return this.loop;
  }

  override setEventLoop(loop: AbstractEventLoop | null): void {
    if (loop !== null && !(loop instanceof BaseEventLoop)) {
      throw argTypeError(`The "loop" argument must be an event loop or null. Received ${describeType(loop)}`);
    }
    this.setCalled = true;
    this.loop = loop;
  }

  abstract override newEventLoop(): AbstractEventLoop;
}

/** io_uring where it works, else the fallback; RINGLOOP_BACKEND overrides. */
export class DefaultEventLoopPolicy extends BaseLoopPolicy {
  override newEventLoop(): AbstractEventLoop {
    const override = backendOverride();
    if (override === "fallback") return new FallbackEventLoop();
    if (override === "uring") return newUringLoop();
    return uringAvailability().ok ? new UringEventLoop() : new FallbackEventLoop();
  }
}

/** io_uring or a clear error saying which check failed. */
export class UringEventLoopPolicy extends BaseLoopPolicy {
  override newEventLoop(): AbstractEventLoop {
    return newUringLoop();
  }
}

export class FallbackEventLoopPolicy extends BaseLoopPolicy {
  override newEventLoop(): AbstractEventLoop {
    return new FallbackEventLoop();
  }
}

/**
 * The policy for a backend named by a user (a CLI flag, a config): io_uring (or its clear
 * error), the fallback, or null for the default policy's choice.
 */
export function policyFor(backend: Backend | null): AbstractEventLoopPolicy {
  if (backend === "uring") return new UringEventLoopPolicy();
  if (backend === "fallback") return new FallbackEventLoopPolicy();
  return new DefaultEventLoopPolicy();
}

function newUringLoop(): UringEventLoop {
  const avail = uringAvailability();
  if (!avail.ok) {
    const err = new Error(`io_uring backend unavailable: ${avail.reason}; use FallbackEventLoopPolicy or RINGLOOP_BACKEND=fallback`) as Error & { code: string };
    err.code = "ERR_URING_UNAVAILABLE";
    throw err;
  }
  return new UringEventLoop();
}

let policy: AbstractEventLoopPolicy | null = null;

export function getEventLoopPolicy(): AbstractEventLoopPolicy {
  return (policy ??= new DefaultEventLoopPolicy());
}

/** null restores the default policy. */
export function setEventLoopPolicy(next: AbstractEventLoopPolicy | null): void {
  if (next !== null && !(next instanceof AbstractEventLoopPolicy)) {
    throw argTypeError(`The "policy" argument must be an AbstractEventLoopPolicy or null. Received ${describeType(next)}`);
  }
  policy = next;
}

/** The running loop if there is one, else the policy's loop for this thread. */
export function getEventLoop(): AbstractEventLoop {
  return getRunningLoopOrNull() ?? getEventLoopPolicy().getEventLoop();
}

export function setEventLoop(loop: AbstractEventLoop | null): void {
  getEventLoopPolicy().setEventLoop(loop);
}

export function newEventLoop(): AbstractEventLoop {
  return getEventLoopPolicy().newEventLoop();
}

_setDefaultLoopGetter(getEventLoop);
