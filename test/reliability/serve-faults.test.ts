// Faults under `ringloop serve` (startServe), on both backends, while bodies are being sent
// by loop.sendfile to clients that have stopped reading (so each send is blocked on a full
// socket, not finished). test/sendfile/errors.test.ts has the same faults on a bare
// transport and test/serve/robustness.test.ts a reset after the first 64 KiB and a file
// truncated between two requests; here they hit the server mid-send, many at once.
// Rules (src/serve/connection.ts bodySettled): a client reset is quiet (no exception-handler
// call) and releases the send; a file that shrank mid-send ends its response short and the
// connection is closed (FIN after what was sent), also quietly. Either way the server goes
// on serving, and the suite's teardown checks no fd and no op is left.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import test from "ava";
import { backendTest } from "../helpers/backends.js";
import { makeTree, curl, withServer, sha256, type Tree } from "../serve/_serve.js";
import { within } from "../streams/_streams.js";

const HUGE = 24 * 1024 * 1024;
let tree: Tree;
let huge: Buffer;
test.before(() => {
  tree = makeTree();
  huge = Buffer.alloc(HUGE);
  for (let i = 0; i < HUGE; i += 4096) huge.writeUInt32LE(i, i);
  fs.writeFileSync(path.join(tree.root, "huge.bin"), huge);
});
test.after.always(() => tree.remove());

/** Resolves once `cond()` holds, checked every 20 ms; rejects after `ms` naming `what`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A client that asks for `target` and does not read: its socket fills up. */
function stalledClient(port: number, target: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.pause();
    s.once("error", reject);
    s.once("connect", () => {
      s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      resolve(s);
    });
  });
}

backendTest("serve faults: 16 clients reset (RST) while their sendfile bodies are blocked: quiet, every send released, serving goes on", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, bodyCache: false }, async ({ handle, base }) => {
    const clients = await Promise.all(Array.from({ length: 16 }, () => stalledClient(handle.port, "/huge.bin")));
    await until(() => handle.stats.sending === 16, 10_000, "16 bodies in flight");
    // The kernel's buffers hold a few MiB at most: every one of the 24 MiB sends is blocked.
    await new Promise((r) => setTimeout(r, 200));
    t.is(handle.stats.sending, 16, "the sends are still in flight when the clients reset");
    const closed = clients.map((s) => new Promise((r) => s.once("close", r)));
    for (const s of clients) s.resetAndDestroy();
    await within(10_000, Promise.all(closed), "clients closed");
    await until(() => handle.stats.sending === 0, 10_000, "every send released after the resets");
    const r = await curl(`${base}/huge.bin`);
    t.is(r.status, 200);
    t.is(sha256(r.body), sha256(huge), "the next download is whole");
  });
});

backendTest("serve faults: the file truncated while its body is blocked mid-sendfile: the response ends short with FIN, quietly; the new size is served next", async (t, { loop }) => {
  const file = path.join(tree.root, "shrinking.bin");
  fs.writeFileSync(file, huge);
  try {
    await withServer(loop, tree.root, { quiet: true, bodyCache: false, cacheValidMs: 0 }, async ({ handle, base }) => {
      const s = await stalledClient(handle.port, "/shrinking.bin");
      await until(() => handle.stats.sending === 1, 10_000, "the body in flight");
      await new Promise((r) => setTimeout(r, 200));
      t.is(handle.stats.sending, 1, "the send is still in flight at the truncation");
      fs.truncateSync(file, 1024 * 1024);
      const got: Buffer[] = [];
      const ended = new Promise<string>((resolve) => {
        s.on("data", (d: Buffer) => got.push(d));
        s.once("end", () => resolve("end"));
        s.once("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
      });
      s.resume();
      t.is(await within(10_000, ended, "the server ends the response"), "end", "closed with FIN, not reset");
      s.destroy();
      const data = Buffer.concat(got);
      const headEnd = data.indexOf("\r\n\r\n");
      t.regex(data.toString("latin1", 0, headEnd), /^HTTP\/1\.1 200 .*\r\nContent-Length: 25165824(\r\n|$)/s);
      const body = data.subarray(headEnd + 4);
      t.true(body.length < HUGE, `short body: ${body.length} of ${HUGE} bytes`);
      const prefix = Math.min(body.length, 1024 * 1024);
      t.true(body.subarray(0, prefix).equals(huge.subarray(0, prefix)), "what was sent within the new size is the file's bytes");
      await until(() => handle.stats.sending === 0, 10_000, "the send released");
      const r = await curl(`${base}/shrinking.bin`);
      t.is(r.status, 200);
      t.is(r.body.length, 1024 * 1024, "the file's new size");
      t.true(r.body.equals(huge.subarray(0, 1024 * 1024)));
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
});
