// A 256 MiB file on both backends: sent whole (checked by sha256), then 50 concurrent
// connections each sending their own (offset, count) slice of it from one server, every
// slice checked by hash. Kept to ~0.5 GiB per backend: the suite runs on 2 shared cores.
import test from "ava";
import * as fs from "node:fs";
import { backendTest } from "../helpers/backends.js";
import { inLoop } from "../streams/_streams.js";
import { makeFile, hashRange, Reader, connect, closeAndWait, within, MiB } from "./_sendfile.js";

const SIZE = 256 * MiB;
const CLIENTS = 50;
const file = makeFile(SIZE, "big");
test.after.always(() => file.remove());

/** Slice i: an odd offset spread over the file, a count that differs per client. */
function slice(i: number): [offset: number, count: number] {
  return [i * 5 * MiB + i * 4099 + 1, 4 * MiB + i * 1001];
}

let expected: { whole: string; slices: string[] } | null = null;
function expectedHashes(): { whole: string; slices: string[] } {
  expected ??= {
    whole: hashRange(file.path, 0, SIZE),
    slices: Array.from({ length: CLIENTS }, (_, i) => hashRange(file.path, ...slice(i))),
  };
  return expected;
}

backendTest("sendfile: 256 MiB whole, then 50 concurrent offset/count slices, all checked by sha256", async (t, { loop }) => {
  const want = expectedHashes();
  const reader = await new Reader().listen();
  const fd = fs.openSync(file.path, "r");
  try {
    await inLoop(loop, async () => {
      const [tr, p] = await connect(loop, reader.port);
      t.is(await within(40000, loop.sendfile(tr, file.path), "256 MiB sendfile"), SIZE);
      t.is(await closeAndWait(tr, p), null);
      const whole = await within(10000, reader.received(), "reader");
      t.is(whole.bytes, SIZE);
      t.is(whole.hash, want.whole);

      // 50 at once from one shared fd (positional: no shared file position).
      const conns = await Promise.all(Array.from({ length: CLIENTS }, () => connect(loop, reader.port)));
      const sent = await within(
        40000,
        Promise.all(conns.map(([ctr], i) => loop.sendfile(ctr, i % 2 === 0 ? { fd } : file.path, ...slice(i)))),
        "50 sendfiles",
      );
      t.deepEqual(sent, conns.map((_, i) => slice(i)[1]));
      await Promise.all(conns.map(async ([ctr, cp]) => t.is(await closeAndWait(ctr, cp), null)));
      const results = await within(10000, Promise.all(conns.map(() => reader.received())), "50 readers");
      // Counts differ per slice: the byte count says which slice a connection carried.
      const byCount = new Map(results.map((r) => [r.bytes, r]));
      const bad = [];
      for (let i = 0; i < CLIENTS; i++) {
        const r = byCount.get(slice(i)[1]);
        if (r === undefined || r.hash !== want.slices[i] || r.error !== null) bad.push(i);
      }
      t.deepEqual(bad, [], "slices missing or with a wrong hash");
    });
  } finally {
    fs.closeSync(fd);
    await reader.close();
  }
});

