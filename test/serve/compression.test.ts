// Content codings on both backends, with curl as the client: precompressed siblings
// (file.br / file.gz, as nginx's brotli_static / gzip_static: fresh ones only, from memory
// or by sendfile) and on-the-fly compression (compress: compressible types within the size
// bounds, cached), negotiated by Accept-Encoding with Vary: Accept-Encoding.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import test from "ava";
import { backendTest } from "../helpers/backends.js";
import { makeTree, curl, withServer, sha256, type Tree } from "./_serve.js";

let tree: Tree;
/** Text files: small (memory cache), large (its siblings go by sendfile). */
const SMALL_JS = Buffer.from("export const x = 1;\n".repeat(200));
const LARGE_TXT = Buffer.from(crypto.randomBytes(300_000).toString("base64"));
const br = (b: Buffer): Buffer => zlib.brotliCompressSync(b);
const gz = (b: Buffer): Buffer => zlib.gzipSync(b);

test.before(() => {
  tree = makeTree();
  const w = (name: string, data: Buffer): void => fs.writeFileSync(path.join(tree.root, name), data);
  w("app.js", SMALL_JS);
  w("app.js.br", br(SMALL_JS));
  w("app.js.gz", gz(SMALL_JS));
  w("large.txt", LARGE_TXT);
  w("large.txt.br", br(LARGE_TXT));
  w("only-gz.css", Buffer.from("a{}\n".repeat(100)));
  w("only-gz.css.gz", gz(Buffer.from("a{}\n".repeat(100))));
  // A sibling older than its file is stale: never served.
  w("stale.js", Buffer.from("new();\n".repeat(100)));
  w("stale.js.br", br(Buffer.from("old();\n".repeat(100))));
  const past = new Date(Date.now() - 3600_000);
  fs.utimesSync(path.join(tree.root, "stale.js.br"), past, past);
  w("page.html", Buffer.from("<p>hello</p>\n".repeat(500)));
  w("tiny.txt", Buffer.from("tiny\n"));
});
test.after.always(() => tree.remove());

const AE = (v: string): string[] => ["-H", `Accept-Encoding: ${v}`];

backendTest("serve: precompressed siblings by Accept-Encoding (br before gzip, q-values), Vary on every answer, stale siblings ignored", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true }, async ({ base }) => {
    const b = await curl(`${base}/app.js`, AE("gzip, br"));
    t.is(b.status, 200);
    t.is(b.headers["content-encoding"], "br");
    t.is(b.headers["vary"], "Accept-Encoding");
    t.is(b.headers["content-type"], "text/javascript; charset=utf-8");
    t.true(b.body.equals(fs.readFileSync(path.join(tree.root, "app.js.br"))));
    const g = await curl(`${base}/app.js`, AE("gzip;q=1, br;q=0.5"));
    t.is(g.headers["content-encoding"], "gzip");
    t.true(g.body.equals(fs.readFileSync(path.join(tree.root, "app.js.gz"))));
    t.not(g.headers["etag"], b.headers["etag"]);
    // curl --compressed decodes it: the bytes of the file.
    const decoded = await curl(`${base}/app.js`, ["--compressed"]);
    t.truthy(decoded.headers["content-encoding"]);
    t.true(decoded.body.equals(SMALL_JS));
    const plain = await curl(`${base}/app.js`);
    t.false("content-encoding" in plain.headers);
    t.is(plain.headers["vary"], "Accept-Encoding", "the identity answer varies too");
    t.true(plain.body.equals(SMALL_JS));
    t.false("content-encoding" in (await curl(`${base}/app.js`, AE("br;q=0, gzip;q=0"))).headers);
    t.is((await curl(`${base}/app.js`, AE("*"))).headers["content-encoding"], "br");
    t.is((await curl(`${base}/only-gz.css`, AE("br, gzip"))).headers["content-encoding"], "gzip");
    t.false("content-encoding" in (await curl(`${base}/only-gz.css`, AE("br"))).headers);
    // A sibling larger than the memory cache goes by sendfile.
    const large = await curl(`${base}/large.txt`, ["--compressed"]);
    t.is(large.headers["content-encoding"], "br");
    t.is(sha256(large.body), sha256(LARGE_TXT));
    const stale = await curl(`${base}/stale.js`, ["--compressed"]);
    t.false("content-encoding" in stale.headers);
    t.is(stale.body.toString(), "new();\n".repeat(100));
    t.false("vary" in stale.headers);
    // Revalidation against the coded answer's own ETag; HEAD has the coded length.
    const nm = await curl(`${base}/app.js`, [...AE("br"), "-H", `If-None-Match: ${b.headers["etag"]}`]);
    t.is(nm.status, 304);
    t.is(nm.headers["vary"], "Accept-Encoding");
    const head = await curl(`${base}/app.js`, [...AE("br"), "-I"]);
    t.is(head.headers["content-length"], String(b.body.length));
    // A range is served from the file itself.
    const ranged = await curl(`${base}/app.js`, [...AE("br"), "-r", "0-5"]);
    t.is(ranged.status, 206);
    t.false("content-encoding" in ranged.headers);
    t.is(ranged.body.toString(), "export");
  });
  await withServer(loop, tree.root, { quiet: true, precompressed: false }, async ({ base }) => {
    const r = await curl(`${base}/app.js`, AE("br, gzip"));
    t.false("content-encoding" in r.headers);
    t.false("vary" in r.headers);
  });
});

backendTest("serve: compress: compressible files compressed on the fly (cached), others, tiny and too-large ones sent as they are", async (t, { loop }) => {
  await withServer(loop, tree.root, { quiet: true, compress: true, compressMaxBytes: 9000, precompressed: false }, async ({ base }) => {
    const html = fs.readFileSync(path.join(tree.root, "page.html"));
    const r = await curl(`${base}/page.html`, AE("br"));
    t.is(r.status, 200);
    t.is(r.headers["content-encoding"], "br");
    t.is(r.headers["vary"], "Accept-Encoding");
    t.regex(r.headers["etag"], /-br"$/);
    t.true(r.body.length < html.length / 4);
    t.true(zlib.brotliDecompressSync(r.body).equals(html));
    const again = await curl(`${base}/page.html`, AE("br"));
    t.true(again.body.equals(r.body), "the same cached body");
    const g = await curl(`${base}/page.html`, ["--compressed", ...AE("gzip")]);
    t.is(g.headers["content-encoding"], "gzip");
    t.regex(g.headers["etag"], /-gz"$/);
    t.true(g.body.equals(html));
    const head = await curl(`${base}/page.html`, [...AE("br"), "-I"]);
    t.is(head.headers["content-length"], String(r.body.length));
    const nm = await curl(`${base}/page.html`, [...AE("br"), "-H", `If-None-Match: ${r.headers["etag"]}`]);
    t.is(nm.status, 304);
    // Pipelined requests waiting on the same compression all get it, in order.
    const many = await Promise.all(Array.from({ length: 5 }, () => curl(`${base}/app.js`, AE("gzip"))));
    for (const m of many) t.true(zlib.gunzipSync(m.body).equals(SMALL_JS));
    t.false("content-encoding" in (await curl(`${base}/small.bin`, AE("br"))).headers, "not a compressible type");
    t.false("content-encoding" in (await curl(`${base}/tiny.txt`, AE("br"))).headers, "too small to gain");
    const large = await curl(`${base}/large.txt`, AE("br"));
    t.false("content-encoding" in large.headers, "over compressMaxBytes");
    t.is(sha256(large.body), sha256(LARGE_TXT));
    const ranged = await curl(`${base}/page.html`, [...AE("br"), "-r", "0-2"]);
    t.is(ranged.status, 206);
    t.is(ranged.body.toString(), "<p>");
  });
});
