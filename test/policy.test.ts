import test from "ava";
import { spawnSync } from "node:child_process";
import {
  AbstractEventLoopPolicy,
  DefaultEventLoopPolicy,
  FallbackEventLoopPolicy,
  UringEventLoopPolicy,
  FallbackEventLoop,
  UringEventLoop,
  getEventLoopPolicy,
  setEventLoopPolicy,
  getEventLoop,
  setEventLoop,
  newEventLoop,
  backendReport,
  type AbstractEventLoop,
} from "ringloop";
import { uringUnavailableReason, fixture } from "./helpers/backends.js";

const uringReason = uringUnavailableReason();
const uringTest = uringReason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;

test.serial("[fallback] policy switching: set, get, null restores the default", (t) => {
  const before = getEventLoopPolicy();
  t.true(before instanceof DefaultEventLoopPolicy);
  const fb = new FallbackEventLoopPolicy();
  setEventLoopPolicy(fb);
  try {
    t.is(getEventLoopPolicy(), fb);
    const loop = newEventLoop();
    t.true(loop instanceof FallbackEventLoop);
    t.is(loop.backend, "fallback");
    loop.close();
    const current = getEventLoop();
    t.is(getEventLoop(), current, "the policy keeps one current loop");
    setEventLoop(null);
    t.throws(() => getEventLoop(), { message: /no current event loop/ });
    current.close();
    t.throws(() => setEventLoop({} as never), { instanceOf: TypeError, message: /"loop"/ });
    t.throws(() => setEventLoopPolicy({} as never), { instanceOf: TypeError, message: /"policy"/ });
  } finally {
    setEventLoopPolicy(null);
  }
  t.true(getEventLoopPolicy() instanceof DefaultEventLoopPolicy);
  t.not(getEventLoopPolicy(), before);
});

test.serial("[fallback] a custom AbstractEventLoopPolicy subclass is used by newEventLoop", (t) => {
  class Counting extends AbstractEventLoopPolicy {
    made = 0;
    current: AbstractEventLoop | null = null;
    getEventLoop() {
      return (this.current ??= this.newEventLoop());
    }
    setEventLoop(loop: AbstractEventLoop | null) {
      this.current = loop;
    }
    newEventLoop() {
      this.made++;
      return new FallbackEventLoop();
    }
  }
  const p = new Counting();
  setEventLoopPolicy(p);
  try {
    newEventLoop().close();
    getEventLoop().close();
    t.is(p.made, 2);
  } finally {
    setEventLoopPolicy(null);
  }
});

function childReport(env: Record<string, string | undefined>): { report: ReturnType<typeof backendReport>; loopBackend: string; error?: string } {
  const out = spawnSync(process.execPath, [fixture("policy-child.js")], { env: { ...process.env, ...env }, encoding: "utf8" });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout);
}

test.serial("[fallback] RINGLOOP_BACKEND=fallback overrides the default policy only", (t) => {
  const { report, loopBackend, explicitUring } = childReport({ RINGLOOP_BACKEND: "fallback" }) as ReturnType<typeof childReport> & { explicitUring: string };
  t.is(report.backend, "fallback");
  t.is(report.reason, "RINGLOOP_BACKEND=fallback");
  t.true(report.checks.some((c) => c.name === "override" && c.detail === "RINGLOOP_BACKEND=fallback"));
  t.is(loopBackend, "fallback");
  // An explicitly chosen policy ignores the variable.
  t.is(explicitUring, uringReason === null ? "uring" : "error: ERR_URING_UNAVAILABLE");
});

test.serial("[fallback] RINGLOOP_BACKEND with a bad value is a clear error", (t) => {
  const out = spawnSync(process.execPath, [fixture("policy-child.js")], { env: { ...process.env, RINGLOOP_BACKEND: "epoll" }, encoding: "utf8" });
  t.not(out.status, 0);
  t.regex(out.stderr, /RINGLOOP_BACKEND must be "uring" or "fallback". Received "epoll"/);
});

uringTest("[uring] the default policy picks io_uring here and says why; RINGLOOP_BACKEND=uring", (t) => {
  const { report, loopBackend } = childReport({ RINGLOOP_BACKEND: undefined });
  t.is(report.backend, "uring", JSON.stringify(report));
  t.is(report.reason, "io_uring works here");
  t.deepEqual(report.checks.map((c) => c.name), ["platform", "kernel", "addon", "sysctl", "io_uring_setup", "opcodes"]);
  t.true(report.checks.every((c) => c.ok));
  t.is(loopBackend, "uring");
  const forced = childReport({ RINGLOOP_BACKEND: "uring" });
  t.is(forced.loopBackend, "uring");
  t.is(forced.report.reason, "RINGLOOP_BACKEND=uring");
  const explicit = new UringEventLoopPolicy().newEventLoop();
  t.true(explicit instanceof UringEventLoop);
  explicit.close();
});

test.serial("[fallback] without the addon the default policy falls back and says why", (t) => {
  const { report, loopBackend } = childReport({ RINGLOOP_BACKEND: undefined, RINGLOOP_ADDON: "/nonexistent/ringloop.node" });
  t.is(report.backend, "fallback");
  t.regex(report.reason, /^io_uring unusable, addon: addon not built/);
  t.deepEqual(report.checks.map((c) => [c.name, c.ok]), [["platform", true], ["kernel", true], ["addon", false]]);
  t.is(loopBackend, "fallback");
});

test.serial("[fallback] npm install without a toolchain or liburing succeeds and says why (build script)", (t) => {
  const script = fixture("../../scripts/build-native.mjs");
  const noTools = spawnSync(process.execPath, [script], { env: { ...process.env, PATH: "/nonexistent" }, encoding: "utf8" });
  t.is(noTools.status, 0, "npm ci must not fail");
  t.regex(noTools.stderr, /ringloop: cmake not found .*the fallback backend will be used/);
  const required = spawnSync(process.execPath, [script, "--required"], { env: { ...process.env, PATH: "/nonexistent" }, encoding: "utf8" });
  t.is(required.status, 1, "--required fails");
  // Without liburing's pkg-config file (the toolchain present):
  const noUring = spawnSync(process.execPath, [script], { env: { ...process.env, PKG_CONFIG_LIBDIR: "/nonexistent", PKG_CONFIG_PATH: "" }, encoding: "utf8" });
  t.is(noUring.status, 0);
  t.regex(noUring.stderr, /liburing-dev not found \(apt-get install -y liburing-dev\)/);
});

test.serial("[fallback] the kernel check: releases before 6.0 are refused, unparsable ones too", async (t) => {
  const { kernelAtLeast, MIN_KERNEL } = await import("../src/policy.js");
  t.deepEqual(MIN_KERNEL, [6, 0]);
  t.true(kernelAtLeast("6.18.44-fc-v669", MIN_KERNEL));
  t.true(kernelAtLeast("6.0.0", MIN_KERNEL));
  t.true(kernelAtLeast("7.1", MIN_KERNEL));
  t.false(kernelAtLeast("5.19.17-generic", MIN_KERNEL));
  t.false(kernelAtLeast("4.9", MIN_KERNEL));
  t.false(kernelAtLeast("weird", MIN_KERNEL));
});
