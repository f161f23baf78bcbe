// The pure parts of the server: the request parser fed byte by byte and in one piece,
// target normalisation, ranges and conditionals, the open-file cache's fd ownership.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import test from "ava";
import { RequestParser, type Request } from "../../src/serve/http-parser.js";
import { targetPath, hiddenPath } from "../../src/serve/resolve.js";
import { pickEncoding, compressibleType } from "../../src/serve/encoding.js";
import { parseRanges, notModified, multipartLayout, MAX_RANGES } from "../../src/serve/response.js";
import { FileCache, type FileEntry } from "../../src/serve/file-cache.js";
import { resolveOptions } from "../../src/serve/options.js";
import { fdBudget, openFileLimit } from "../../src/serve/fd-budget.js";
import { AccessLog } from "../../src/serve/access-log.js";
import { openFds } from "../helpers/backends.js";

const LIMITS = { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100, maxBodyBytes: 65536 };

test("parser: the same requests whether the bytes arrive at once or one by one", (t) => {
  const stream = Buffer.from(
    "\r\nGET /a?x=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nIf-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n\r\n" +
      "HEAD /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
      "POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody" +
      "GET /d HTTP/1.1\nHost: h\nConnection: close\n\n",
  );
  const whole: Request[] = [];
  new RequestParser(LIMITS).feed(stream, whole);
  const bytewise: Request[] = [];
  const p = new RequestParser(LIMITS);
  for (let i = 0; i < stream.length; i++) p.feed(stream.subarray(i, i + 1), bytewise);
  t.deepEqual(bytewise, whole);
  t.false(p.hasPartial());
  t.deepEqual(whole.map((r) => [r.method, r.target, r.version, r.keepAlive, r.error]), [
    ["GET", "/a?x=1", "HTTP/1.1", true, 0],
    ["HEAD", "/b", "HTTP/1.0", true, 0],
    ["POST", "/c", "HTTP/1.1", true, 0],
    ["GET", "/d", "HTTP/1.1", false, 0],
  ]);
  t.is(whole[0].range, "bytes=0-1");
  t.is(whole[0].ifNoneMatch, '"a", "b"');
});

test("parser: an error ends parsing; what came before it is kept", (t) => {
  const out: Request[] = [];
  const p = new RequestParser(LIMITS);
  p.feed(Buffer.from("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), out);
  t.deepEqual(out.map((r) => r.error), [0, 400]);
  t.true(p.isDead());
  p.feed(Buffer.from("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), out);
  t.is(out.length, 2);
});

test("targetPath: decoding once, normalising, refusing escapes", (t) => {
  const ok = (s: string): string | number => {
    const r = targetPath(s);
    return r.ok ? r.path : r.status;
  };
  t.is(ok("/"), "/");
  t.is(ok("/a/b/../c"), "/a/c");
  t.is(ok("/a/./b/"), "/a/b/");
  t.is(ok("/a//b"), "/a/b");
  t.is(ok("/a/.."), "/");
  t.is(ok("/x/%2e%2e"), "/");
  t.is(ok("/sp%20ace?q=%2e%2e#f"), "/sp ace");
  t.is(ok("http://host:80/a/b"), "/a/b");
  t.is(ok("http://host"), "/");
  t.is(ok("/.."), 403);
  t.is(ok("/%2e%2e/etc"), 403);
  t.is(ok("/a/..%2f..%2fetc"), 403);
  t.is(ok("/%00"), 400);
  t.is(ok("/%zz"), 400);
  t.is(ok("/%c3"), 400);
  t.is(ok("*"), 400);
  t.is(ok("a/b"), 400);
});

function fakeEntry(size: number, mtimeSec: number): FileEntry {
  return { size, mtimeSec, etag: `"${mtimeSec.toString(16)}-${size.toString(16)}"` } as FileEntry;
}

test("parseRanges: single ranges, suffixes, unsatisfiable, ignored forms, If-Range", (t) => {
  const e = fakeEntry(1000, 1_700_000_000);
  t.deepEqual(parseRanges("bytes=0-99", null, e), [{ start: 0, end: 99 }]);
  t.deepEqual(parseRanges("bytes=900-", null, e), [{ start: 900, end: 999 }]);
  t.deepEqual(parseRanges("bytes=-100", null, e), [{ start: 900, end: 999 }]);
  t.deepEqual(parseRanges("bytes=-5000", null, e), [{ start: 0, end: 999 }]);
  t.deepEqual(parseRanges("bytes=990-5000", null, e), [{ start: 990, end: 999 }]);
  t.is(parseRanges("bytes=1000-", null, e), "unsatisfiable");
  t.is(parseRanges("bytes=-0", null, e), "unsatisfiable");
  t.is(parseRanges("bytes=0-0", null, fakeEntry(0, 1)), "unsatisfiable");
  t.is(parseRanges("bytes=5-1", null, e), null);
  t.is(parseRanges("items=0-1", null, e), null);
  t.is(parseRanges(null, null, e), null);
  t.deepEqual(parseRanges("bytes=0-1", e.etag, e), [{ start: 0, end: 1 }]);
  t.is(parseRanges("bytes=0-1", `W/${e.etag}`, e), null);
  t.deepEqual(parseRanges("bytes=0-1", new Date(1_700_000_000_000).toUTCString(), e), [{ start: 0, end: 1 }]);
  t.is(parseRanges("bytes=0-1", new Date(1_600_000_000_000).toUTCString(), e), null);
});

test("parseRanges: several ranges in the order asked; unsatisfiable ones dropped; overlapping or too many -> whole file", (t) => {
  const e = fakeEntry(1000, 1_700_000_000);
  t.deepEqual(parseRanges("bytes=500-599, 0-9,-10", null, e), [{ start: 500, end: 599 }, { start: 0, end: 9 }, { start: 990, end: 999 }]);
  t.deepEqual(parseRanges("bytes=0-9,5000-6000", null, e), [{ start: 0, end: 9 }]);
  t.is(parseRanges("bytes=2000-,5000-6000", null, e), "unsatisfiable");
  t.is(parseRanges("bytes=0-9,5-20", null, e), null, "overlap");
  t.is(parseRanges("bytes=0-9,-995", null, e), null, "a suffix overlapping a range");
  t.deepEqual(parseRanges("bytes=0-9,10-19", null, e), [{ start: 0, end: 9 }, { start: 10, end: 19 }], "adjacent is not overlapping");
  t.is(parseRanges("bytes=0-1,x", null, e), null, "one bad spec ignores the header");
  const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(",");
  t.is(parseRanges(`bytes=${many}`, null, e), null);
  const most = Array.from({ length: MAX_RANGES }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(",");
  t.is((parseRanges(`bytes=${most}`, null, e) as unknown[]).length, MAX_RANGES);
});

test("multipartLayout: part heads, closing delimiter and a Content-Length that adds up", (t) => {
  const l = multipartLayout([{ start: 0, end: 1 }, { start: 5, end: 9 }], "text/plain", 10, "B");
  t.deepEqual(l.heads, ["--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n", "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-9/10\r\n\r\n"]);
  t.is(l.tail, "\r\n--B--\r\n");
  t.is(l.length, l.heads[0].length + 2 + l.heads[1].length + 5 + l.tail.length);
});

test("notModified: If-None-Match decides alone; If-Modified-Since compares whole seconds", (t) => {
  const e = fakeEntry(10, 1_700_000_000);
  const at = (s: number): string => new Date(s * 1000).toUTCString();
  t.true(notModified(e.etag, null, e));
  t.true(notModified(`"x", W/${e.etag}`, null, e));
  t.true(notModified("*", null, e));
  t.false(notModified('"x"', at(1_700_000_000), e));
  t.true(notModified(null, at(1_700_000_000), e));
  t.true(notModified(null, at(1_800_000_000), e));
  t.false(notModified(null, at(1_699_999_999), e));
  t.false(notModified(null, "not a date", e));
});

test("FileCache: an fd in use survives eviction and change, and closes on its last release", (t) => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-cache-")));
  try {
    fs.writeFileSync(path.join(root, "a"), "1");
    fs.writeFileSync(path.join(root, "b"), "2");
    const before = openFds();
    const cache = new FileCache({ root, validMs: 0, maxEntries: 1, bodyCache: false });
    const a = cache.lookup("/a", 0);
    if (a.kind !== "file") return t.fail(a.kind);
    cache.acquire(a.entry);
    t.is(openFds(), before + 1);
    cache.lookup("/b", 1); // evicts /a (maxEntries 1), which is still in use
    t.is(openFds(), before + 2);
    cache.release(a.entry);
    t.is(openFds(), before + 1);
    fs.writeFileSync(path.join(root, "b"), "changed");
    const b2 = cache.lookup("/b", 2);
    t.is(b2.kind === "file" ? b2.entry.size : -1, 7);
    t.is(openFds(), before + 1);
    t.is(cache.lookup("/missing", 3).kind, "error");
    cache.close();
    t.is(openFds(), before);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("options: bad values name the option", (t) => {
  t.throws(() => resolveOptions({ port: 70000 }), { instanceOf: RangeError, message: /options\.port/ });
  t.throws(() => resolveOptions({ idleTimeoutMs: "1" as never }), { instanceOf: TypeError, message: /options\.idleTimeoutMs/ });
  t.throws(() => resolveOptions({ bodyCache: 1 as never }), { instanceOf: TypeError, message: /options\.bodyCache/ });
  t.throws(() => resolveOptions({ root: "" }), { instanceOf: TypeError, message: /options\.root/ });
  t.is(resolveOptions({}).port, 8080);
});

test("AccessLog: Common Log Format, quotes escaped, lines batched into one write per flush", (t) => {
  const writes: string[] = [];
  const timers: Array<() => void> = [];
  const loop = { callLater: (_ms: number, cb: () => void) => (timers.push(cb), { cancel() {} }) as never };
  const log = new AccessLog(loop, (text) => writes.push(text));
  log.add("10.0.0.1", "25/Nov/2026:09:36:27 +0000", "GET", '/a"b\\c', "HTTP/1.1", 200, 16);
  log.add("::1", "25/Nov/2026:09:36:27 +0000", "HEAD", "/x", "HTTP/1.0", 304, 0);
  t.deepEqual(writes, []);
  t.is(timers.length, 1, "one flush timer for the batch");
  timers[0]();
  t.deepEqual(writes, ['10.0.0.1 - - [25/Nov/2026:09:36:27 +0000] "GET /a\\x22b\\x5cc HTTP/1.1" 200 16\n::1 - - [25/Nov/2026:09:36:27 +0000] "HEAD /x HTTP/1.0" 304 -\n']);
});

test("pickEncoding: q-values, *, x-gzip, refusals, brotli first on a tie", (t) => {
  const both = ["br", "gzip"] as const;
  t.is(pickEncoding("gzip, deflate, br", both), "br");
  t.is(pickEncoding("gzip;q=1.0, br;q=0.9", both), "gzip");
  t.is(pickEncoding("br;q=0, gzip", both), "gzip");
  t.is(pickEncoding("br;q=0, gzip;q=0", both), null);
  t.is(pickEncoding("*", both), "br");
  t.is(pickEncoding("*;q=0.5, br;q=0", both), "gzip");
  t.is(pickEncoding("x-gzip", both), "gzip");
  t.is(pickEncoding("identity", both), null);
  t.is(pickEncoding("", both), null);
  t.is(pickEncoding("br", ["gzip"]), null);
});

test("compressibleType: text, JSON/XML kin, SVG; not images, archives or octet streams", (t) => {
  for (const ty of ["text/html; charset=utf-8", "text/css", "application/json", "application/ld+json", "image/svg+xml", "application/javascript; charset=utf-8", "application/wasm", "font/ttf"]) t.true(compressibleType(ty), ty);
  for (const ty of ["image/png", "application/zip", "application/octet-stream", "video/mp4", "font/woff2", "application/gzip"]) t.false(compressibleType(ty), ty);
});

test("hiddenPath: a dot segment anywhere, except a leading .well-known", (t) => {
  for (const p of ["/.env", "/a/.git/config", "/.git/", "/a/.b", "/.well-known/.x", "/..."]) t.true(hiddenPath(p), p);
  for (const p of ["/", "/a.txt", "/a/b.c/d", "/.well-known/security.txt", "/.well-known"]) t.false(hiddenPath(p), p);
  t.true(hiddenPath("/x/.well-known/a"), "only at the root");
});

test("fdBudget: the open-file limit less what is open and a reserve, split between servers; a quarter for the file cache", (t) => {
  t.deepEqual(fdBudget(64, 21, 1), { maxConnections: 10, cacheMaxEntries: 6 });
  t.deepEqual(fdBudget(1_048_576, 21, 1), { maxConnections: (1_048_576 - 21 - 16 - 1024) >> 1, cacheMaxEntries: 1024 });
  const two = fdBudget(4096, 30, 2);
  t.is(two.cacheMaxEntries, Math.floor((4096 - 30 - 16 - 16) / 2 / 4));
  t.deepEqual(fdBudget(20, 30, 1), { maxConnections: 1, cacheMaxEntries: 1 }, "never below one");
  t.is(fdBudget(Infinity, 21, 1).cacheMaxEntries, 1024);
  t.true(openFileLimit() > 0);
});
