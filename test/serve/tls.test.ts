// HTTPS for the file server: startServe with tlsCert/tlsKey on both backends (curl
// --cacert: small cached files, a large body through TLS by read + write, ranges,
// keep-alive), and `ringloop serve --tls-cert --tls-key` as a process.
import { spawn } from "node:child_process";
import test from "ava";
import { backendTest, fixture } from "../helpers/backends.js";
import { makeTree, curl, run, sha256, withServer, BIG, type Tree } from "./_serve.js";
import { certs } from "../tls/_tls.js";

let tree: Tree;
test.before(() => {
  tree = makeTree();
});
test.after.always(() => tree.remove());

backendTest("serve tls: startServe with tlsCert/tlsKey answers curl over HTTPS; bodies go through TLS", async (t, { loop }) => {
  const c = certs();
  await withServer(loop, tree.root, { tlsCert: c.cert, tlsKey: c.key, quiet: false }, async ({ handle, log }) => {
    t.regex(handle.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const base = `https://localhost:${handle.port}`;
    const small = await curl(`${base}/a.txt`, ["--cacert", c.caCert]);
    t.is(small.status, 200, small.stderr);
    t.is(small.body.toString(), "hello, ringloop\n");
    const big = await curl(`${base}/big.bin`, ["--cacert", c.caCert]);
    t.is(big.status, 200, big.stderr);
    t.is(big.body.length, BIG);
    t.is(sha256(big.body), sha256(tree.files["big.bin"]));
    const range = await curl(`${base}/big.bin`, ["--cacert", c.caCert, "-H", "Range: bytes=1000-1999"]);
    t.is(range.status, 206);
    t.true(range.body.equals(tree.files["big.bin"].subarray(1000, 2000)));
    const both = await run("curl", ["-sS", "--cacert", c.caCert, "-w", "%{num_connects}\\n", "-o", "/dev/null", `${base}/small.bin`, "-o", "/dev/null", `${base}/big.bin`]);
    t.is(both.stdout.toString(), "1\n0\n", "keep-alive over TLS");
    const refused = await curl(`${base}/a.txt`, []);
    t.not(refused.code, 0, "an unknown CA is refused by curl");
    t.true(log.some((l) => l.includes('"GET /big.bin HTTP/1.1" 200 ' + BIG)), log.join("\n"));
  });
});

backendTest("serve tls: tlsCert without tlsKey is a TypeError", async (t, { loop }) => {
  await t.throwsAsync(withServer(loop, tree.root, { tlsCert: certs().cert }, async () => {}), { instanceOf: TypeError, message: /tlsCert.*tlsKey/ });
});

const CLI = fixture("../../bin/ringloop.cjs");

test.serial("serve tls: `ringloop serve --tls-cert --tls-key` serves HTTPS; --help says bodies skip sendfile; a lone --tls-cert exits 2", async (t) => {
  const c = certs();
  const help = await run(process.execPath, [CLI, "serve", "--help"]);
  t.regex(help.stdout.toString(), /--tls-cert FILE[\s\S]*--tls-key FILE[\s\S]*no sendfile/);
  const lone = await run(process.execPath, [CLI, "serve", tree.root, "--tls-cert", c.cert]);
  t.is(lone.code, 2);
  t.regex(lone.stderr, /--tls-cert needs --tls-key too/);

  const child = spawn(process.execPath, [CLI, "serve", tree.root, "--port", "0", "--quiet", "--tls-cert", c.cert, "--tls-key", c.key], { stdio: ["ignore", "pipe", "pipe"] });
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  const line = await new Promise<string>((resolve) => {
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes("\n")) resolve(stdout.slice(0, stdout.indexOf("\n")));
    });
    void exited.then(() => resolve(stdout));
  });
  const port = /https:\/\/127\.0\.0\.1:(\d+)\//.exec(line)?.[1];
  t.truthy(port, `${line} ${stderr}`);
  const r = await curl(`https://localhost:${port}/big.bin`, ["--cacert", c.caCert]);
  t.is(sha256(r.body), sha256(tree.files["big.bin"]));
  child.kill("SIGTERM");
  t.is(await exited, 0, stderr);
  clearTimeout(killer);
});
