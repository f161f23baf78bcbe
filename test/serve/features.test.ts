// What users of nginx / serve-static / http-server reach for, answered by the real curl on
// both backends: dotfiles modes, multiple ranges (multipart/byteranges), Cache-Control,
// CORS (and its preflight), custom headers, directory listings (HTML and JSON) and the
// single-page-app fallback.
import * as fs from "node:fs";
import * as path from "node:path";
import test from "ava";
import { backendTest } from "../helpers/backends.js";
import { makeTree, curl, withServer, sha256, multipartParts, BIG, type Tree } from "./_serve.js";

let tree: Tree;
test.before(() => {
  tree = makeTree();
  const add = (name: string, data: string): void => {
    fs.mkdirSync(path.dirname(path.join(tree.root, name)), { recursive: true });
    fs.writeFileSync(path.join(tree.root, name), data);
  };
  add(".env", "SECRET=1\n");
  add(".git/config", "[core]\n");
  add("sub/.hidden", "hidden\n");
  add(".well-known/security.txt", "Contact: mailto:a@b\n");
  add(".well-known/.private", "no\n");
  add("index.html", "<h1>app</h1>\n");
  add("list/b.txt", "bb\n");
  add("list/a <&\"'>.txt", "a\n");
  add("list/zdir/x.txt", "x\n");
  add("list/.dot", "d\n");
  fs.symlinkSync(tree.outside, path.join(tree.root, "list", "outside-link"));
});
test.after.always(() => tree.remove());

backendTest("serve: dotfiles: ignore (default) is 404, deny 403, allow serves; /.well-known/ is served", async (t, { loop }) => {
  const hidden = ["/.env", "/.git/config", "/.git/", "/.git", "/sub/.hidden", "/%2eenv", "/.well-known/.private"];
  await withServer(loop, tree.root, { quiet: true }, async ({ base }) => {
    for (const p of hidden) {
      const r = await curl(`${base}${p}`);
      t.is(r.status, 404, p);
      t.false(r.body.toString().includes("SECRET"), p);
    }
    const wk = await curl(`${base}/.well-known/security.txt`);
    t.is(wk.status, 200);
    t.is(wk.body.toString(), "Contact: mailto:a@b\n");
  });
  await withServer(loop, tree.root, { quiet: true, dotfiles: "deny" }, async ({ base }) => {
    for (const p of hidden) t.is((await curl(`${base}${p}`)).status, 403, p);
    t.is((await curl(`${base}/.well-known/security.txt`)).status, 200);
  });
  await withServer(loop, tree.root, { quiet: true, dotfiles: "allow" }, async ({ base }) => {
    const env = await curl(`${base}/.env`);
    t.is(env.status, 200);
    t.is(env.body.toString(), "SECRET=1\n");
    t.is((await curl(`${base}/sub/.hidden`)).body.toString(), "hidden\n");
  });
});

backendTest("serve: several ranges -> 206 multipart/byteranges, from memory and by sendfile; HEAD has the length only", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ base }) => {
    const small = await curl(`${base}/a.txt`, ["-r", "7-14,0-4"]);
    t.is(small.status, 206);
    t.regex(small.headers["content-type"], /^multipart\/byteranges; boundary=\S+$/);
    t.is(Number(small.headers["content-length"]), small.body.length);
    const parts = multipartParts(small.headers["content-type"], small.body);
    t.deepEqual(parts.map((p) => [p.range, p.type, p.data.toString()]), [
      ["bytes 7-14/16", "text/plain; charset=utf-8", "ringloop"],
      ["bytes 0-4/16", "text/plain; charset=utf-8", "hello"],
    ]);
    const big = tree.files["big.bin"];
    const ranges: Array<[number, number]> = [[0, 99], [1_000_000, 2_999_999], [BIG - 10, BIG - 1]];
    const r = await curl(`${base}/big.bin`, ["-r", ranges.map(([a, b]) => `${a}-${b}`).join(",")]);
    t.is(r.status, 206);
    t.is(Number(r.headers["content-length"]), r.body.length);
    const got = multipartParts(r.headers["content-type"], r.body);
    t.is(got.length, 3);
    for (let i = 0; i < 3; i++) {
      const [a, b] = ranges[i];
      t.is(got[i].range, `bytes ${a}-${b}/${BIG}`);
      t.is(sha256(got[i].data), sha256(big.subarray(a, b + 1)));
    }
    const h = await curl(`${base}/big.bin`, ["-I", "-r", "0-1,5-6"]);
    t.is(h.status, 206);
    t.is(h.headers["content-length"], String(4 + multipartOverheadFor(h.headers["content-type"], [`bytes 0-1/${BIG}`, `bytes 5-6/${BIG}`])));
    // Overlapping ranges and more than the cap get the whole file.
    t.is((await curl(`${base}/a.txt`, ["-r", "0-5,5-9"])).status, 200);
    const tooMany = Array.from({ length: 40 }, (_, i) => `${i * 2}-${i * 2}`).join(",");
    const whole = await curl(`${base}/big.bin`, ["-r", tooMany]);
    t.is(whole.status, 200);
    t.is(whole.body.length, BIG);
  });
});

/** The framing bytes a multipart body with these Content-Range values has, for a boundary from `contentType`. */
function multipartOverheadFor(contentType: string, ranges: string[]): number {
  const boundary = /boundary=(\S+)/.exec(contentType)![1];
  return ranges.reduce((n, r, i) => n + (i === 0 ? 0 : 2) + `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: ${r}\r\n\r\n`.length, `\r\n--${boundary}--\r\n`.length);
}

backendTest("serve: Cache-Control (cacheControl / maxAge) on file responses and 304, not on errors", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, maxAge: 3600 }, async ({ base }) => {
    const r = await curl(`${base}/a.txt`);
    t.is(r.headers["cache-control"], "public, max-age=3600");
    t.is((await curl(`${base}/big.bin`, ["-r", "0-9"])).headers["cache-control"], "public, max-age=3600");
    const nm = await curl(`${base}/a.txt`, ["-H", `If-None-Match: ${r.headers["etag"]}`]);
    t.is(nm.status, 304);
    t.is(nm.headers["cache-control"], "public, max-age=3600");
    t.false("cache-control" in (await curl(`${base}/missing`)).headers);
  });
  await withServer(loop, tree.root, { quiet: true, cacheControl: "no-cache, must-revalidate" }, async ({ base }) => {
    t.is((await curl(`${base}/a.txt`)).headers["cache-control"], "no-cache, must-revalidate");
  });
});

backendTest("serve: cors: Access-Control-Allow-Origin on every response, preflight OPTIONS 204; without cors OPTIONS is 405", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, cors: true }, async ({ base }) => {
    const r = await curl(`${base}/a.txt`, ["-H", "Origin: https://example.com"]);
    t.is(r.status, 200);
    t.is(r.headers["access-control-allow-origin"], "*");
    t.regex(r.headers["access-control-expose-headers"], /ETag/);
    t.is((await curl(`${base}/missing`)).headers["access-control-allow-origin"], "*");
    const pre = await curl(`${base}/a.txt`, ["-X", "OPTIONS", "-H", "Origin: https://example.com", "-H", "Access-Control-Request-Method: GET", "-H", "Access-Control-Request-Headers: range, x-custom"]);
    t.is(pre.status, 204);
    t.is(pre.body.length, 0);
    t.is(pre.headers["access-control-allow-origin"], "*");
    t.is(pre.headers["access-control-allow-methods"], "GET, HEAD, OPTIONS");
    t.is(pre.headers["access-control-allow-headers"], "range, x-custom");
    t.is(pre.headers["access-control-max-age"], "86400");
    const post = await curl(`${base}/a.txt`, ["-X", "POST", "-d", "x"]);
    t.is(post.status, 405);
    t.is(post.headers["allow"], "GET, HEAD, OPTIONS");
  });
  await withServer(loop, tree.root, { quiet: true }, async ({ base }) => {
    const r = await curl(`${base}/a.txt`);
    t.false("access-control-allow-origin" in r.headers);
    t.is((await curl(`${base}/a.txt`, ["-X", "OPTIONS"])).status, 405);
  });
});

backendTest("serve: custom headers on every response; fields the server writes are refused", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, headers: [["X-Frame-Options", "DENY"], ["Link", "</a.txt>; rel=preload"], ["Link", "</b>; rel=next"]] }, async ({ base }) => {
    for (const p of ["/a.txt", "/big.bin", "/missing", "/sub"]) {
      const r = await curl(`${base}${p}`);
      t.is(r.headers["x-frame-options"], "DENY", p);
    }
    const raw = await curl(`${base}/a.txt`, ["-I"]);
    t.regex(raw.body.toString("latin1"), /Link: <\/a\.txt>; rel=preload\r\nLink: <\/b>; rel=next\r\n/);
  });
  await t.throwsAsync(() => withServer(loop, tree.root, { headers: { "Content-Length": "1" } }, async () => {}), { instanceOf: RangeError, message: /options\.headers.*Content-Length/ });
  await t.throwsAsync(() => withServer(loop, tree.root, { headers: { "X-A": "a\r\nInjected: 1" } }, async () => {}), { instanceOf: RangeError, message: /options\.headers/ });
  await t.throwsAsync(() => withServer(loop, tree.root, { headers: { "Cache-Control": "x" } }, async () => {}), { instanceOf: RangeError, message: /cacheControl/ });
});

backendTest("serve: list: HTML and JSON listings, escaped, sorted, dotfiles and links outside the root left out; off by default", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ base }) => {
    t.is((await curl(`${base}/list/`)).status, 404);
  });
  await withServer(loop, tree.root, { quiet: true, list: true }, async ({ base }) => {
    const html = await curl(`${base}/list/`);
    t.is(html.status, 200);
    t.is(html.headers["content-type"], "text/html; charset=utf-8");
    const page = html.body.toString();
    t.true(page.includes(`<a href="a%20%3C%26%22'%3E.txt">a &lt;&amp;&quot;&#39;&gt;.txt</a>`), page);
    t.false(page.includes("<&"), "names are escaped");
    t.false(page.includes(".dot"));
    t.false(page.includes("outside-link"));
    const order = ["zdir/", "a &lt;", "b.txt"].map((s) => page.indexOf(s));
    t.deepEqual([...order].sort((a, b) => a - b), order, "directories first, then by name");
    t.true(order[0] > 0);
    const json = await curl(`${base}/list/`, ["-H", "Accept: application/json"]);
    t.is(json.headers["content-type"], "application/json; charset=utf-8");
    const entries = JSON.parse(json.body.toString()) as Array<{ name: string; type: string; size: number }>;
    t.deepEqual(entries.map((e) => [e.name, e.type, e.size]), [["zdir", "directory", 0], ["a <&\"'>.txt", "file", 2], ["b.txt", "file", 3]]);
    // A link from the listing works.
    t.is((await curl(`${base}/list/a%20%3C%26%22'%3E.txt`)).body.toString(), "a\n");
    const root = JSON.parse((await curl(`${base}/noindex/`, ["-H", "Accept: application/json"])).body.toString());
    t.deepEqual(root, []);
    const top = (await curl(`${base}/.well-known/`, ["-H", "Accept: application/json"])).body.toString();
    t.deepEqual(JSON.parse(top).map((e: { name: string }) => e.name), ["security.txt"]);
    t.is((await curl(`${base}/list/`, ["-I"])).status, 200);
  });
  await withServer(loop, tree.root, { quiet: true, list: true, dotfiles: "allow" }, async ({ base }) => {
    const names = JSON.parse((await curl(`${base}/list/`, ["-H", "Accept: application/json"])).body.toString()).map((e: { name: string }) => e.name);
    t.true(names.includes(".dot"));
  });
});

backendTest("serve: spa: a missing path without an extension gets /index.html; one with an extension stays 404", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, spa: true }, async ({ base }) => {
    for (const p of ["/app/route", "/deep/nested/path", "/users/42/"]) {
      const r = await curl(`${base}${p}`);
      t.is(r.status, 200, p);
      t.is(r.body.toString(), "<h1>app</h1>\n", p);
      t.is(r.headers["content-type"], "text/html; charset=utf-8");
    }
    t.is((await curl(`${base}/missing.js`)).status, 404);
    t.is((await curl(`${base}/a.txt`)).body.toString(), "hello, ringloop\n");
    t.is((await curl(`${base}/sub/`)).body.toString(), "<h1>index</h1>\n");
    t.is((await curl(`${base}/.git/config`)).body.toString(), "<h1>app</h1>\n", "an ignored dotfile is as if missing");
  });
  await withServer(loop, tree.root, { quiet: true, spa: true, dotfiles: "deny" }, async ({ base }) => {
    t.is((await curl(`${base}/.git/config`)).status, 403);
  });
  await withServer(loop, tree.root, { quiet: true }, async ({ base }) => {
    t.is((await curl(`${base}/app/route`)).status, 404);
  });
});
