// maxConnections on both backends: at the limit the connection idle longest is closed to
// make room (oldest first), and when every connection is busy a new one is refused at
// once, reported to the loop's exception handler once per episode.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import test from "ava";
import { backendTest } from "../helpers/backends.js";
import { makeTree, curl, withServer, sha256, type Tree } from "./_serve.js";

let tree: Tree;
const HUGE = Buffer.alloc(24 * 1024 * 1024, 0x33);
test.before(() => {
  tree = makeTree();
  fs.writeFileSync(path.join(tree.root, "huge.bin"), HUGE);
});
test.after.always(() => tree.remove());

/** A connected socket that sends nothing; `closed` resolves when the server ends it. */
function idleSocket(port: number): Promise<{ sock: net.Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const closed = new Promise<void>((r) => sock.once("close", () => r()));
    sock.on("end", () => sock.end());
    sock.once("error", reject);
    sock.once("connect", () => resolve({ sock, closed }));
  });
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

backendTest("serve: maxConnections: the connection idle longest (here a kept-alive one) is closed to make room", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, maxConnections: 3 }, async ({ handle }) => {
    t.is(handle.maxConnections, 3);
    // The oldest: answered once, then kept alive and idle.
    const kept = await idleSocket(handle.port);
    const answered = new Promise<void>((r) => kept.sock.once("data", () => r()));
    kept.sock.write("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    await answered;
    const fresh1 = await idleSocket(handle.port);
    await until(() => handle.stats.connections === 2);
    const fresh2 = await idleSocket(handle.port);
    await until(() => handle.stats.connections === 3);
    const r = await curl(`${handle.url}a.txt`);
    t.is(r.status, 200);
    await kept.closed;
    // Only the oldest went.
    t.false(fresh1.sock.destroyed);
    t.false(fresh2.sock.destroyed);
    t.is(handle.stats.refused, 0);
    fresh1.sock.destroy();
    fresh2.sock.destroy();
  });
});

backendTest("serve: maxConnections: with every connection busy a new one is refused, reported once per episode", async (t, { loop, takeExceptions }) => {
  await withServer(loop, tree.root, { quiet: true, maxConnections: 2 }, async ({ handle }) => {
    // Two slow downloads keep both connections busy (24 MiB at 12 MB/s: ~2 s each).
    const slow = [curl(`${handle.url}huge.bin`, ["--limit-rate", "12M"]), curl(`${handle.url}huge.bin`, ["--limit-rate", "12M"])];
    await until(() => handle.stats.sending === 2);
    const refused = await curl(`${handle.url}a.txt`);
    t.not(refused.code, 0, "refused: no answer");
    const again = await curl(`${handle.url}a.txt`);
    t.not(again.code, 0);
    t.is(handle.stats.refused, 2);
    for (const r of await Promise.all(slow)) t.is(sha256(r.body), sha256(HUGE));
    const reports = takeExceptions();
    t.is(reports.length, 1, "one report for the episode");
    t.regex(reports[0].message ?? "", /2 connections open \(maxConnections\) and none idle: refusing new connections/);
    // Room again: served, and the episode is over.
    t.is((await curl(`${handle.url}a.txt`)).status, 200);
  });
});
