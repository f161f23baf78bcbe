// Property runs of the HTTP request parser (src/serve/http-parser.ts) on random and
// mutated request heads (test/reliability/_fuzz.ts), with the server's default limits and
// with small ones (so the 414/431/413 paths are hit often). For every input, fed whole and
// in random chunks:
// - feed() never throws;
// - every request is either parsed (a token method, a visible-ASCII target, HTTP/1.x) or
//   one error the server has a status line for (400, 411, 413, 414, 431, 505), the error
//   last, and the parser dead exactly when an error came out;
// - the chunking does not change the outcome (the same requests and the same refusal
//   status, whatever the segments);
// - the bytes held for an unfinished head never exceed the head limit.
// The slowest single input is printed (not asserted: a figure, not a timing rule).
import test from "ava";
import fc from "fast-check";
import { RequestParser, type ParserLimits, type Request } from "../../src/serve/http-parser.js";
import { STATUS_TEXT } from "../../src/serve/response.js";
import { DEFAULTS } from "../../src/serve/options.js";
import { requestBytes, chunking, split, describeBytes, FUZZ_SCALE, FUZZ_SEED } from "./_fuzz.js";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PARSER_ERRORS = new Set([400, 411, 413, 414, 431, 505]);

const LIMIT_SETS: Array<[string, ParserLimits]> = [
  ["default limits", { maxRequestLine: DEFAULTS.maxRequestLine, maxHeaderBytes: DEFAULTS.maxHeaderBytes, maxHeaders: DEFAULTS.maxHeaders, maxBodyBytes: DEFAULTS.maxBodyBytes }],
  ["small limits", { maxRequestLine: 64, maxHeaderBytes: 256, maxHeaders: 4, maxBodyBytes: 100 }],
];

function feedAll(limits: ParserLimits, chunks: Buffer[]): { out: Request[]; dead: boolean; maxHeld: number } {
  const p = new RequestParser(limits);
  const out: Request[] = [];
  let maxHeld = 0;
  for (const c of chunks) {
    p.feed(c, out);
    maxHeld = Math.max(maxHeld, p.buffered());
  }
  return { out, dead: p.isDead(), maxHeld };
}

/** The invariant every parser outcome keeps; returns what is wrong, or null. */
function badOutcome(limits: ParserLimits, r: { out: Request[]; dead: boolean; maxHeld: number }): string | null {
  const errors = r.out.filter((q) => q.error !== 0);
  if (errors.length > 1) return `${errors.length} errors`;
  if (errors.length === 1 && r.out[r.out.length - 1].error === 0) return "a request after the error";
  if (r.dead !== (errors.length === 1)) return `dead=${r.dead} with ${errors.length} errors`;
  for (const q of r.out) {
    if (q.error !== 0) {
      if (!PARSER_ERRORS.has(q.error) || STATUS_TEXT[q.error] === undefined) return `status ${q.error}`;
      if (q.reason === "") return `status ${q.error} without a reason`;
      continue;
    }
    if (!TOKEN.test(q.method)) return `method ${JSON.stringify(q.method)}`;
    if (!/^[\x21-\x7e]+$/.test(q.target)) return `target ${JSON.stringify(q.target)}`;
    if (!/^HTTP\/1\.\d$/.test(q.version)) return `version ${JSON.stringify(q.version)}`;
  }
  const headLimit = limits.maxRequestLine + limits.maxHeaderBytes + 5;
  if (r.maxHeld > headLimit) return `held ${r.maxHeld} bytes of an unfinished head (limit ${headLimit})`;
  return null;
}

/**
 * What a request decides for the client: a parsed request whole, a refusal by its status.
 * (A refusal's reason and logged version may depend on how much had arrived: bytes that
 * cannot start a request line are refused as soon as they are seen, by design.)
 */
function answer(q: Request): unknown {
  return q.error === 0 ? q : { error: q.error };
}

for (const [name, limits] of LIMIT_SETS) {
  test(`parser fuzz (${name}): never throws, valid outcomes only, the same whatever the chunking, bounded memory`, (t) => {
    const runs = 3000 * FUZZ_SCALE;
    t.log(`seed ${FUZZ_SEED}, ${runs} runs (RINGLOOP_FUZZ_SEED / RINGLOOP_FUZZ_RUNS to replay or lengthen)`);
    let slowest = 0;
    let parsed = 0;
    const statuses = new Map<number, number>();
    fc.assert(
      fc.property(requestBytes, chunking, (bytes, cuts) => {
        const t0 = process.hrtime.bigint();
        const whole = feedAll(limits, [bytes]);
        const pieces = feedAll(limits, split(bytes, cuts));
        slowest = Math.max(slowest, Number(process.hrtime.bigint() - t0) / 1e6);
        for (const q of whole.out) statuses.set(q.error, (statuses.get(q.error) ?? 0) + 1);
        parsed += whole.out.length;
        const bad = badOutcome(limits, whole) ?? badOutcome(limits, pieces);
        const input = `${describeBytes(bytes)} in chunks of ${split(bytes, cuts).map((c) => c.length).join(", ")}`;
        if (bad !== null) throw new Error(`${bad}; input ${input}`);
        if (JSON.stringify(whole.out.map(answer)) !== JSON.stringify(pieces.out.map(answer))) {
          const show = (r: { out: Request[] }): string => JSON.stringify(r.out.map((q) => [q.error, q.reason, q.method, q.target]));
          throw new Error(`chunking changed the outcome: whole ${show(whole)}, in pieces ${show(pieces)}; input ${input}`);
        }
      }),
      { numRuns: runs, seed: FUZZ_SEED, includeErrorInReport: true },
    );
    t.log(`${parsed} outcomes by status: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; slowest input ${slowest.toFixed(2)} ms`);
    t.true(statuses.has(0) && statuses.has(400), "the runs reached both parsed requests and refusals");
  });
}
