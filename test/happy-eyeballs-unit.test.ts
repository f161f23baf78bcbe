// createConnection's address logic alone (src/streams.ts): RFC 8305 interleaving, asyncio's
// error aggregation, and the staggered race (start, stagger, fail-fast, first success wins,
// losers aborted, a late winner closed, the caller's signal).
import test from "ava";
import type { StreamEndpoint, StreamSink } from "../src/proactor.js";
import type { AddrInfo } from "../src/events.js";
import { interleaveAddrinfos, aggregateErrors, staggeredRace, type StreamLoop } from "../src/streams.js";

const info = (family: 4 | 6, host: string): AddrInfo => ({ family, type: 1, proto: 6, canonname: "", host, port: 80 });

/** callLater over Node timers; nothing else of the loop is used by staggeredRace. */
const loop = {
  callLater(ms: number, cb: () => void) {
    const t = setTimeout(cb, ms);
    return { cancel: () => clearTimeout(t) };
  },
} as unknown as StreamLoop;

class Ep {
  closed = false;
  sink: StreamSink | null = null;
  setSink(s: StreamSink) {
    this.sink = s;
  }
  close() {
    this.closed = true;
    setImmediate(() => this.sink?.onClosed());
  }
}

interface Pending {
  started: number;
  aborted: boolean;
  resolve(ep: Ep): void;
  reject(e: Error): void;
}

/** n fake connect attempts; with ignoreAbort an aborted attempt may still connect later. */
function attempts(n: number, t0: number, ignoreAbort = false) {
  const pending: Pending[] = [];
  const list = Array.from({ length: n }, (_, i) => (signal: AbortSignal) =>
    new Promise<StreamEndpoint>((resolve, reject) => {
      const p: Pending = { started: Date.now() - t0, aborted: false, resolve: (ep) => resolve(ep as unknown as StreamEndpoint), reject };
      signal.addEventListener("abort", () => {
        p.aborted = true;
        if (!ignoreAbort) reject(new Error(`aborted ${i}`));
      });
      pending[i] = p;
    }),
  );
  return { pending, list };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

test("interleaveAddrinfos alternates families, first family first; interleave=2 puts two up front", (t) => {
  const infos = [info(6, "a"), info(6, "b"), info(6, "c"), info(4, "x"), info(4, "y")];
  t.deepEqual(interleaveAddrinfos(infos).map((i) => i.host), ["a", "x", "b", "y", "c"]);
  t.deepEqual(interleaveAddrinfos(infos, 2).map((i) => i.host), ["a", "b", "x", "c", "y"]);
  t.deepEqual(interleaveAddrinfos([info(4, "x")]).map((i) => i.host), ["x"]);
});

test("aggregateErrors: one -> it; same messages -> the first; else Multiple exceptions with errors", (t) => {
  const a = new Error("connect ECONNREFUSED 1");
  t.is(aggregateErrors([a]), a);
  const b1 = new Error("same");
  t.is(aggregateErrors([b1, new Error("same")]), b1);
  const m = aggregateErrors([a, new Error("connect ETIMEDOUT 2")]) as Error & { errors: Error[] };
  t.is(m.message, "Multiple exceptions: Error: connect ECONNREFUSED 1, Error: connect ETIMEDOUT 2");
  t.is(m.errors.length, 2);
});

test("staggeredRace: the next attempt starts after the delay; the first success wins and the others are aborted", async (t) => {
  const t0 = Date.now();
  const { pending, list } = attempts(3, t0);
  const race = staggeredRace(loop, list, 50);
  await tick(10);
  t.is(pending.length, 1, "one attempt before the delay");
  await tick(70);
  t.is(pending.filter(Boolean).length, 2, "second attempt after the delay");
  t.true(pending[1].started >= 45, `second started at ${pending[1].started} ms`);
  const winner = new Ep();
  pending[1].resolve(winner);
  t.is(await race, winner as unknown as StreamEndpoint);
  t.true(pending[0].aborted, "the slower attempt was aborted");
  await tick(80);
  t.is(pending.length, 2, "no attempt starts after a winner");
});

test("staggeredRace: a failure starts the next attempt at once", async (t) => {
  const { pending, list } = attempts(3, Date.now());
  const race = staggeredRace(loop, list, 1000);
  await tick(5);
  pending[0].reject(new Error("refused"));
  await tick(5);
  t.is(pending.length, 2, "started without waiting for the delay");
  t.true(pending[1].started < 500, `started at ${pending[1].started} ms`);
  const winner = new Ep();
  pending[1].resolve(winner);
  t.is(await race, winner as unknown as StreamEndpoint);
});

test("staggeredRace: an attempt that connects after another won is closed", async (t) => {
  const { pending, list } = attempts(2, Date.now(), true);
  const race = staggeredRace(loop, list, 10);
  await tick(30);
  t.is(pending.length, 2);
  const winner = new Ep();
  pending[1].resolve(winner);
  await race;
  t.true(pending[0].aborted);
  const late = new Ep();
  pending[0].resolve(late);
  await tick(5);
  t.true(late.closed, "the late endpoint was closed");
  t.false(winner.closed);
});

test("staggeredRace: all fail -> aggregated errors in attempt order; caller's signal aborts", async (t) => {
  const { pending, list } = attempts(2, Date.now());
  const race = staggeredRace(loop, list, null);
  await tick(1);
  pending[0].reject(new Error("e0"));
  await tick(1);
  pending[1].reject(new Error("e1"));
  const err = (await race.catch((e) => e)) as Error & { errors: Error[] };
  t.deepEqual(err.errors.map((e) => e.message), ["e0", "e1"]);

  const ac = new AbortController();
  const second = attempts(2, Date.now());
  const race2 = staggeredRace(loop, second.list, null, ac.signal);
  await tick(1);
  ac.abort(new Error("stop"));
  t.is(((await race2.catch((e) => e)) as Error).message, "stop");
  t.true(second.pending[0].aborted);
});
