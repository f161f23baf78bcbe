// The prebuilt addons the package carries, and what each may need from the machine it runs on.
// scripts/build-prebuilds.mjs builds them, scripts/check-prebuilds.mjs holds them to this;
// README.md (Install) states the same minimums.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Node arch -> Debian multiarch triple, CMake processor, readelf's "Machine:". */
export const TARGETS = {
  x64: { triple: "x86_64-linux-gnu", processor: "x86_64", machine: "Advanced Micro Devices X86-64" },
  arm64: { triple: "aarch64-linux-gnu", processor: "aarch64", machine: "AArch64" },
};

/** Highest symbol versions a prebuild may need: glibc 2.26 (preadv2), GCC 11's libstdc++. */
export const MAX_VERSIONS = { GLIBC: "2.26", GLIBCXX: "3.4.29", CXXABI: "1.3.9", GCC: "3.0" };

/** The only shared libraries a prebuild may need (liburing is linked in). */
export const ALLOWED_NEEDED = ["libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"];

/** Archs to build and ship: RINGLOOP_PREBUILD_ARCHS=x64,arm64 (the default). */
export function wantedArchs() {
  const archs = (process.env.RINGLOOP_PREBUILD_ARCHS || "x64,arm64").split(",").map((a) => a.trim()).filter(Boolean);
  for (const a of archs) {
    if (!TARGETS[a]) throw new Error(`RINGLOOP_PREBUILD_ARCHS: unknown arch "${a}" (known: ${Object.keys(TARGETS).join(", ")})`);
  }
  return archs;
}

/** Where the loader (src/addon.ts, through pkg-prebuilds) looks for the prebuild of `arch`. */
export function prebuildFile(arch) {
  const req = createRequire(path.join(root, "package.json"));
  const { getPrebuildName } = req("pkg-prebuilds/lib/prebuild.js");
  const napi = napiVersion();
  return path.join(root, "prebuilds", getPrebuildName({ name: "ringloop", platform: "linux", arch, napi_version: napi, runtime: "node" }));
}

/** The Node-API version the addon is built for (CMakeLists.txt reads the same field). */
export function napiVersion() {
  const req = createRequire(path.join(root, "package.json"));
  return req("./package.json").binary.napi_versions[0];
}
