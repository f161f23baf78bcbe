// The package as a user gets it (`npm run test:package`, not in `npm test`: it takes minutes).
// `npm pack` (its prepack builds and checks the prebuilds), then the tarball installed into
// an empty project on a PATH with no compiler, cmake or pkg-config: the prebuild must be what
// loads (doctor names its path, backend uring), also with install scripts blocked; ESM and
// CJS must both work on one module instance; attw and publint must find nothing. A tarball whose prebuild does not load must
// still install, on the fallback backend with the reason.
import test from "ava";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../../../..");
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const NAPI = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { binary: { napi_versions: number[] } }).binary.napi_versions[0];
const ARCHS = (process.env.RINGLOOP_PREBUILD_ARCHS || "x64,arm64").split(",").map((a) => a.trim());
const prebuildOf = (arch: string) => `prebuilds/ringloop-linux-${arch}/node-napi-v${NAPI}.node`;
const HOST_PREBUILD = prebuildOf(os.arch());
const work = mkdtempSync(path.join(os.tmpdir(), "ringloop-package-"));
const tarball = path.join(work, `ringloop-${VERSION}.tgz`);
/** PATH of the installs: node and sh only, so no source build can happen. */
const bareBin = path.join(work, "bin");

function npmCli(): string {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm && /npm-cli\.js$/.test(fromNpm)) return fromNpm;
  return path.resolve(process.execPath, "../../lib/node_modules/npm/bin/npm-cli.js");
}

/** The environment without npm's per-run variables (they would point nested npm runs at
 * this repository) and without ringloop's overrides. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === "INIT_CWD" || (k.startsWith("RINGLOOP_") && k !== "RINGLOOP_PREBUILD_ARCHS")) continue;
    out[k] = v;
  }
  return { ...out, ...extra };
}

function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}, timeout = 300_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: env(extra), encoding: "utf8", timeout, maxBuffer: 64 << 20 });
}

const said = (r: SpawnSyncReturns<string>) => `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`;

/** A fresh project with `tgz` installed (npm `flags`) on the bare PATH; returns the install's result. */
function installInto(name: string, tgz: string, ...flags: string[]): { dir: string; install: SpawnSyncReturns<string> } {
  const dir = path.join(work, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, private: true, version: "1.0.0" }));
  const install = run(process.execPath, [npmCli(), "install", "--no-audit", "--no-fund", "--prefer-offline", "--foreground-scripts", ...flags, tgz], dir, { PATH: bareBin });
  return { dir, install };
}

function doctorJson(dir: string): { backend: string; reason: string; addon: string; checks: { name: string; ok: boolean; detail: string }[] } {
  const r = run(process.execPath, [path.join(path.dirname(npmCli()), "npx-cli.js"), "--no-install", "ringloop", "doctor", "--json"], dir, { PATH: bareBin });
  if (r.status !== 0) throw new Error(`ringloop doctor failed: ${said(r)}`);
  return JSON.parse(r.stdout);
}

let pack: SpawnSyncReturns<string>;
let entries: string[] = [];
let app: { dir: string; install: SpawnSyncReturns<string> };

test.before(() => {
  pack = run(process.execPath, [npmCli(), "pack", "--pack-destination", work], ROOT, {}, 900_000);
  if (pack.status !== 0 || !existsSync(tarball)) throw new Error(`npm pack failed: ${said(pack).slice(-4000)}`);
  const list = run("tar", ["-tzf", tarball], work);
  entries = list.stdout.split("\n").filter(Boolean).map((e) => e.replace(/^package\//, ""));
  mkdirSync(bareBin);
  symlinkSync(process.execPath, path.join(bareBin, "node"));
  symlinkSync("/bin/sh", path.join(bareBin, "sh"));
  app = installInto("app", tarball);
});

test.after.always(() => {
  rmSync(work, { recursive: true, force: true });
});

test.serial("npm pack builds and checks a prebuild per arch; the tarball holds what a user needs and nothing else", (t) => {
  for (const arch of ARCHS) {
    t.regex(pack.stdout, new RegExp(`check-prebuilds: ${prebuildOf(arch).replace(/\./g, "\\.")}: `), `check-prebuilds passed ${arch}`);
    t.true(entries.includes(prebuildOf(arch)), `${prebuildOf(arch)} in the tarball`);
  }
  t.deepEqual(entries.filter((e) => e.startsWith("prebuilds/")).sort(), ARCHS.map(prebuildOf).sort());
  for (const needed of ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "THIRD_PARTY_NOTICES.md", "bin/ringloop.cjs",
    "dist/cjs/src/index.js", "dist/cjs/src/index.d.ts", "dist/cjs/src/fs.js", "dist/cjs/src/fs.d.ts",
    "dist/esm/index.mjs", "dist/esm/index.d.mts", "dist/esm/fs.mjs", "dist/esm/fs.d.mts", "dist/cjs/fallback/loop.js",
    "CMakeLists.txt", "scripts/build-native.mjs", "native/addon.cc", "native/ring.h", "native/ops/ops.h"]) {
    t.true(entries.includes(needed), `${needed} in the tarball`);
  }
  const unwanted = entries.filter((e) => /^(test|perf|build|build-asan|build-prebuild|dist\/cjs\/(test|perf))\/|\.map$|^src\/|\.test\./.test(e));
  t.deepEqual(unwanted, []);
  t.regex(readFileSync(path.join(ROOT, "THIRD_PARTY_NOTICES.md"), "utf8"), /liburing[\s\S]*Copyright \(c\) 2019-2022 Jens Axboe[\s\S]*Permission is hereby granted/);
});

test.serial("installed with no compiler, cmake or pkg-config on PATH: the prebuild is used and doctor says uring from it", (t) => {
  for (const tool of ["cc", "c++", "g++", "cmake", "pkg-config"]) {
    t.truthy(spawnSync(tool, ["--version"], { env: { PATH: bareBin } }).error, `${tool} hidden`);
  }
  t.is(app.install.status, 0, said(app.install));
  t.true(said(app.install).includes(`ringloop: using the prebuilt addon ${HOST_PREBUILD}`), said(app.install));
  const pkgDir = path.join(app.dir, "node_modules/ringloop");
  t.false(existsSync(path.join(pkgDir, "build")), "no source build happened");
  const doctor = doctorJson(app.dir);
  const addon = doctor.checks.find((c) => c.name === "addon");
  t.is(doctor.addon, path.join(pkgDir, HOST_PREBUILD));
  t.true(addon?.ok, JSON.stringify(doctor));
  t.true(addon?.detail.startsWith(`loaded ${path.join(pkgDir, HOST_PREBUILD)} (liburing `), addon?.detail);
  // Only a machine-level reason (kernel, sysctl, io_uring_setup) may keep uring off here.
  const machineSaysNo = doctor.checks.some((c) => !c.ok && c.name !== "addon");
  if (machineSaysNo && process.env.RINGLOOP_REQUIRE_URING !== "1") {
    t.log(`io_uring unusable on this machine: ${doctor.reason}`);
    t.is(doctor.backend, "fallback");
  } else {
    t.is(doctor.backend, "uring", doctor.reason);
  }
});

test.serial("installed with install scripts blocked (--ignore-scripts): the loader still finds the prebuild", (t) => {
  const { dir, install } = installInto("app-no-scripts", tarball, "--ignore-scripts");
  t.is(install.status, 0, said(install));
  t.false(said(install).includes("ringloop: "), "the install script did not run");
  const doctor = doctorJson(dir);
  t.is(doctor.addon, path.join(dir, "node_modules/ringloop", HOST_PREBUILD));
  t.true(doctor.checks.find((c) => c.name === "addon")?.ok, JSON.stringify(doctor));
});

test.serial("the installed package: ESM import and CJS require of ringloop and ringloop/fs share one instance and run a loop", (t) => {
  const file = JSON.stringify(path.join(app.dir, "data.txt"));
  // Writes `content` through ringloop/fs, waits on a timer, reads it back: [loop class, content].
  const runLoop = (content: string) => `run(async () => {
  await writeFile(${file}, "${content}");
  const loop = getRunningLoop();
  const late = loop.createFuture();
  loop.callLater(5, () => late.setResult(true));
  await late;
  return [loop.constructor.name, String(await readFile(${file}))];
})`;
  writeFileSync(path.join(app.dir, "esm.mjs"), `
import { run, getRunningLoop, backendReport } from "ringloop";
import ringloop from "ringloop";
import { readFile, writeFile } from "ringloop/fs";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const cjs = require("ringloop");
const cjsFs = require("ringloop/fs");
const result = await ${runLoop("esm")};
console.log(JSON.stringify({ result, backend: backendReport().backend,
  same: cjs.run === run && ringloop.run === run && cjsFs.readFile === readFile && cjs.fs.readFile === readFile }));
`);
  writeFileSync(path.join(app.dir, "cjs.cjs"), `
const { run, getRunningLoop, backendReport, fs } = require("ringloop");
const { readFile, writeFile } = require("ringloop/fs");
${runLoop("cjs")}.then((result) => console.log(JSON.stringify({ result, backend: backendReport().backend, same: fs.readFile === readFile })));
`);
  const esm = run(process.execPath, ["esm.mjs"], app.dir);
  t.is(esm.status, 0, said(esm));
  const cjs = run(process.execPath, ["cjs.cjs"], app.dir);
  t.is(cjs.status, 0, said(cjs));
  const e = JSON.parse(esm.stdout) as { result: string[]; backend: string; same: boolean };
  const c = JSON.parse(cjs.stdout) as { result: string[]; backend: string; same: boolean };
  t.true(e.same, "ESM and CJS entries are one module instance");
  t.true(c.same);
  const loopClass = e.backend === "uring" ? "UringEventLoop" : "FallbackEventLoop";
  t.is(e.result[0], loopClass, JSON.stringify(e));
  t.is(c.result[0], loopClass, JSON.stringify(c));
  t.is(e.result[1], "esm");
  t.is(c.result[1], "cjs");
});

test.serial("README states the minimum glibc and libstdc++ that check-prebuilds holds every prebuild to", (t) => {
  const r = run(process.execPath, [path.join(ROOT, "scripts/check-prebuilds.mjs"), "--json"], ROOT);
  t.is(r.status, 0, said(r));
  const { maxVersions, prebuilds } = JSON.parse(r.stdout) as { maxVersions: Record<string, string>; prebuilds: { versions: Record<string, string> }[] };
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  t.true(readme.includes(`glibc ${maxVersions.GLIBC}`), `README names glibc ${maxVersions.GLIBC}`);
  t.true(readme.includes(`GLIBCXX_${maxVersions.GLIBCXX}`), `README names GLIBCXX_${maxVersions.GLIBCXX}`);
  t.is(prebuilds.length, ARCHS.length);
  for (const p of prebuilds) t.is(p.versions.GLIBC, maxVersions.GLIBC, "the stated minimum is the one the prebuilds really need");
});

test.serial("attw finds no problem in the tarball: ringloop and ringloop/fs resolve to ESM types from ESM, CJS from CJS, and under node10", (t) => {
  const cli = path.join(ROOT, "node_modules/@arethetypeswrong/cli/dist/index.js");
  const r = run(process.execPath, [cli, tarball, "--format", "json"], work);
  const out = JSON.parse(r.stdout) as { problems?: Record<string, unknown[]>; analysis: { entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }> } };
  t.deepEqual(out.problems ?? {}, {}, JSON.stringify(out.problems));
  t.is(r.status, 0);
  const fsEsm = out.analysis.entrypoints["./fs"]?.resolutions["node16-esm"]?.resolution?.fileName;
  t.is(fsEsm, "/node_modules/ringloop/dist/esm/fs.d.mts");
  t.is(out.analysis.entrypoints["./fs"]?.resolutions["node10"]?.resolution?.fileName, "/node_modules/ringloop/dist/cjs/src/fs.d.ts");
});

test.serial("publint --strict finds nothing in the tarball", (t) => {
  const dir = path.join(work, "extracted");
  mkdirSync(dir);
  t.is(run("tar", ["-xzf", tarball, "-C", dir], work).status, 0);
  const r = run(process.execPath, [path.join(ROOT, "node_modules/publint/src/cli.js"), path.join(dir, "package"), "--pack", "false", "--strict"], work);
  t.is(r.status, 0, said(r));
  t.notRegex(said(r), /Suggestions|Warnings|Errors/, said(r));
});

test.serial("a prebuild that does not load: install still succeeds (no compiler either), the fallback is used and doctor names why", (t) => {
  const dir = path.join(work, "broken");
  mkdirSync(dir);
  t.is(run("tar", ["-xzf", tarball, "-C", dir], work).status, 0);
  writeFileSync(path.join(dir, "package", HOST_PREBUILD), "not an ELF file\n");
  const broken = path.join(work, "broken.tgz");
  t.is(run("tar", ["-czf", broken, "-C", dir, "package"], work).status, 0);
  const { dir: app2, install } = installInto("app-broken", broken);
  t.is(install.status, 0, said(install));
  t.regex(said(install), new RegExp(`ringloop: cmake not found .*fallback backend will be used \\(the prebuilt ${HOST_PREBUILD.replace(/\./g, "\\.")} does not load here: .+\\)`));
  const doctor = doctorJson(app2);
  t.is(doctor.backend, "fallback");
  t.regex(doctor.reason, new RegExp(`^io_uring unusable, addon: .*${HOST_PREBUILD.replace(/\./g, "\\.")} does not load`));
  const r = run(process.execPath, ["-e", "require('ringloop').run(async () => 42).then((v) => console.log(v))"], app2);
  t.is(r.stdout.trim(), "42", said(r));
});
