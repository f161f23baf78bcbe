// `ringloop serve` as a process: the start line, curl against it, SIGTERM -> exit 0;
// --workers 2 (SO_REUSEPORT, [uring]; on the fallback backend of Node < 22.12 a clear
// refusal), usage errors.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { BACKENDS, uringUnavailableReason, fixture } from "../helpers/backends.js";
import { makeTree, curl, run, sha256, type Tree } from "./_serve.js";

let tree: Tree;
test.before(() => {
  tree = makeTree();
});
test.after.always(() => tree.remove());

const CLI = fixture("../../bin/ringloop.cjs");

interface Cli {
  url: Promise<string>;
  firstLine: Promise<string>;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(signal: NodeJS.Signals): void;
}

function startCli(args: string[]): Cli {
  const child = spawn(process.execPath, [CLI, "serve", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let lineResolve!: (l: string) => void;
  const firstLine = new Promise<string>((r) => (lineResolve = r));
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes("\n")) lineResolve(stdout.slice(0, stdout.indexOf("\n")));
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("close", (code) => {
      lineResolve("");
      resolve({ code, stdout, stderr });
    }),
  );
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  void exited.then(() => clearTimeout(timer));
  const url = firstLine.then((l) => /(http:\/\/\S+)/.exec(l)?.[1] ?? "");
  return { url, firstLine, exited, kill: (s) => child.kill(s) };
}

const uringReason = uringUnavailableReason();
const requireUring = process.env.RINGLOOP_REQUIRE_URING === "1";
function reg(backend: string): typeof test.serial | typeof test.serial.skip {
  return backend === "uring" && uringReason !== null && !requireUring ? test.serial.skip : test.serial;
}

for (const backend of BACKENDS) {
  reg(backend)(`[${backend}] serve cli: prints the URL and backend, serves, exits 0 on SIGTERM`, async (t) => {
    const cli = startCli([tree.root, "--port", "0", "--quiet", "--backend", backend]);
    const line = await cli.firstLine;
    t.regex(line, new RegExp(`^ringloop serve: http://127\\.0\\.0\\.1:\\d+/ \\(backend ${backend}, 1 worker\\) serving ${tree.root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`));
    const url = await cli.url;
    const r = await curl(`${url}big.bin`);
    t.is(sha256(r.body), sha256(tree.files["big.bin"]));
    cli.kill("SIGTERM");
    const done = await cli.exited;
    t.is(done.code, 0, done.stderr);
    t.is(done.stdout.split("\n").filter((l) => l).length, 1, "--quiet: no access log");
    t.regex(done.stderr, /^ringloop serve: stopped after 1 request on 1 connection\n$/m);
  });
}

reg("uring")("[uring] serve cli: --workers 2 share the port (SO_REUSEPORT), log every request, stop on SIGINT", async (t) => {
  const cli = startCli([tree.root, "--port", "0", "--workers", "2", "--backend", "uring"]);
  t.regex(await cli.firstLine, /\(backend uring, 2 workers\)/);
  const url = await cli.url;
  const results = await Promise.all(Array.from({ length: 8 }, () => curl(`${url}a.txt`)));
  for (const r of results) t.is(r.body.toString(), "hello, ringloop\n");
  // Separate connections from separate source ports: the kernel's SO_REUSEPORT hash spreads
  // them, so both workers answer some (32 connections all landing on one of 2 workers:
  // probability 2^-31).
  const spread = await Promise.all(Array.from({ length: 32 }, () => curl(`${url}a.txt`)));
  for (const r of spread) t.is(r.body.toString(), "hello, ringloop\n");
  cli.kill("SIGINT");
  const done = await cli.exited;
  t.is(done.code, 0, done.stderr);
  t.is(done.stdout.split("\n").filter((l) => l.includes('"GET /a.txt HTTP/1.1" 200 16')).length, 40, done.stdout);
  const m = /stopped after (\d+) requests on (\d+) connections \(requests per worker: (\d+), (\d+)\)/.exec(done.stderr);
  t.truthy(m, done.stderr);
  t.is(Number(m![1]), 40);
  t.true(Number(m![3]) > 0 && Number(m![4]) > 0, `both workers served: ${m![3]} + ${m![4]}`);
  t.is(Number(m![3]) + Number(m![4]), 40);
});

const [major, minor] = process.versions.node.split(".").map(Number);
const nodeHasReusePort = major > 22 || (major === 22 && minor >= 12);
(nodeHasReusePort ? test.serial.skip : test.serial)("[fallback] serve cli: --workers 2 is refused with a clear message on Node < 22.12", async (t) => {
  const r = await run(process.execPath, [CLI, "serve", tree.root, "--port", "0", "--workers", "2", "--backend", "fallback"]);
  t.is(r.code, 1);
  t.regex(r.stderr, /reusePort.*fallback.*use the uring backend/);
});

test.serial("serve cli: usage errors exit 2, a missing directory exits 1", async (t) => {
  const bad = await run(process.execPath, [CLI, "serve", "--bogus"]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /unknown option "--bogus"/);
  const port = await run(process.execPath, [CLI, "serve", "--port", "70000"]);
  t.is(port.code, 2);
  const missing = await run(process.execPath, [CLI, "serve", `${tree.root}/does-not-exist`, "--port", "0"]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /ENOENT/);
  const help = await run(process.execPath, [CLI, "serve", "--help"]);
  t.is(help.code, 0);
  t.regex(help.stdout.toString(), /--workers N/);
});

for (const backend of BACKENDS) {
  reg(backend)(`[${backend}] serve cli: SIGTERM lets a download in flight finish (exit 0); a second signal stops at once (exit 1)`, async (t) => {
    // 24 MiB: more than socket buffers hold, so the server is still sending at the signal.
    const huge = path.join(tree.root, `huge-${backend}.bin`);
    const data = Buffer.alloc(24 * 1024 * 1024, 7);
    fs.writeFileSync(huge, data);
    t.teardown(() => fs.rmSync(huge, { force: true }));
    const cli = startCli([tree.root, "--port", "0", "--quiet", "--backend", backend]);
    const url = await cli.url;
    const slow = curl(`${url}${path.basename(huge)}`, ["--limit-rate", "12M"]);
    await new Promise((r) => setTimeout(r, 300));
    cli.kill("SIGTERM");
    const r = await slow;
    t.is(r.status, 200);
    t.is(sha256(r.body), sha256(data));
    const done = await cli.exited;
    t.is(done.code, 0, done.stderr);

    const cli2 = startCli([tree.root, "--port", "0", "--quiet", "--backend", backend]);
    const url2 = await cli2.url;
    const slow2 = curl(`${url2}${path.basename(huge)}`, ["--limit-rate", "2M"]);
    await new Promise((r) => setTimeout(r, 300));
    cli2.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    cli2.kill("SIGTERM");
    const done2 = await cli2.exited;
    t.is(done2.code, 1);
    t.regex(done2.stderr, /second signal/);
    t.not((await slow2).code, 0, "the cut download fails");
  });
}
