// `startServe` answered by the real curl: bodies by hash (memory cache and sendfile),
// HEAD, ranges, conditionals, index/redirect/404/405, traversal and symlink rules,
// keep-alive reuse and the access log. Every test runs on both backends.
import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { backendTest } from "../helpers/backends.js";
import { makeTree, curl, run, withServer, sha256, BIG, type Tree } from "./_serve.js";

let tree: Tree;
test.before(() => {
  tree = makeTree();
});
test.after.always(() => tree.remove());

backendTest("serve: GET bodies by hash (memory cache and sendfile), headers, access log", async (t, { loop }) => {
  await withServer(loop, tree.root, {}, async ({ base, log }) => {
    for (const name of ["a.txt", "small.bin", "big.bin"]) {
      const r = await curl(`${base}/${name}`);
      t.is(r.status, 200, name);
      t.is(r.body.length, tree.files[name].length, name);
      t.is(sha256(r.body), sha256(tree.files[name]), name);
      t.is(r.headers["content-length"], String(tree.files[name].length));
      t.is(r.headers["accept-ranges"], "bytes");
      t.regex(r.headers["etag"], /^"[0-9a-f]+-[0-9a-f]+"$/);
      t.is(r.headers["last-modified"], new Date(Math.floor(fs.statSync(path.join(tree.root, name)).mtimeMs / 1000) * 1000).toUTCString());
      t.truthy(r.headers["date"]);
    }
    t.is((await curl(`${base}/a.txt`)).headers["content-type"], "text/plain; charset=utf-8");
    t.is((await curl(`${base}/small.bin`)).headers["content-type"], "application/octet-stream");
    const css = await curl(`${base}/sp%20ace.css`);
    t.is(css.status, 200);
    t.is(css.headers["content-type"], "text/css; charset=utf-8");
    // From mime-db (the mime-types package), by a case-insensitive extension.
    t.is((await curl(`${base}/book.EPUB`)).headers["content-type"], "application/epub+zip");
    await new Promise((r) => setTimeout(r, 120)); // the log flushes on a timer
    t.regex(log[0], /^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/a\.txt HTTP\/1\.1" 200 16$/);
    t.true(log.some((l) => l.endsWith(`"GET /big.bin HTTP/1.1" 200 ${BIG}`)), log.join("\n"));
  });
});

backendTest("serve: bodies by sendfile only (memory cache off), HEAD has headers and no body", async (t, { loop }) => {
  await withServer(loop, tree.root, { bodyCache: false, quiet: true }, async ({ base, log }) => {
    for (const name of ["a.txt", "small.bin", "big.bin"]) {
      const r = await curl(`${base}/${name}`);
      t.is(sha256(r.body), sha256(tree.files[name]), name);
      const h = await curl(`${base}/${name}`, ["-I"]);
      t.is(h.status, 200);
      t.is(h.headers["content-length"], String(tree.files[name].length));
      // curl -I writes the head to the output file: nothing may follow it.
      t.regex(h.body.toString("latin1"), /^HTTP\/1\.1 200 OK\r\n[^]*?\r\n\r\n$/);
    }
    t.deepEqual(log, []);
  });
});

backendTest("serve: Range 206 (a-b, a-, -n), 416 with bytes */size, overlapping ranges -> 200, If-Range", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ base }) => {
    const big = tree.files["big.bin"];
    for (const [range, start, end] of [["100-199", 100, 199], ["1048576-", 1048576, BIG - 1], ["-1000", BIG - 1000, BIG - 1], ["0-99999999", 0, BIG - 1]] as const) {
      const r = await curl(`${base}/big.bin`, ["-r", range]);
      t.is(r.status, 206, range);
      t.is(r.headers["content-range"], `bytes ${start}-${end}/${BIG}`);
      t.is(sha256(r.body), sha256(big.subarray(start, end + 1)), range);
    }
    const small = await curl(`${base}/a.txt`, ["-r", "7-14"]);
    t.is(small.status, 206);
    t.is(small.body.toString(), "ringloop");
    const bad = await curl(`${base}/a.txt`, ["-r", "100-200"]);
    t.is(bad.status, 416);
    t.is(bad.headers["content-range"], "bytes */16");
    const overlapping = await curl(`${base}/a.txt`, ["-r", "0-4,3-6"]);
    t.is(overlapping.status, 200);
    t.is(overlapping.body.toString(), tree.files["a.txt"].toString());
    const etag = (await curl(`${base}/a.txt`, ["-I"])).headers["etag"];
    t.is((await curl(`${base}/a.txt`, ["-r", "0-4", "-H", `If-Range: ${etag}`])).status, 206);
    t.is((await curl(`${base}/a.txt`, ["-r", "0-4", "-H", 'If-Range: "other"'])).status, 200);
  });
});

backendTest("serve: If-None-Match and If-Modified-Since give 304; a changed file gives 200 again", async (t, { loop }) => {
  const file = path.join(tree.root, "changing.txt");
  fs.writeFileSync(file, "one\n");
  try {
    await withServer(loop, tree.root, { quiet: true, cacheValidMs: 1 }, async ({ base }) => {
      const first = await curl(`${base}/changing.txt`);
      const etag = first.headers["etag"];
      const lm = first.headers["last-modified"];
      const inm = await curl(`${base}/changing.txt`, ["-H", `If-None-Match: ${etag}`]);
      t.is(inm.status, 304);
      t.is(inm.body.length, 0);
      t.is(inm.headers["etag"], etag);
      t.is((await curl(`${base}/changing.txt`, ["-H", `If-None-Match: "x", W/${etag}`])).status, 304);
      t.is((await curl(`${base}/changing.txt`, ["-H", "If-None-Match: *"])).status, 304);
      t.is((await curl(`${base}/changing.txt`, ["-H", `If-Modified-Since: ${lm}`])).status, 304);
      t.is((await curl(`${base}/changing.txt`, ["-H", "If-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT"])).status, 200);
      // If-None-Match wins over If-Modified-Since.
      t.is((await curl(`${base}/changing.txt`, ["-H", 'If-None-Match: "nope"', "-H", `If-Modified-Since: ${lm}`])).status, 200);
      fs.writeFileSync(file, "two, longer\n");
      fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
      await new Promise((r) => setTimeout(r, 20));
      const changed = await curl(`${base}/changing.txt`, ["-H", `If-None-Match: ${etag}`]);
      t.is(changed.status, 200);
      t.is(changed.body.toString(), "two, longer\n");
      t.not(changed.headers["etag"], etag);
    });
  } finally {
    fs.rmSync(file);
  }
});

backendTest("serve: index.html, 301 for a directory without slash, 404, 405 with Allow", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ base }) => {
    const index = await curl(`${base}/sub/`);
    t.is(index.status, 200);
    t.is(index.body.toString(), "<h1>index</h1>\n");
    t.is(index.headers["content-type"], "text/html; charset=utf-8");
    const redirect = await curl(`${base}/sub?x=1`);
    t.is(redirect.status, 301);
    t.is(redirect.headers["location"], "/sub/?x=1");
    const followed = await curl(`${base}/sub`, ["-L"]);
    t.is(followed.body.toString(), "<h1>index</h1>\n");
    t.is((await curl(`${base}/missing.txt`)).status, 404);
    t.is((await curl(`${base}/a.txt/`)).status, 404);
    t.is((await curl(`${base}/noindex/`)).status, 404);
    const post = await curl(`${base}/a.txt`, ["-X", "POST", "-d", "x=1"]);
    t.is(post.status, 405);
    t.is(post.headers["allow"], "GET, HEAD");
    t.is((await curl(`${base}/a.txt`, ["-X", "DELETE"])).status, 405);
  });
});

backendTest("serve: traversal (/../, %2e%2e, ..%2f) and symlinks leading outside are 403; a symlink inside is served", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ base }) => {
    for (const p of ["/../outside/secret.txt", "/sub/../../outside/secret.txt", "/%2e%2e/outside/secret.txt", "/..%2foutside%2fsecret.txt", "/sub/%2E%2E/%2e%2e/outside/secret.txt"]) {
      const r = await curl(`${base}${p}`, ["--path-as-is"]);
      t.is(r.status, 403, p);
      t.false(r.body.toString().includes("secret"), p);
    }
    // ".." that stays inside the root is resolved, as nginx does.
    t.is((await curl(`${base}/sub/../a.txt`, ["--path-as-is"])).body.toString(), "hello, ringloop\n");
    const escape = await curl(`${base}/escape.txt`);
    t.is(escape.status, 403);
    t.false(escape.body.toString().includes("secret"));
    t.is((await curl(`${base}/escapedir/secret.txt`)).status, 403);
    const inside = await curl(`${base}/inside-link.txt`);
    t.is(inside.status, 200);
    t.is(inside.body.toString(), "hello, ringloop\n");
    t.is((await curl(`${base}/a%00.txt`)).status, 400);
    t.is((await curl(`${base}/%zz`)).status, 400);
  });
});

backendTest("serve: keep-alive: curl reuses one connection for two URLs", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ base, handle }) => {
    const r = await run("curl", ["-sv", "--max-time", "10", "-o", "/dev/null", "-o", "/dev/null", `${base}/a.txt`, `${base}/big.bin`]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stderr, /Re-using existing connection/);
    t.is(handle.stats.connections, 1);
    t.is(handle.stats.requests, 2);
    // HTTP/1.0 without keep-alive: the server closes after the response.
    const old = await run("curl", ["-sv", "--http1.0", "--max-time", "10", "-o", "/dev/null", "-o", "/dev/null", `${base}/a.txt`, `${base}/a.txt`]);
    t.is(old.code, 0, old.stderr);
    t.is(handle.stats.connections, 3);
  });
});

backendTest("serve: IPv6 host: bracketed URL, served, logged with the v6 peer", async (t, { loop }) => {
  await withServer(loop, tree.root, { host: "::1" }, async ({ handle, log }) => {
    t.regex(handle.url, /^http:\/\/\[::1\]:\d+\/$/);
    const r = await curl(`${handle.url}a.txt`, ["-g"]);
    t.is(r.body.toString(), "hello, ringloop\n");
    await new Promise((res) => setTimeout(res, 120));
    t.regex(log[0] ?? "", /^::1 - - \[/);
  });
});
