// The parser fuzz run end to end: random and mutated request heads (_fuzz.ts) sent in
// random segments over real sockets to a live startServe, on both backends, then a
// half-close. For every run:
// - the server ends the connection (bounded wait: a hang fails the run);
// - everything it sent parses as responses: "HTTP/1.1 <status> <its reason>", a
//   Content-Length (204 and 304 may have none), and that many body bytes (none for HEAD,
//   204 and 304), nothing after;
// - a request the parser refuses gets the parser's status, in order after the ones before;
// - afterwards a plain request is still answered, and the suite's teardown finds no
//   exception-handler call, no fd and no op left.
// Fewer runs than the parser-level test (each is a connection); RINGLOOP_FUZZ_RUNS scales
// them, RINGLOOP_FUZZ_SEED replays.
import * as net from "node:net";
import test from "ava";
import fc from "fast-check";
import { backendTest } from "../helpers/backends.js";
import { makeTree, withServer, curl, type Tree } from "../serve/_serve.js";
import { RequestParser, type Request } from "../../src/serve/http-parser.js";
import { STATUS_TEXT } from "../../src/serve/response.js";
import { DEFAULTS } from "../../src/serve/options.js";
import { requestBytes, chunking, split, describeBytes, FUZZ_SCALE, FUZZ_SEED } from "./_fuzz.js";

let tree: Tree;
test.before(() => {
  tree = makeTree();
});
test.after.always(() => tree.remove());

const LIMITS = { maxRequestLine: DEFAULTS.maxRequestLine, maxHeaderBytes: DEFAULTS.maxHeaderBytes, maxHeaders: DEFAULTS.maxHeaders, maxBodyBytes: DEFAULTS.maxBodyBytes };

/** Sends `chunks` (a turn apart), half-closes, collects until the server closes; null if it never does within `ms`. */
function exchange(port: number, chunks: Buffer[], ms: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(null);
    }, ms);
    sock.on("data", (d) => got.push(d));
    sock.on("error", () => {}); // a reset after a refusal is an allowed way to end
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
    sock.on("connect", async () => {
      for (const c of chunks) {
        if (sock.destroyed) return;
        sock.write(c);
        await new Promise((r) => setImmediate(r));
      }
      sock.end();
    });
  });
}

/**
 * What is wrong with `data` as the answers to `reqs` (parsed from the same bytes), or null;
 * the statuses go to `seen`.
 */
function badAnswers(data: Buffer, reqs: Request[], seen: Map<number, number>): string | null {
  let pos = 0;
  for (let i = 0; pos < data.length; i++) {
    const end = data.indexOf("\r\n\r\n", pos);
    if (end < 0) return `response ${i}: no end of head in ${data.length - pos} bytes`;
    const head = data.toString("latin1", pos, end);
    const m = /^HTTP\/1\.1 (\d{3}) ([^\r\n]+)(\r\n|$)/.exec(head);
    if (m === null) return `response ${i}: bad status line ${JSON.stringify(head.slice(0, 40))}`;
    const status = Number(m[1]);
    seen.set(status, (seen.get(status) ?? 0) + 1);
    if (STATUS_TEXT[status] !== m[2]) return `response ${i}: status ${status} with reason "${m[2]}"`;
    const req = reqs[i];
    if (req !== undefined && req.error !== 0 && status !== req.error) return `response ${i}: ${status}, the parser refused it with ${req.error}`;
    const len = /\r\nContent-Length: (\d+)(\r\n|$)/i.exec(head);
    const bodiless = status === 204 || status === 304;
    if (len === null && !bodiless) return `response ${i}: no Content-Length`;
    pos = end + 4 + (bodiless || req?.method === "HEAD" || len === null ? 0 : Number(len[1]));
    if (pos > data.length) return `response ${i}: body cut short (${data.length - end - 4} of ${len?.[1]} bytes)`;
  }
  return null;
}

backendTest("serve fuzz: random and mutated heads over real sockets: valid status lines only, the connection always ends, serving goes on", async (t, { loop }) => {
  const runs = 300 * FUZZ_SCALE;
  t.log(`seed ${FUZZ_SEED}, ${runs} runs (RINGLOOP_FUZZ_SEED / RINGLOOP_FUZZ_RUNS to replay or lengthen)`);
  await withServer(loop, tree.root, { quiet: true, headerTimeoutMs: 1000, idleTimeoutMs: 1000 }, async ({ handle, base }) => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requestBytes, chunking, async (bytes, cuts) => {
        const reqs: Request[] = [];
        new RequestParser(LIMITS).feed(bytes, reqs);
        const chunks = split(bytes, cuts);
        const data = await exchange(handle.port, chunks, 15_000);
        const input = `${describeBytes(bytes)} in chunks of ${chunks.map((c) => c.length).join(", ")}`;
        if (data === null) throw new Error(`the server did not end the connection; input ${input}`);
        const bad = badAnswers(data, reqs, seen);
        if (bad !== null) throw new Error(`${bad}; input ${input}`);
      }),
      { numRuns: runs, seed: FUZZ_SEED, includeErrorInReport: true },
    );
    t.log(`responses by status: ${JSON.stringify(Object.fromEntries([...seen].sort((a, b) => a[0] - b[0])))}`);
    const after = await curl(`${base}/a.txt`);
    t.is(after.status, 200, "still serving after the fuzz run");
    t.is(handle.stats.sending, 0);
  });
});
