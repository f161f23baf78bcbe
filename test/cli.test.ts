// `ringloop doctor` tells the truth: on this machine, under RINGLOOP_BACKEND=fallback, and
// without the addon. Plus the package entries: ESM and CJS share one module instance.
import test from "ava";
import { spawnSync } from "node:child_process";
import { fixture, uringUnavailableReason } from "./helpers/backends.js";

const cli = fixture("../../bin/ringloop.cjs");
const doctor = (env: Record<string, string | undefined>, ...args: string[]) =>
  spawnSync(process.execPath, [cli, "doctor", ...args], { env: { ...process.env, ...env }, encoding: "utf8" });
const uringReason = uringUnavailableReason();
const uringTest = uringReason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;

uringTest("[uring] ringloop doctor: io_uring works here, flags, opcodes, backend uring", (t) => {
  const out = doctor({ RINGLOOP_BACKEND: undefined });
  t.is(out.status, 0, out.stderr);
  t.regex(out.stdout, /^kernel: +\d+\.\d+/m);
  t.regex(out.stdout, /^io_uring: +works/m);
  t.regex(out.stdout, /^ring flags: .*COOP_TASKRUN.*SINGLE_ISSUER/m);
  t.regex(out.stdout, /^needed opcodes: +NOP yes, TIMEOUT yes, TIMEOUT_REMOVE yes, ASYNC_CANCEL yes/m);
  t.regex(out.stdout, /^backend: +uring \(io_uring works here\)/m);
  const json = JSON.parse(doctor({ RINGLOOP_BACKEND: undefined }, "--json").stdout);
  t.is(json.backend, "uring");
  t.true(json.uring.usable);
  t.true(json.uring.opcodes.NOP);
});

test.serial("[fallback] ringloop doctor under RINGLOOP_BACKEND=fallback and without the addon", (t) => {
  const forced = doctor({ RINGLOOP_BACKEND: "fallback" });
  t.is(forced.status, 0);
  t.regex(forced.stdout, /^backend: +fallback \(RINGLOOP_BACKEND=fallback\)/m);
  const noAddon = doctor({ RINGLOOP_BACKEND: undefined, RINGLOOP_ADDON: "/nonexistent/ringloop.node" });
  t.regex(noAddon.stdout, /^io_uring: +unusable \(addon: addon not built/m);
  t.regex(noAddon.stdout, /^backend: +fallback \(io_uring unusable, addon: /m);
  t.regex(noAddon.stdout, /\[FAIL\] addon/);
  const bad = spawnSync(process.execPath, [cli, "frobnicate"], { encoding: "utf8" });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /unknown command "frobnicate"/);
});

test.serial("[fallback] ESM import and CJS require give the same module instance and every API.md export", (t) => {
  const code = `
    import * as esm from "ringloop";
    import { createRequire } from "node:module";
    const cjs = createRequire(import.meta.url)("ringloop");
    const names = ["run","getRunningLoop","getEventLoop","setEventLoop","newEventLoop","getEventLoopPolicy","setEventLoopPolicy","backendReport",
      "AbstractEventLoopPolicy","DefaultEventLoopPolicy","UringEventLoopPolicy","FallbackEventLoopPolicy","UringEventLoop","FallbackEventLoop",
      "Handle","TimerHandle","Future","Task","Protocol","BufferedProtocol","DatagramProtocol","SubprocessProtocol","InlineExecutor","WorkerPoolExecutor",
      "CancelledError","InvalidStateError","TimeoutError","SendfileNotAvailableError","IncompleteReadError","NotImplementedError","PIPE","DEVNULL","STDOUT"];
    const missing = names.filter((n) => esm[n] === undefined || esm[n] !== cjs[n]);
    console.log(JSON.stringify({ missing, samePolicy: esm.getEventLoopPolicy() === cjs.getEventLoopPolicy() }));`;
  const out = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: fixture("."), encoding: "utf8" });
  t.is(out.status, 0, out.stderr);
  t.deepEqual(JSON.parse(out.stdout), { missing: [], samePolicy: true });
});
