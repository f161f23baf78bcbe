// `ringloop serve` as a process: the start line, curl against it, SIGTERM -> exit 0;
// --workers 2 (SO_REUSEPORT, [uring]; on the fallback backend of Node < 22.12 a clear
// refusal), usage errors.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
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

test.serial("serve cli: usage errors exit 2 naming the flag, a missing directory exits 1", async (t) => {
  const usage = async (args: string[], message: RegExp): Promise<void> => {
    const r = await run(process.execPath, [CLI, "serve", ...args]);
    t.is(r.code, 2, args.join(" "));
    t.regex(r.stderr.split("\n")[0], message, args.join(" "));
    t.regex(r.stderr, /usage: ringloop serve/);
  };
  await usage(["--bogus"], /^ringloop serve: unknown option "--bogus"$/);
  await usage(["-x"], /^ringloop serve: unknown option "-x"$/);
  await usage(["--port", "70000"], /^ringloop serve: --port must be an integer from 0 to 65535, got 70000$/);
  await usage(["--port=abc"], /^ringloop serve: --port must be a non-negative integer, got "abc"$/);
  await usage(["--port"], /^ringloop serve: option --port needs a value$/);
  await usage(["--port", "--quiet"], /^ringloop serve: option --port needs a value/);
  await usage(["--idle-timeout", "0"], /^ringloop serve: --idle-timeout must be an integer from 1 to 86400000, got 0$/);
  await usage(["--quiet=yes"], /^ringloop serve: option --quiet takes no value$/);
  await usage(["--dotfiles", "maybe"], /^ringloop serve: --dotfiles must be "allow", "deny" or "ignore"/);
  await usage(["--max-age", "60", "--cache-control", "no-cache"], /^ringloop serve: --max-age cannot be given together with --cache-control/);
  await usage(["--header", "no colon"], /^ringloop serve: --header must be "Name: value"/);
  await usage(["--header", "Content-Length: 5"], /^ringloop serve: --header must not set "Content-Length"/);
  await usage(["--max-connections", "0"], /^ringloop serve: --max-connections must be an integer from 1/);
  await usage(["--workers", "0"], /^ringloop serve: --workers must be 1\.\.256/);
  await usage(["--backend", "epoll"], /^ringloop serve: --backend must be uring or fallback/);
  await usage(["a", "b"], /^ringloop serve: more than one directory given/);
  const missing = await run(process.execPath, [CLI, "serve", `${tree.root}/does-not-exist`, "--port", "0"]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /ENOENT/);
  for (const h of ["--help", "-h"]) {
    const help = await run(process.execPath, [CLI, "serve", h]);
    t.is(help.code, 0);
    // Every flag the parser knows is in the help text.
    for (const flag of ["--host", "-p, --port", "-w, --workers", "--backend", "-q, --quiet", "--dotfiles", "--list", "--spa", "--cache-control", "--max-age", "--cors", "--header", "--no-precompressed", "--compress", "--compress-max-size", "--max-connections", "--no-memory-cache", "--idle-timeout", "--header-timeout", "--max-request-line", "--max-header-bytes", "--cache-valid", "-h, --help", "-v, --version"]) {
      t.true(help.stdout.toString().includes(flag), flag);
    }
  }
  const pkg = JSON.parse(fs.readFileSync(fixture("../../package.json"), "utf8")) as { version: string };
  for (const v of ["--version", "-v"]) {
    const version = await run(process.execPath, [CLI, "serve", v]);
    t.is(version.code, 0);
    t.is(version.stdout.toString(), `ringloop ${pkg.version}\n`);
  }
});

for (const backend of BACKENDS) {
  reg(backend)(`[${backend}] serve cli: --opt=value, short flags and feature flags together`, async (t) => {
    const cli = startCli([`--backend=${backend}`, "-p", "0", "-q", "--cors", "--max-age=60", "--header", "X-Served-By: ringloop", "--header=X-Two: 2", "--list", "--", tree.root]);
    const url = await cli.url;
    const r = await curl(`${url}a.txt`);
    t.is(r.status, 200);
    t.is(r.headers["access-control-allow-origin"], "*");
    t.is(r.headers["cache-control"], "public, max-age=60");
    t.is(r.headers["x-served-by"], "ringloop");
    t.is(r.headers["x-two"], "2");
    t.is((await curl(`${url}noindex/`)).status, 200, "--list");
    cli.kill("SIGTERM");
    const done = await cli.exited;
    t.is(done.code, 0, done.stderr);
  });

  // RLIMIT_NOFILE 64 and 120 connections that send nothing: the default --max-connections
  // (from the limit) closes the idle ones oldest first, a real request is answered, and
  // running out of descriptors (if the accepts outrun the closes) is one line per episode.
  reg(backend)(`[${backend}] serve cli: under prlimit --nofile=64, 120 idle sockets do not keep a real request out; no stack traces`, async (t) => {
    const child = spawn("prlimit", ["--nofile=64", process.execPath, CLI, "serve", tree.root, "-p", "0", "-q", "--backend", backend], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout);
        if (m !== null) resolve(Number(m[1]));
      });
      child.once("close", () => reject(new Error(`server exited: ${stderr}`)));
    });
    const socks = Array.from({ length: 120 }, () => {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => {});
      return s;
    });
    await Promise.all(socks.map((s) => new Promise((r) => (s.connecting ? s.once("connect", r).once("close", r) : r(null)))));
    await new Promise((r) => setTimeout(r, 300));
    const real = await curl(`http://127.0.0.1:${port}/a.txt`);
    t.is(real.status, 200, real.stderr);
    t.is(real.body.toString(), "hello, ringloop\n");
    for (const s of socks) s.destroy();
    child.kill("SIGTERM");
    t.is(await exited, 0, stderr);
    t.notRegex(stderr, /^\s+at /m, "no stack trace");
    const lines = stderr.split("\n").filter((l) => l !== "");
    for (const l of lines) t.regex(l, /^ringloop serve: (cannot accept connections: EMFILE \(out of file descriptors: .*\); retrying|stopped after .*)$/);
    t.true(lines.length < 20, `one line per episode, not per failed accept: ${lines.length} lines`);
  });
}

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
