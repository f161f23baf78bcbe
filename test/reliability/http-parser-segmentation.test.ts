// Cases the parser fuzz run (http-parser-fuzz.test.ts) found where the answer to the same
// bytes depended on how they were segmented: the early refusals made while a head arrives
// (not HTTP, 414, 431) were skipped or ordered differently when the head came whole, and a
// head of exactly the largest allowed size was refused when it came a byte at a time.
import test from "ava";
import { RequestParser, type ParserLimits, type Request } from "../../src/serve/http-parser.js";

const L: ParserLimits = { maxRequestLine: 64, maxHeaderBytes: 256, maxHeaders: 4, maxBodyBytes: 100 };

function statuses(chunks: Buffer[]): number[] {
  const p = new RequestParser(L);
  const out: Request[] = [];
  for (const c of chunks) p.feed(c, out);
  return out.map((r) => r.error);
}

/** [whole, byte by byte] */
function both(text: string): [number[], number[]] {
  const b = Buffer.from(text, "latin1");
  return [statuses([b]), statuses([...b].map((x) => Buffer.from([x])))];
}

test("parser: junk longer than the request-line limit is 400 (not an HTTP request line), whole or in pieces", (t) => {
  t.deepEqual(both(`${"\0".repeat(100)}GET / HTTP/1.1\r\nHost: x\r\n\r\n`), [[400], [400]]);
});

test("parser: a request line over the limit in a head over the limit is 414, whole or in pieces", (t) => {
  t.deepEqual(both(`GET /${"a".repeat(400)} HTTP/1.1\r\nHost: x\r\n\r\n`), [[414], [414]]);
});

test("parser: a head of exactly maxRequestLine + maxHeaderBytes + 2 bytes is parsed, whole or in pieces", (t) => {
  const line = `GET /${"a".repeat(L.maxRequestLine - 14)} HTTP/1.1`;
  const fields = "\r\nHost: x\r\nX-Pad: ";
  const head = line + fields + "p".repeat(L.maxRequestLine + L.maxHeaderBytes + 2 - line.length - fields.length);
  t.is(head.length, L.maxRequestLine + L.maxHeaderBytes + 2);
  t.deepEqual(both(`${head}\r\n\r\n`), [[0], [0]]);
  t.deepEqual(both(`${head}p\r\n\r\n`), [[431], [431]], "one byte more is refused either way");
});
