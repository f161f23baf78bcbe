// What curl cannot send: pipelining, garbage, over-limit heads, request bodies, silent and
// slow clients, resets mid-body, half requests; and graceful shutdown with a response in
// flight. Raw node:net clients against startServe, on both backends.
import * as net from "node:net";
import test from "ava";
import { backendTest } from "../helpers/backends.js";
import { makeTree, curl, withServer, rawExchange, statuses, sha256, BIG, type Tree } from "./_serve.js";

let tree: Tree;
test.before(async () => {
  tree = makeTree();
  const fs = await import("node:fs");
  fs.writeFileSync(`${tree.root}/huge.bin`, HUGE);
});
test.after.always(() => tree.remove());

const H = "Host: x\r\n";

/** Splits a byte stream of responses into {status, headers, body} using Content-Length. */
function responses(data: Buffer, heads: boolean[]): Array<{ status: number; head: string; body: Buffer }> {
  const out = [];
  let pos = 0;
  for (const isHead of heads) {
    const end = data.indexOf("\r\n\r\n", pos);
    if (end < 0) break;
    const head = data.toString("latin1", pos, end);
    const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const bodyLen = isHead ? 0 : len;
    out.push({ status: Number(head.slice(9, 12)), head, body: data.subarray(end + 4, end + 4 + bodyLen) });
    pos = end + 4 + bodyLen;
  }
  if (pos !== data.length) out.push({ status: -1, head: `${data.length - pos} trailing bytes`, body: Buffer.alloc(0) });
  return out;
}

backendTest("serve: pipelined requests in one write are answered in order (HEAD, sendfile body, cached body)", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ handle }) => {
    const reqs = `GET /big.bin HTTP/1.1\r\n${H}\r\nHEAD /small.bin HTTP/1.1\r\n${H}\r\nGET /a.txt HTTP/1.1\r\n${H}\r\nGET /nope HTTP/1.1\r\n${H}\r\nGET /sub/ HTTP/1.1\r\n${H}Connection: close\r\n\r\n`;
    const r = await rawExchange(handle.port, [reqs]);
    t.true(r.closedByServer);
    const res = responses(r.data, [false, true, false, false, false]);
    t.deepEqual(res.map((x) => x.status), [200, 200, 200, 404, 200]);
    t.is(sha256(res[0].body), sha256(tree.files["big.bin"]));
    t.regex(res[1].head, /Content-Length: 4096/);
    t.is(res[2].body.toString(), "hello, ringloop\n");
    t.is(res[4].body.toString(), "<h1>index</h1>\n");
    t.regex(res[4].head, /Connection: close/);
    t.is(handle.stats.requests, 5);
  });
});

backendTest("serve: garbage -> 400, no Host -> 400, long line -> 414, huge headers -> 431, chunked -> 411, big body -> 413", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ handle }) => {
    const cases: Array<[string | Buffer, number]> = [
      [Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]), 400],
      ["hello world\r\n\r\n", 400],
      ["GET /a.txt HTTP/1.1\r\n\r\n", 400],
      [`GET /a.txt HTTP/1.1\r\n${H} Folded: x\r\n\r\n`, 400],
      [`GET /a.txt HTTP/1.1\r\nBad Name: x\r\n${H}\r\n`, 400],
      [`GET /a.txt HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\n`, 400],
      [`GET /a.txt HTTP/2.0\r\n${H}\r\n`, 505],
      [`GET /${"a".repeat(9000)} HTTP/1.1\r\n${H}\r\n`, 414],
      [`GET /a.txt HTTP/1.1\r\n${H}X-Big: ${"b".repeat(20_000)}\r\n\r\n`, 431],
      [`GET /a.txt HTTP/1.1\r\n${H}${"X-Many: 1\r\n".repeat(150)}\r\n`, 431],
      [`GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 411],
      [`GET /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n`, 400],
      [`GET /a.txt HTTP/1.1\r\n${H}Content-Length: 99999999\r\n\r\n`, 413],
    ];
    for (const [req, status] of cases) {
      const r = await rawExchange(handle.port, [req]);
      t.deepEqual(statuses(r.data), [status], String(req).slice(0, 60));
      t.true(r.closedByServer, String(req).slice(0, 60));
    }
    // A head over the limit that never ends is refused as soon as the limit is passed.
    const endless = await rawExchange(handle.port, [`GET /a.txt HTTP/1.1\r\n${H}`, ...Array.from({ length: 40 }, () => `X-Pad: ${"p".repeat(1000)}\r\n`)]);
    t.deepEqual(statuses(endless.data), [431]);
    // A request body (Content-Length) is read and discarded; the next request is answered.
    const withBody = await rawExchange(handle.port, [`GET /a.txt HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nHELLOGET /a.txt HTTP/1.1\r\n${H}Connection: close\r\n\r\n`]);
    t.deepEqual(statuses(withBody.data), [200, 200]);
    // HTTP/1.0 with keep-alive keeps the connection; LF-only heads are accepted.
    const old = await rawExchange(handle.port, [`GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /a.txt HTTP/1.0\n\n`]);
    t.deepEqual(statuses(old.data), [200, 200]);
    t.regex(old.data.toString(), /Connection: keep-alive\r\n[^]*Connection: close\r\n/);
    t.is((await curl(`${handle.url}a.txt`)).status, 200);
  });
});

backendTest("serve: idle keep-alive connections close after idleTimeoutMs; slow heads get 408 after headerTimeoutMs", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, idleTimeoutMs: 200, headerTimeoutMs: 400 }, async ({ handle }) => {
    const silent = await rawExchange(handle.port, [], { untilMs: 5000 });
    t.true(silent.closedByServer);
    t.is(silent.data.length, 0);
    // After a response the idle timer runs again.
    const after = await rawExchange(handle.port, [`GET /a.txt HTTP/1.1\r\n${H}\r\n`], { untilMs: 5000 });
    t.true(after.closedByServer);
    t.deepEqual(statuses(after.data), [200]);
    // Slowloris: a header line every 100 ms never completes the head; the 400 ms header
    // timeout is not extended by them.
    const slow = await rawExchange(handle.port, [`GET /a.txt HTTP/1.1\r\n`, ...Array.from({ length: 60 }, (_, i) => `X-${i}: y\r\n`)], { gapMs: 100, untilMs: 8000 });
    t.true(slow.closedByServer);
    t.deepEqual(statuses(slow.data), [408]);
    t.true(slow.ms < 5000, `closed after ${slow.ms} ms`);
  });
});

backendTest("serve: a client that stops reading is aborted after idleTimeoutMs without write progress", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, idleTimeoutMs: 300 }, async ({ handle }) => {
    const total = 4000 * 4096;
    const got = await new Promise<number>((resolve) => {
      const sock = net.connect(handle.port, "127.0.0.1");
      sock.pause(); // never reads: the server's write buffer fills up
      let bytes = 0;
      sock.on("data", (d) => (bytes += d.length));
      sock.on("error", () => {});
      sock.on("close", () => resolve(bytes));
      sock.write(`GET /small.bin HTTP/1.1\r\n${H}\r\n`.repeat(4000));
      // Long past the 300 ms timeout, read again: the connection must be gone by now
      // (reset), so reading ends before all 4000 responses arrive.
      setTimeout(() => sock.resume(), 2000);
      setTimeout(() => sock.destroy(), 8000);
    });
    const closed = got < total;
    t.true(closed, `the server never aborted a connection that does not read (${got} of ${total} bytes delivered)`);
    t.is((await curl(`${handle.url}a.txt`)).status, 200);
  });
});

backendTest("serve: a sendfile body is aborted after idleTimeoutMs without progress; a slow reader that keeps reading is served", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, idleTimeoutMs: 300 }, async ({ handle }) => {
    const got = await new Promise<number>((resolve) => {
      const sock = net.connect(handle.port, "127.0.0.1");
      sock.pause(); // never reads: the 24 MiB body fills both socket buffers and stalls
      let bytes = 0;
      sock.on("data", (d) => (bytes += d.length));
      sock.on("error", () => {});
      sock.on("close", () => resolve(bytes));
      sock.write(`GET /huge.bin HTTP/1.1\r\n${H}\r\n`);
      setTimeout(() => sock.resume(), 2500);
      setTimeout(() => sock.destroy(), 10000);
    });
    t.true(got < HUGE.length, `the stalled body was not aborted (${got} of ${HUGE.length} bytes delivered)`);
    t.is(handle.stats.sending, 0, "no body send left in flight");
    t.is((await curl(`${handle.url}a.txt`)).status, 200);
  });
  // A slow reader that keeps reading is not aborted: 24 MiB at 10 MB/s take ~2.5 s, longer
  // than the timeout, but the body moves within every window (curl --limit-rate pauses
  // for up to the time its last burst was ahead of the rate: under a second here).
  await withServer(loop, tree.root, { quiet: true, idleTimeoutMs: 1500 }, async ({ handle }) => {
    const slow = await curl(`${handle.url}huge.bin`, ["--limit-rate", "10M"]);
    t.is(slow.status, 200);
    t.is(slow.body.length, HUGE.length, "slow download complete");
    t.is(sha256(slow.body), sha256(HUGE));
  });
});

backendTest("serve: a client reset mid-body and a half request then close leave the server serving", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ handle }) => {
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const sock = net.connect(handle.port, "127.0.0.1");
        let got = 0;
        sock.on("data", (d) => {
          got += d.length;
          if (got > 64 * 1024 && !sock.destroyed) sock.resetAndDestroy();
        });
        sock.on("close", () => resolve());
        sock.on("error", reject);
        sock.write(`GET /big.bin HTTP/1.1\r\n${H}\r\n`);
      });
    }
    const half = await rawExchange(handle.port, ["GET /a.t"], { end: true });
    t.true(half.closedByServer);
    t.is(half.data.length, 0);
    const r = await curl(`${handle.url}big.bin`);
    t.is(sha256(r.body), sha256(tree.files["big.bin"]));
  });
});

const HUGE = Buffer.alloc(24 * 1024 * 1024, 0x5a);

backendTest("serve: close() is graceful: a response in flight finishes, idle connections close, then it resolves", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ handle }) => {
    // 24 MiB at 12 MB/s: more than socket buffers hold, so the body is still being sent.
    const idle = rawExchange(handle.port, [], { untilMs: 5000 });
    const slow = curl(`${handle.url}huge.bin`, ["--limit-rate", "12M"]);
    await new Promise((r) => setTimeout(r, 300));
    t.is(handle.stats.sending, 1, "the response is in flight when close() is called");
    const t0 = Date.now();
    await handle.close();
    t.is(handle.stats.sending, 0);
    const r = await slow;
    t.is(r.status, 200);
    t.is(r.body.length, HUGE.length);
    t.is(sha256(r.body), sha256(HUGE));
    t.true((await idle).closedByServer);
    t.true(Date.now() - t0 < 9000);
    const refused = await curl(`${handle.url}a.txt`);
    t.not(refused.code, 0);
  });
});

backendTest("serve: a file truncated inside the cache window: the response is cut short and its connection closed", async (t, { loop }) => {
  const fs = await import("node:fs");
  const path = await import("node:path");
  const file = path.join(tree.root, "shrinking.bin");
  fs.writeFileSync(file, tree.files["big.bin"]);
  try {
    await withServer(loop, tree.root, { quiet: true, bodyCache: false, cacheValidMs: 60_000 }, async ({ handle }) => {
      t.is((await curl(`${handle.url}shrinking.bin`)).body.length, BIG);
      fs.truncateSync(file, 1000);
      const r = await curl(`${handle.url}shrinking.bin`);
      t.is(r.code, 18, r.stderr); // CURLE_PARTIAL_FILE: fewer bytes than Content-Length, then close
      t.is(r.body.length, 1000);
      t.is(r.headers["content-length"], String(BIG));
      t.is((await curl(`${handle.url}a.txt`)).status, 200);
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
});
