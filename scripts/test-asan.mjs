// Runs the [uring] tests, and the [fallback] tests that use the addon (sockets, sock_*
// methods, readiness through FdPoll, sendfile to sockets), against the AddressSanitizer +
// UBSan build of the addon (build-asan/). Node itself is not built with ASan, so the runtime
// is preloaded; leak detection is off (V8 and Node keep memory until exit on purpose).
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const run = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, ["scripts/build-native.mjs", "--required", "--sanitize"]);
run("npm", ["run", "build:ts", "--silent"]);
const lib = (name) => execFileSync("gcc", [`-print-file-name=${name}`], { encoding: "utf8" }).trim();
const env = {
  LD_PRELOAD: `${lib("libasan.so")} ${lib("libubsan.so")}`,
  ASAN_OPTIONS: "detect_leaks=0:abort_on_error=1",
  UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
  RINGLOOP_ADDON: path.join(root, "build-asan/Release/ringloop.node"),
};
// The suite must really run on the sanitized addon, not silently on another one.
run(process.execPath, ["-e", `const r = require("ringloop").backendReport(); const a = r.checks.find((c) => c.name === "addon");
  if (r.backend !== "uring" || !a.detail.includes("ASan/UBSan")) { console.error("not the ASan addon:", JSON.stringify(r)); process.exit(1); }
  console.log("ASan run on:", a.detail);`], env);
const fallbackNative = ["[fallback] sock*", "[fallback] readiness*", "[fallback] process*", "[fallback] sendfile*"];
const match = ["[uring]*", ...fallbackNative].flatMap((m) => ["--match", m]);
run(process.execPath, [path.join(root, "node_modules/ava/entrypoints/cli.mjs"), ...match], env);
