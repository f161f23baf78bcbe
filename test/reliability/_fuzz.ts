// Request heads for the HTTP parser fuzz runs (fast-check arbitraries): valid heads built
// from parts (methods, targets, versions, fields the server reads, random fields) and the
// same heads mutated (byte flips, truncations, duplicated slices, injected header lines,
// bare CR / LF / NUL, huge runs of one byte, deleted slices), or plain random bytes.
//
// Runs are bounded: RINGLOOP_FUZZ_RUNS (a number) multiplies every run count (default 1:
// the CI size); RINGLOOP_FUZZ_SEED fixes the seed (default: from the clock). Each test
// prints its seed, and fast-check prints the seed and path of a failing case, so any
// failure can be replayed.
import fc from "fast-check";

export const FUZZ_SCALE = (() => {
  const v = process.env.RINGLOOP_FUZZ_RUNS;
  if (v === undefined || v === "") return 1;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new RangeError(`RINGLOOP_FUZZ_RUNS must be a positive integer. Received "${v}"`);
  return Number(v);
})();

export const FUZZ_SEED = (() => {
  const v = process.env.RINGLOOP_FUZZ_SEED;
  if (v === undefined || v === "") return Date.now() % 2 ** 31;
  if (!/^-?\d+$/.test(v)) throw new RangeError(`RINGLOOP_FUZZ_SEED must be an integer. Received "${v}"`);
  return Number(v);
})();

const tokenChar = fc.constantFrom(..."!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 });
const visible = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 });
const anyLatin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 40 });

const method = fc.oneof({ weight: 3, arbitrary: fc.constantFrom("GET", "GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "get") }, { weight: 1, arbitrary: token });
const target = fc.oneof(
  fc.constantFrom("/", "/a.txt", "/small.bin", "/big.bin", "/sub/", "/sub", "/nope", "/%2e%2e/x", "/a.txt?x=1", "*", "/sp%20ace.css", "/.hidden", "//a.txt"),
  visible.map((s) => `/${s}`),
  visible,
);
const version = fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/9.9");
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const field = fc.oneof(
  w(1, fc.constant(["Host", "x"])),
  w(2, fc.constantFrom("close", "keep-alive", "Upgrade", "close, keep-alive").map((v) => ["Connection", v])),
  w(2, fc.tuple(fc.nat(5000), fc.nat(5000)).map(([a, b]) => ["Range", `bytes=${a}-${b}`])),
  w(1, fc.constantFrom("bytes=0-1,5-9", "bytes=-10", "bytes=100-", "bytes=x", "items=0-1").map((v) => ["Range", v])),
  w(1, fc.constantFrom('"abc"', "*", 'W/"x", "y"').map((v) => ["If-None-Match", v])),
  w(2, fc.constantFrom("gzip", "br;q=1, gzip;q=0.5", "*", "identity;q=0").map((v) => ["Accept-Encoding", v])),
  w(1, fc.nat(3000).map((n) => ["Content-Length", String(n)])),
  w(1, fc.constantFrom("chunked", "gzip, chunked").map((v) => ["Transfer-Encoding", v])),
  w(1, fc.constantFrom("Thu, 01 Jan 1970 00:00:00 GMT", "yesterday").map((v) => ["If-Modified-Since", v])),
  w(3, fc.tuple(token, visible)),
  w(1, fc.tuple(token, anyLatin1)),
);

/** One well-formed request head (its fields may still be refused: duplicate Host, bad Range...). */
export const validHead = fc
  .record({ method, target, version, fields: fc.array(field, { maxLength: 5 }), lf: fc.boolean(), withHost: fc.nat(4).map((n) => n > 0) })
  .map(({ method: m, target: t, version: v, fields, lf, withHost }) => {
    const eol = lf ? "\n" : "\r\n";
    const all = withHost ? [["Host", "fuzz"], ...fields] : fields;
    return Buffer.from(`${m} ${t} ${v}${eol}${all.map(([n, x]) => `${n}: ${x}${eol}`).join("")}${eol}`, "latin1");
  });

/** A head the server answers with a file or a redirect (GET/HEAD, Host, a served target, fields it reads). */
export const servedHead = fc
  .record({
    m: fc.constantFrom("GET", "GET", "HEAD"),
    t: fc.constantFrom("/", "/a.txt", "/small.bin", "/big.bin", "/sub/", "/sub", "/sp%20ace.css", "/inside-link.txt"),
    v: fc.constantFrom("HTTP/1.1", "HTTP/1.0"),
    fields: fc.array(field, { maxLength: 3 }),
  })
  .map(({ m, t, v, fields }) => {
    const safe = fields.filter(([n]) => !/^(host|content-length|transfer-encoding)$/i.test(n));
    return Buffer.from(`${m} ${t} ${v}\r\nHost: fuzz\r\n${safe.map(([n, x]) => `${n}: ${x}\r\n`).join("")}\r\n`, "latin1");
  });

type Mutation = (b: Buffer) => Buffer;
const at = (b: Buffer, frac: number): number => Math.floor(frac * (b.length + 1));
const frac = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(frac, fc.integer({ min: 1, max: 255 })).map(([f, x]): Mutation => (b) => {
    if (b.length === 0) return b;
    const c = Buffer.from(b);
    const i = Math.min(c.length - 1, at(b, f));
    c[i] ^= x;
    return c;
  }),
  frac.map((f): Mutation => (b) => b.subarray(0, at(b, f))),
  fc.tuple(frac, frac, frac).map(([a, l, p]): Mutation => (b) => {
    const s = at(b, a);
    const slice = b.subarray(s, s + at(b.subarray(s), l));
    const i = at(b, p);
    return Buffer.concat([b.subarray(0, i), slice, b.subarray(i)]);
  }),
  fc.tuple(frac, token, anyLatin1).map(([p, n, v]): Mutation => (b) => {
    const i = at(b, p);
    return Buffer.concat([b.subarray(0, i), Buffer.from(`\r\n${n}: ${v}`, "latin1"), b.subarray(i)]);
  }),
  fc.tuple(frac, fc.constantFrom("\r", "\n", "\0", "\r\n", "\n\n", "\r\n\r\n", " ", "\t", ":", "\x7f", "\x16\x03")).map(([p, s]): Mutation => (b) => {
    const i = at(b, p);
    return Buffer.concat([b.subarray(0, i), Buffer.from(s, "latin1"), b.subarray(i)]);
  }),
  fc.tuple(frac, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 100, max: 40_000 })).map(([p, byte, n]): Mutation => (b) => {
    const i = at(b, p);
    return Buffer.concat([b.subarray(0, i), Buffer.alloc(n, byte), b.subarray(i)]);
  }),
  fc.tuple(frac, frac).map(([a, l]): Mutation => (b) => {
    const s = at(b, a);
    return Buffer.concat([b.subarray(0, s), b.subarray(s + at(b.subarray(s), l))]);
  }),
);

/** Request bytes: 1..3 valid heads as they are, or mutated 1..4 times; or random bytes. */
export const requestBytes: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.oneof(servedHead, validHead), { minLength: 1, maxLength: 3 }).map((heads) => Buffer.concat(heads)) },
  { weight: 6, arbitrary: fc.tuple(fc.array(fc.oneof(servedHead, validHead), { minLength: 1, maxLength: 3 }), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([heads, ms]) => ms.reduce<Buffer>((b, m) => m(b), Buffer.concat(heads))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)) },
);

/** Cut points (fractions) splitting a buffer into the chunks a socket might deliver. */
export const chunking = fc.array(frac, { maxLength: 6 });

export function split(b: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((f) => Math.floor(f * b.length)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) out.push(b.subarray(from, p));
    from = Math.max(from, p);
  }
  out.push(b.subarray(from));
  return out;
}

/** `b` as short readable text: runs of one byte longer than 3 written as [char x count]. */
export function describeBytes(b: Buffer, max = 300): string {
  const t = b.toString("latin1");
  let s = "";
  for (let i = 0; i < t.length && s.length < max; ) {
    let j = i;
    while (j < t.length && t[j] === t[i]) j++;
    s += j - i > 3 ? `[${JSON.stringify(t[i])} x${j - i}]` : JSON.stringify(t.slice(i, j)).slice(1, -1);
    i = j;
  }
  return `${b.length} bytes: ${s.length > max ? `${s.slice(0, max)}...` : s}`;
}
