// Checks the prebuilt addons (RINGLOOP_PREBUILD_ARCHS, default x64,arm64) with readelf: the
// target machine, no shared library beyond ALLOWED_NEEDED (so no liburing), no symbol
// version above MAX_VERSIONS, the Node-API entry point exported. The one for this machine's
// arch is also loaded in a child node; the others cannot be run here and are only inspected.
//   node scripts/check-prebuilds.mjs [--json]      exit 1 naming every failed check
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ALLOWED_NEEDED, MAX_VERSIONS, TARGETS, prebuildFile, root, wantedArchs } from "./prebuild-targets.mjs";

/** "2.26" vs "2.3": < 0, 0, > 0 by numeric components. */
function compareVersions(a, b) {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function readelf(args, file) {
  const r = spawnSync("readelf", ["-W", ...args, file], { encoding: "utf8" });
  if (r.error) throw new Error(`readelf: ${r.error.message} (apt-get install -y binutils)`);
  if (r.status !== 0) throw new Error(`readelf ${args.join(" ")} ${file}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The facts of one prebuild and the problems found in them. */
function inspect(arch) {
  const file = prebuildFile(arch);
  const rel = path.relative(root, file);
  const facts = { arch, file: rel, machine: null, needed: [], versions: {}, loaded: null, problems: [] };
  if (!existsSync(file)) {
    facts.problems.push(`${rel} missing (npm run build:prebuilds)`);
    return facts;
  }
  try {
    facts.machine = /^\s*Machine:\s*(.+)$/m.exec(readelf(["-h"], file))?.[1].trim() ?? null;
    facts.needed = [...readelf(["-d"], file).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    const syms = readelf(["--dyn-syms"], file);
    for (const [, lib, version] of syms.matchAll(/@(GLIBC|GLIBCXX|CXXABI|GCC)_([0-9.]+)/g)) {
      if (!facts.versions[lib] || compareVersions(version, facts.versions[lib]) > 0) facts.versions[lib] = version;
    }
    if (!/\s[0-9]+\s+napi_register_module_v1$/m.test(syms)) facts.problems.push(`${rel} does not export napi_register_module_v1`);
  } catch (err) {
    facts.problems.push(err.message);
    return facts;
  }
  if (facts.machine !== TARGETS[arch].machine) facts.problems.push(`${rel} is for "${facts.machine}", not ${TARGETS[arch].machine}`);
  const extra = facts.needed.filter((n) => !ALLOWED_NEEDED.includes(n));
  if (extra.length > 0) facts.problems.push(`${rel} needs ${extra.join(", ")} (only ${ALLOWED_NEEDED.join(", ")} allowed)`);
  if (!facts.versions.GLIBC) facts.problems.push(`${rel} has no GLIBC symbol versions (not a glibc build?)`);
  for (const [lib, version] of Object.entries(facts.versions)) {
    if (compareVersions(version, MAX_VERSIONS[lib]) > 0) facts.problems.push(`${rel} needs ${lib}_${version}, above ${lib}_${MAX_VERSIONS[lib]}`);
  }
  if (arch === os.arch()) {
    const load = "const a = require(process.argv[1]); if (typeof a.Ring !== 'function' || typeof a.probe !== 'function') throw new Error('not the ringloop addon'); console.log(JSON.stringify(a.buildInfo));";
    const r = spawnSync(process.execPath, ["-e", load, file], { encoding: "utf8" });
    facts.loaded = r.status === 0;
    if (!facts.loaded) facts.problems.push(`${rel} does not load here: ${(r.stderr || String(r.error)).trim().split("\n").find((l) => /Error/.test(l)) ?? r.stderr}`);
  }
  return facts;
}

let archs;
try {
  archs = wantedArchs();
} catch (err) {
  console.error(`check-prebuilds: ${err.message}`);
  process.exit(1);
}
const results = archs.map(inspect);
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ maxVersions: MAX_VERSIONS, prebuilds: results }, null, 2));
} else {
  for (const f of results) {
    if (f.problems.length > 0) continue;
    const versions = Object.entries(f.versions).map(([lib, v]) => `${lib}_${v}`).join(", ");
    const ran = f.loaded === null ? `not run here (this machine is ${os.arch()})` : "loads here";
    console.log(`check-prebuilds: ${f.file}: ${f.machine}; needs ${f.needed.join(", ")}; at most ${versions}; ${ran}`);
  }
}
const problems = results.flatMap((f) => f.problems);
for (const p of problems) console.error(`check-prebuilds: ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
