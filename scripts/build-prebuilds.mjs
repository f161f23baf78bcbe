// Builds the prebuilt addons the package carries, then checks them (check-prebuilds.mjs).
//   node scripts/build-prebuilds.mjs          linux x64 and arm64; `npm pack` runs it (prepack)
//   RINGLOOP_PREBUILD_ARCHS=x64 npm pack      only those archs (the others are not shipped)
// Each arch: cmake-js with -DRINGLOOP_PREBUILD=ON (liburing.a linked in, stripped) into
// build-prebuild/linux-<arch>/, then pkg-prebuilds-copy names it where the loader looks.
// prebuilds/ is emptied first: a tarball never carries a binary not built by this run.
// An arch other than this machine's is cross-compiled with Debian's toolchain for it:
//   dpkg --add-architecture arm64 && apt-get update &&
//   apt-get install -y g++-aarch64-linux-gnu liburing-dev:arm64
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { TARGETS, napiVersion, prebuildFile, root, wantedArchs } from "./prebuild-targets.mjs";

function fail(message) {
  console.error(`build-prebuilds: ${message}`);
  process.exit(1);
}

function run(label, args, env = process.env) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], env });
  if (r.error || r.status !== 0) fail(`${label} failed (${r.error ? r.error.message : `exit ${r.status}`})`);
}

const has = (cmd) => !spawnSync(cmd, ["--version"], { stdio: "ignore" }).error;

let archs;
try {
  archs = wantedArchs();
} catch (err) {
  fail(err.message);
}
if (process.platform !== "linux") fail(`prebuilds are built on Linux (this is ${process.platform})`);
const req = createRequire(path.join(root, "package.json"));
const cmakeJs = req.resolve("cmake-js/bin/cmake-js");
const copy = req.resolve("pkg-prebuilds/bin/copy.mjs");
const nodeInclude = path.resolve(process.execPath, "../../include/node");

rmSync(path.join(root, "prebuilds"), { recursive: true, force: true });
for (const arch of archs) {
  const t = TARGETS[arch];
  const cross = arch !== os.arch();
  const cxx = cross ? `${t.triple}-g++` : process.env.CXX || "c++";
  const libdir = `/usr/lib/${t.triple}`;
  if (!has(cxx) || !existsSync(path.join(libdir, "liburing.a"))) {
    fail(`linux-${arch} needs ${cxx} and ${libdir}/liburing.a: ` +
      (cross ? `dpkg --add-architecture ${arch} && apt-get update && apt-get install -y g++-${t.triple} liburing-dev:${arch}`
        : "apt-get install -y g++ liburing-dev") +
      `; or leave ${arch} out with RINGLOOP_PREBUILD_ARCHS`);
  }
  const out = path.join("build-prebuild", `linux-${arch}`);
  console.log(`build-prebuilds: linux-${arch} with ${cxx} into ${out}/`);
  const args = [cmakeJs, "compile", "--directory", root, "--out", out, "--log-level", "error",
    `--CDNODE_EXECUTABLE=${process.execPath}`, `--CDNODE_INCLUDE_DIR=${nodeInclude}`,
    "--CDRINGLOOP_PREBUILD=ON"];
  const env = { ...process.env };
  // The host's compiler is CMake's default, as in the source build (so ccache serves it).
  if (cross) {
    args.push(`--CDCMAKE_CXX_COMPILER=${cxx}`, "--CDCMAKE_SYSTEM_NAME=Linux", `--CDCMAKE_SYSTEM_PROCESSOR=${t.processor}`);
    env.PKG_CONFIG_LIBDIR = `${libdir}/pkgconfig:/usr/share/pkgconfig`;
  }
  run(`cmake-js for linux-${arch}`, args, env);
  run("pkg-prebuilds-copy", [copy, "--baseDir", path.join(out, "Release"), "--source", "ringloop.node",
    "--name", "ringloop", "--napi_version", String(napiVersion()), "--platform", "linux", "--arch", arch]);
  if (!existsSync(prebuildFile(arch))) fail(`pkg-prebuilds-copy did not write ${path.relative(root, prebuildFile(arch))}`);
}
run("check-prebuilds", [path.join(root, "scripts/check-prebuilds.mjs")]);
