// The hardened ring (native/setup.cc): created disabled, restricted to ringloop's opcodes
// (IORING_REGISTER_RESTRICTIONS) before it is enabled, so anything else fails with EACCES;
// the allowlist is exactly the opcodes the TypeScript backend stages; and no ring at all in
// a setuid/setgid process (a child whose real uid differs from its effective uid).
import test from "ava";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { loadAddon } from "../src/addon.js";
import * as native from "../src/uring/native.js";
import { uringUnavailableReason } from "./helpers/backends.js";

const ROOT = path.resolve(__dirname, "../../..");
const EACCES = 13;

const uringReason = uringUnavailableReason();
const requireUring = process.env.RINGLOOP_REQUIRE_URING === "1";
const uringTest = uringReason !== null && !requireUring ? test.skip : test;

uringTest("hardened ring: an allowed op runs, an op outside the allowlist is refused with EACCES", (t) => {
  const probe = loadAddon().addon!.probe();
  t.is(probe.setupResult, 0);
  t.false(probe.setuidRefused);
  t.deepEqual(probe.restrictions, { nop: 0, refused: -EACCES });
  t.false(probe.flags.includes("SQPOLL"), "never SQPOLL");
});

uringTest("hardened ring: the allowlist is exactly the kernel opcodes the backend stages (src/uring/native.ts)", (t) => {
  const probe = loadAddon().addon!.probe();
  const kernelName = new Map<number, string>();
  for (const [k, v] of Object.entries(native)) {
    if (k.startsWith("OP_") && typeof v === "number" && v < 256) kernelName.set(v, k.slice(3));
  }
  const staged = new Set<string>();
  for (const [k, v] of Object.entries(native)) {
    if (!k.startsWith("OP_") || typeof v !== "number") continue;
    // ringloop's own record kinds (>= 256) carry their kernel opcode in the low byte.
    const name = kernelName.get(v & 0xff);
    t.truthy(name, `${k} maps to a kernel opcode`);
    staged.add(name!);
  }
  t.deepEqual([...probe.allowedOpcodes].sort(), [...staged].sort());
});

uringTest("hardened ring: a setuid process gets no ring: the policy falls back naming why, UringEventLoop throws ERR_URING_SETUID", (t) => {
  if (process.getuid?.() !== 0) {
    t.log("not root: a child with real uid != effective uid cannot be made here (CI runs as root)");
    t.pass();
    return;
  }
  const script = `
    const r = require(${JSON.stringify(path.join(ROOT, "dist/cjs/src/index.js"))});
    const report = r.backendReport();
    let thrown = null;
    try { new r.UringEventLoop().close(); } catch (e) { thrown = { code: e.code, message: e.message }; }
    console.log(JSON.stringify({ ruid: process.getuid(), euid: process.geteuid(), backend: report.backend, reason: report.reason, thrown }));
  `;
  // Real uid nobody, effective uid root (what a setuid-root program runs as), then node.
  const launcher = `import os, sys; os.setresuid(65534, 0, 0); os.execv(sys.argv[1], sys.argv[1:])`;
  // The addon by its path: the search (pkg-prebuilds) tests candidates with access(), which
  // checks the real uid, and nobody may not enter a checkout under a 0700 directory.
  const env = { ...process.env, RINGLOOP_BACKEND: "", RINGLOOP_ADDON: loadAddon().path };
  const r = spawnSync("python3", ["-c", launcher, process.execPath, "-e", script], { encoding: "utf8", timeout: 30_000, env });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ruid: number; euid: number; backend: string; reason: string; thrown: { code: string; message: string } | null };
  t.is(out.ruid, 65534);
  t.is(out.euid, 0);
  t.is(out.backend, "fallback");
  t.regex(out.reason, /io_uring_setup: refused by ringloop: this process runs setuid\/setgid/);
  t.is(out.thrown?.code, "ERR_URING_SETUID");
  t.regex(out.thrown?.message ?? "", /refuses to set up io_uring in a setuid\/setgid process/);
});
