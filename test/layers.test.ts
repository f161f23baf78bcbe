// The layer rules of the source tree (DESIGN.md "Layers", README "Layout"), checked on the
// TypeScript sources themselves:
//   1. Contracts (events.ts, transports.ts, protocols.ts, proactor.ts) import only each
//      other: interfaces and option types live there, implementations import from them.
//   2. The backends (src/uring/, fallback/) are imported only by the module that picks one
//      (src/policy.ts) and the public surface (src/index.ts); the core, transports, sockets
//      and the CLI reach them only through the Proactor seam or policy.ts. The addon loader
//      and the plain socket syscalls are backend-neutral (src/addon.ts).
//   3. The two backends never import each other.
import test from "ava";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../../..");

export const CONTRACTS = new Set(["src/events.ts", "src/transports.ts", "src/protocols.ts", "src/proactor.ts"]);
const BACKENDS = ["src/uring/", "fallback/"];
const BACKEND_CHOOSERS = new Set(["src/policy.ts", "src/index.ts"]);

/** Every module specifier a source file names: static and type imports, re-exports, import(), require(). */
export function specifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\b(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]);
  return out;
}

/** A relative specifier of `from` as a repo path of the .ts file it names; null for packages and node: builtins. */
function resolveSpecifier(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.js$/, ".ts");
}

const backendOf = (file: string): string | null => BACKENDS.find((b) => file.startsWith(b)) ?? null;

/** Every broken rule, as "file -> import: why". `files` maps repo paths to their source. */
export function layerViolations(files: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of files) {
    for (const spec of specifiers(source)) {
      const target = resolveSpecifier(file, spec);
      if (CONTRACTS.has(file) && (target === null || !CONTRACTS.has(target))) {
        out.push(`${file} -> ${spec}: a contract imports only other contracts`);
      }
      if (target === null) continue;
      const to = backendOf(target);
      const from = backendOf(file);
      if (to !== null && from === null && !BACKEND_CHOOSERS.has(file)) {
        out.push(`${file} -> ${spec}: only policy.ts and index.ts import a backend (${to})`);
      }
      if (to !== null && from !== null && to !== from) out.push(`${file} -> ${spec}: one backend imports another`);
    }
  }
  return out;
}

function sourcesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, e.name);
      if (e.isDirectory()) walk(child);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) files.set(child, fs.readFileSync(path.join(ROOT, child), "utf8"));
    }
  };
  walk(dir);
  return files;
}

test("the source tree keeps the layer rules", (t) => {
  const files = new Map([...sourcesUnder("src"), ...sourcesUnder("fallback")]);
  for (const c of CONTRACTS) t.true(files.has(c), `${c} exists`);
  t.true(files.size > 40, "the whole tree was read");
  t.deepEqual(layerViolations(files), []);
});

test("the check catches each kind of violation", (t) => {
  const files = new Map([
    ["src/events.ts", 'import type { Server } from "./server.js";\nimport type { X } from "./proactor.js";'],
    ["src/proactor.ts", 'import * as net from "node:net";'],
    ["src/socket.ts", 'import { nativeSockets } from "./uring/sockets.js";'],
    ["src/transports/stream.ts", 'const m = await import("../../fallback/stream.js");'],
    ["src/policy.ts", 'import { UringEventLoop } from "./uring/loop.js";'],
    ["src/uring/stream.ts", 'export { x } from "../../fallback/stream.js";'],
    ["src/uring/ring.ts", 'import { loadAddon } from "../addon.js";'],
  ]);
  t.deepEqual(layerViolations(files), [
    "src/events.ts -> ./server.js: a contract imports only other contracts",
    "src/proactor.ts -> node:net: a contract imports only other contracts",
    "src/socket.ts -> ./uring/sockets.js: only policy.ts and index.ts import a backend (src/uring/)",
    "src/transports/stream.ts -> ../../fallback/stream.js: only policy.ts and index.ts import a backend (fallback/)",
    "src/uring/stream.ts -> ../../fallback/stream.js: one backend imports another",
  ]);
});
