// Builds the io_uring addon with cmake-js.
//   node scripts/build-native.mjs               npm install: the package's prebuilt binary
//                                               when it loads here, else a source build;
//                                               never fails (fallback backend)
//   node scripts/build-native.mjs --required    build from source; exit 1 when it cannot
//   node scripts/build-native.mjs --sanitize    ASan/UBSan build into build-asan/
// A sanitized addon runs under an uninstrumented node with the runtimes preloaded:
//   LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
//   ASAN_OPTIONS=detect_leaks=0 RINGLOOP_ADDON=build-asan/Release/ringloop.node node ...
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const required = process.argv.includes("--required");
const sanitize = process.argv.includes("--sanitize");
const FALLBACK = "the io_uring addon is not built, the fallback backend will be used";
/** Why no prebuild was used, appended to what this script says when it builds or gives up. */
let prebuildNote = "";

function give_up(reason) {
  console.error(`ringloop: ${reason}; ${FALLBACK}${prebuildNote}`);
  process.exit(required ? 1 : 0);
}

function runs(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return !r.error && r.status === 0;
}

// The prebuild is used when it exists for this platform and arch (pkg-prebuilds' naming, as
// src/addon.ts finds it) and really loads here (glibc, libstdc++ new enough); otherwise the
// source build runs and the reason is appended to its outcome. --build-from-source
// (npm_config_build_from_source) skips it, and so does a checkout (src/ present; the
// tarball has none): its prebuilds/ are whatever `npm pack` last left there.
const checkout = existsSync(path.join(root, "src"));
if (!required && !sanitize && !checkout && !process.env.npm_config_build_from_source) {
  const req = createRequire(path.join(root, "package.json"));
  const options = { name: "ringloop", napi_versions: req("./package.json").binary.napi_versions };
  let prebuild = null;
  try {
    prebuild = req("pkg-prebuilds").resolve(root, options, true, false);
  } catch (err) {
    prebuildNote = ` (pkg-prebuilds unavailable: ${err.message})`;
  }
  if (prebuild) {
    const rel = path.relative(root, prebuild);
    const load = "try { require(process.argv[1]); } catch (e) { console.error(e.message); process.exit(1); }";
    const r = spawnSync(process.execPath, ["-e", load, prebuild], { encoding: "utf8" });
    if (!r.error && r.status === 0) {
      console.log(`ringloop: using the prebuilt addon ${rel}`);
      process.exit(0);
    }
    const why = r.error ? r.error.message : r.stderr.trim().split("\n")[0] || `exit ${r.status}`;
    prebuildNote = ` (the prebuilt ${rel} does not load here: ${why})`;
  } else if (!prebuildNote) {
    prebuildNote = ` (no prebuilt addon for ${process.platform}-${process.arch})`;
  }
}

if (process.platform !== "linux") give_up(`io_uring needs Linux (this is ${process.platform})`);
if (!runs("cmake", ["--version"])) give_up("cmake not found (apt-get install -y cmake)");
const cxx = process.env.CXX || (runs("c++", ["--version"]) ? "c++" : "g++");
if (!runs(cxx, ["--version"])) give_up("no C++ compiler found (apt-get install -y g++)");
if (!runs("pkg-config", ["--version"])) give_up("pkg-config not found (apt-get install -y pkg-config)");
if (!runs("pkg-config", ["--exists", "liburing"])) {
  give_up("liburing-dev not found (apt-get install -y liburing-dev)");
}
const nodeInclude = path.resolve(process.execPath, "../../include/node");
if (!existsSync(path.join(nodeInclude, "uv.h"))) give_up(`Node's headers (uv.h) not found in ${nodeInclude}`);

let cmakeJs;
try {
  cmakeJs = createRequire(path.join(root, "package.json")).resolve("cmake-js/bin/cmake-js");
} catch {
  give_up("cmake-js not installed (npm install)");
}

const out = sanitize ? "build-asan" : "build";
const args = [
  cmakeJs, "compile", "--directory", root, "--out", path.join(root, out),
  `--CDNODE_EXECUTABLE=${process.execPath}`, `--CDNODE_INCLUDE_DIR=${nodeInclude}`,
  `--CDRINGLOOP_SANITIZE=${sanitize ? "ON" : "OFF"}`, "--log-level", "error",
];
const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const addon = path.join(root, out, "Release", "ringloop.node");
if (r.error || r.status !== 0 || !existsSync(addon)) {
  const log = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n");
  const errors = [...new Set(log.filter((l) => /\berror\b|Error:|not found/i.test(l) && !/^\[|^ERROR OMG/.test(l)))].slice(0, 6);
  console.error((errors.length ? errors : log.slice(-8)).join("\n"));
  give_up(`build failed (${r.error ? r.error.message : `cmake-js exit ${r.status}`})`);
}
console.log(`ringloop: built ${path.relative(root, addon)}${prebuildNote}`);
