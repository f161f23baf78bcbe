// The fallback and its reason where io_uring is refused (DESIGN.md "Backend choice"), each
// in a child process so nothing here changes the host:
// - seccomp: test/fixtures/deny-io-uring.c (built here with cc; a raw BPF filter, no
//   libseccomp) makes io_uring_setup fail with EPERM, as Docker's default profile does;
// - kernel.io_uring_disabled: the real file /proc/sys/kernel/io_uring_disabled, with a
//   file holding "2" bind-mounted over it in a private mount namespace (`unshare -m`; the
//   host's sysctl is never written). Needs CAP_SYS_ADMIN (root here and in CI); without
//   it the test is skipped with the reason, or fails under RINGLOOP_REQUIRE_URING=1 (CI).
// In each: backendReport() says fallback and names the failed check, the default policy's
// loop is a FallbackEventLoop that serves an echo round trip, and UringEventLoopPolicy
// throws ERR_URING_UNAVAILABLE naming the same reason. The same child run unrestricted
// says uring (where io_uring works here), so the restriction is what made the difference.
import test from "ava";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { fixture, uringUnavailableReason } from "../helpers/backends.js";

const SYSCTL = "/proc/sys/kernel/io_uring_disabled";
const requireAll = process.env.RINGLOOP_REQUIRE_URING === "1";
const uringHere = uringUnavailableReason() === null;

interface ChildResult {
  report: { backend: string; reason: string; checks: { name: string; ok: boolean; detail: string }[] };
  loopClass: string;
  echo: string;
  uring: { ok: boolean; code?: string; message?: string };
}

/** Runs the child fixture under `wrapper` (a command prefix); the backend override is cleared. */
function runChild(wrapper: string[]): ChildResult {
  const env = { ...process.env };
  delete env.RINGLOOP_BACKEND;
  const argv = [...wrapper, process.execPath, fixture("fallback-reason-child.js")];
  const out = spawnSync(argv[0], argv.slice(1), { env, encoding: "utf8", timeout: 60_000 });
  if (out.status !== 0) throw new Error(`child exited ${out.status} (${out.signal}): ${out.stderr}`);
  return JSON.parse(out.stdout) as ChildResult;
}

let tmp: string;
test.before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-fallback-reason-"));
});
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.serial("[fallback] seccomp denies io_uring_setup (EPERM): fallback, reason io_uring_setup EPERM; the loop works; UringEventLoopPolicy names it", (t) => {
  const launcher = path.join(tmp, "deny-io-uring");
  const cc = spawnSync("cc", ["-O2", "-Wall", "-o", launcher, fixture("deny-io-uring.c")], { encoding: "utf8" });
  t.is(cc.status, 0, `cc failed (install gcc): ${cc.error?.message ?? cc.stderr}`);
  const r = runChild([launcher]);
  t.is(r.report.backend, "fallback");
  t.regex(r.report.reason, /^io_uring unusable, io_uring_setup: failed with EPERM: denied \(seccomp/);
  const failed = r.report.checks.filter((c) => !c.ok);
  t.deepEqual(failed.map((c) => c.name), ["io_uring_setup"], JSON.stringify(r.report.checks));
  t.is(r.loopClass, "FallbackEventLoop");
  t.is(r.echo, "ping", "the fallback loop served an echo round trip");
  t.false(r.uring.ok);
  t.is(r.uring.code, "ERR_URING_UNAVAILABLE");
  t.regex(r.uring.message ?? "", /io_uring_setup: failed with EPERM/);
  if (uringHere) t.is(runChild([]).report.backend, "uring", "the same child without the filter uses io_uring");
});

/** Why `unshare -m` + a bind mount over the sysctl cannot run here, or null when it can. */
function cannotSimulateSysctl(): string | null {
  if (!fs.existsSync(SYSCTL)) return `${SYSCTL} does not exist (kernel before 6.6)`;
  const probe = spawnSync("unshare", ["-m", "sh", "-c", `mount --bind /dev/null ${SYSCTL}`], { encoding: "utf8" });
  if (probe.error) return `unshare: ${probe.error.message}`;
  return probe.status === 0 ? null : `unshare -m + mount --bind not permitted: ${probe.stderr.trim()}`;
}

const sysctlReason = cannotSimulateSysctl();
const sysctlTest = sysctlReason === null || requireAll ? test.serial : test.serial.skip;

sysctlTest(`[fallback] kernel.io_uring_disabled=2 (bind-mounted in a private mount namespace): fallback, reason sysctl; the loop works; UringEventLoopPolicy names it${sysctlReason ? ` (cannot simulate here: ${sysctlReason})` : ""}`, (t) => {
  t.is(sysctlReason, null, `RINGLOOP_REQUIRE_URING=1 needs this simulation: ${sysctlReason}`);
  const hostValue = fs.readFileSync(SYSCTL, "utf8");
  const value = path.join(tmp, "io_uring_disabled");
  /** The child in a mount namespace where SYSCTL reads `content`. */
  const under = (content: string): ChildResult => {
    fs.writeFileSync(value, content);
    return runChild(["unshare", "-m", "sh", "-c", `mount --bind "$0" ${SYSCTL} && exec "$@"`, value]);
  };
  const r = under("2\n");
  t.is(r.report.backend, "fallback");
  t.is(r.report.reason, "io_uring unusable, sysctl: kernel.io_uring_disabled=2 (io_uring disabled for every process)");
  t.deepEqual(r.report.checks.filter((c) => !c.ok).map((c) => c.name), ["sysctl"]);
  t.is(r.loopClass, "FallbackEventLoop");
  t.is(r.echo, "ping", "the fallback loop served an echo round trip");
  t.false(r.uring.ok);
  t.is(r.uring.code, "ERR_URING_UNAVAILABLE");
  t.regex(r.uring.message ?? "", /sysctl: kernel\.io_uring_disabled=2/);
  // "1" lets members of io_uring_group through: the check passes and io_uring_setup decides
  // (the kernel's real value is what setup sees), so the policy's reading of the file is
  // what the report shows.
  const one = under("1\n");
  t.regex(one.report.checks.find((c) => c.name === "sysctl")?.detail ?? "", /^kernel\.io_uring_disabled=1 \(allowed for io_uring_group members; setup decides\)$/);
  if (uringHere) t.is(one.report.backend, "uring");
  t.is(fs.readFileSync(SYSCTL, "utf8"), hostValue, "the host's sysctl as it was (the mount stayed in the child's namespace)");
});
