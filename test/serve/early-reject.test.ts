// Connections that will never send a request are let go early: a silent new connection
// after the header timeout (not the idle timeout), bytes that cannot start an HTTP request
// line and a TLS ClientHello (openssl s_client) at once. The timeouts the server must NOT
// wait for are far longer than the clients' own limits, so a server that waits fails the
// test instead of passing late.
import test from "ava";
import { backendTest } from "../helpers/backends.js";
import { makeTree, withServer, rawExchange, statuses, run, type Tree } from "./_serve.js";

let tree: Tree;
test.before(() => {
  tree = makeTree();
});
test.after.always(() => tree.remove());

const TEN_MINUTES = 600_000;
const H = "Host: x\r\n";

backendTest("serve: a new connection that sends nothing is closed after headerTimeoutMs (idle timeout far longer), without a 408", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, idleTimeoutMs: TEN_MINUTES, headerTimeoutMs: 300 }, async ({ handle }) => {
    const silent = await rawExchange(handle.port, [], { untilMs: 30_000 });
    t.true(silent.closedByServer, "the silent connection was held past the header timeout");
    t.is(silent.data.length, 0);
    // A first request that starts but never ends gets its 408 within the same window.
    const partial = await rawExchange(handle.port, ["GET /a.txt HTTP/1.1\r\n"], { untilMs: 30_000 });
    t.deepEqual(statuses(partial.data), [408]);
    // After a response, the wait for the next request is the (long) idle timeout again:
    // the client's own limit ends it, not the server.
    const kept = await rawExchange(handle.port, [`GET /a.txt HTTP/1.1\r\n${H}\r\n`], { untilMs: 1500 });
    t.deepEqual(statuses(kept.data), [200]);
    t.false(kept.closedByServer);
  });
});

backendTest("serve: bytes that cannot begin a request line get 400 at once, not at the header timeout", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, headerTimeoutMs: TEN_MINUTES }, async ({ handle }) => {
    const cases: Array<string | Buffer> = [
      Buffer.from([0x00, 0x01, 0xff, 0x7f]),
      "hello world foo",
      "GET /a.txt HTTP/1.1x",
      "GET /a.txt HTTP/1\r\n",
      " GET /a.txt",
      "GET\t/a.txt",
    ];
    for (const c of cases) {
      const r = await rawExchange(handle.port, [c], { untilMs: 30_000 });
      t.deepEqual(statuses(r.data), [400], JSON.stringify(String(c)));
      t.true(r.closedByServer);
    }
    // Prefixes of a valid request line are waited for, then served.
    const slow = await rawExchange(handle.port, ["GE", "T /a.t", "xt HTTP/1", ".1\r\n", `${H}Connection: close\r\n\r\n`], { gapMs: 30, untilMs: 30_000 });
    t.deepEqual(statuses(slow.data), [200]);
  });
});

backendTest("serve: a TLS ClientHello (openssl s_client) gets a plain-HTTP 400 at once", async (t, { loop }) => {
  await withServer(loop, tree.root, { headerTimeoutMs: TEN_MINUTES }, async ({ handle, log }) => {
    const r = await run("openssl", ["s_client", "-connect", `127.0.0.1:${handle.port}`, "-servername", "localhost", "-debug"], 30_000);
    t.not(r.code, 0);
    t.regex(r.stderr + r.stdout.toString(), /wrong version number|packet length too long|record layer failure/);
    // -debug dumps what the server sent: the start of an HTTP response.
    t.regex(r.stdout.toString(), /48 54 54 50 2f/);
    // A raw ClientHello-shaped record shows the body a person would read.
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
    const raw = await rawExchange(handle.port, [hello], { untilMs: 30_000 });
    t.deepEqual(statuses(raw.data), [400]);
    t.regex(raw.data.toString("latin1"), /plain HTTP server: use http:\/\/, not https:\/\//);
    await new Promise((res) => setTimeout(res, 120)); // the access log flushes on a timer
    t.is(log.filter((l) => l.endsWith('"- - -" 400 72')).length, 2, log.join("\n"));
  });
});
