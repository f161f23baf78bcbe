// Faults of the io_uring ring itself, with real I/O (test/ring.test.ts has the NOP-only
// CQ overflow case): a ring far smaller than the work given to it in one JS turn.
//
// Rules (DESIGN.md "The hot path" 1 and 7): records staged in one turn beyond what the SQ
// holds are flushed, never dropped (SQ full); completions beyond what the CQ holds wait in
// the kernel's overflow list and are reaped later, never lost (CQ overflow). A lost
// completion shows as a wait that never settles: every wait here is bounded (within()), so
// a loss fails the test instead of hanging it. The smallest ring the loop allows is used:
// `entries: 1` (a 1-entry SQ, a 2-entry CQ, a stage of one record).
import * as crypto from "node:crypto";
import * as net from "node:net";
import * as nfs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UringEventLoop, Protocol, fs, socket, type AbstractEventLoop, type AbstractSocket, type Transport, type LoopMetrics } from "ringloop";
import { uringOnlyTest } from "../helpers/backends.js";
import { inLoop, within, serverPort } from "../streams/_streams.js";

interface NopProactor {
  nop(h: { _complete(res: number, flags: number, slot: number): void }): number;
}

/** A connected TCP pair made with the sock* methods on `loop`. */
async function pair(loop: AbstractEventLoop, listener: AbstractSocket): Promise<[AbstractSocket, AbstractSocket]> {
  const client = socket(4, "stream");
  const [[server]] = await Promise.all([loop.sockAccept(listener), loop.sockConnect(client, listener.getsockname())]);
  return [client, server];
}

uringOnlyTest("CQ overflow: 2,000 poll completions at once on a 2-entry CQ (entries: 1): every sockRecv gets its byte", async (t) => {
  const PAIRS = 20;
  const WAITS = 100;
  const tiny: AbstractEventLoop & { pendingOps(): number; metrics(): LoopMetrics } = new UringEventLoop({ entries: 1 });
  const listener = socket(4, "stream");
  listener.bind({ host: "127.0.0.1", port: 0 });
  listener.listen(PAIRS);
  const pairs: [AbstractSocket, AbstractSocket][] = [];
  try {
    await inLoop(tiny, async () => {
      for (let i = 0; i < PAIRS; i++) pairs.push(await pair(tiny, listener));
      // 2,000 waits staged in one turn (2,000 POLL_ADDs through a 1-record stage and SQ);
      // one 100-byte write per peer then wakes all 100 polls of its socket at once.
      const reads = pairs.map(([, server]) => Array.from({ length: WAITS }, () => tiny.sockRecv(server, 1)));
      await new Promise((r) => tiny.callLater(20, r));
      t.is(tiny.pendingOps(), PAIRS * WAITS, "every wait is in flight before the burst");
      const sent = pairs.map(() => crypto.randomBytes(WAITS));
      await Promise.all(pairs.map(([client], i) => tiny.sockSendall(client, sent[i])));
      const got = await within(20_000, Promise.all(reads.map((r) => Promise.all(r))), "every sockRecv after the burst");
      for (let i = 0; i < PAIRS; i++) {
        t.true(got[i].every((b) => b.length === 1), `pair ${i}: one byte per wait`);
        const bytes = Buffer.concat(got[i]);
        t.deepEqual([...bytes].sort((a, b) => a - b), [...sent[i]].sort((a, b) => a - b), `pair ${i}: the bytes sent, each once`);
      }
      t.is(tiny.pendingOps(), 0);
      const m = tiny.metrics().uring!;
      t.log(`metrics: ${m.cqOverflows} CQ overflows, ${m.cqDropped} dropped, ${m.sqFull} SQ-full flushes, ${m.cqesReaped} CQEs`);
      t.true(m.cqOverflows > 0, "the burst overflowed the CQ (the case this test is about)");
      t.is(m.cqDropped, 0);
    });
  } finally {
    for (const [c, s] of pairs) (c.close(), s.close());
    listener.close();
    tiny.close();
  }
});

class Echo extends Protocol {
  transport!: Transport;
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override dataReceived(data: Buffer): void {
    this.transport.write(data);
  }
}

/** One round trip of `msg` on a node:net socket: resolves with what came back. */
function roundTrip(sock: net.Socket, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    const onData = (d: Buffer): void => {
      parts.push(d);
      n += d.length;
      if (n >= msg.length) {
        sock.off("data", onData).off("error", reject);
        resolve(Buffer.concat(parts));
      }
    };
    sock.on("data", onData).once("error", reject);
    sock.write(msg);
  });
}

uringOnlyTest("CQ overflow: 200 connections echoing in lockstep bursts on a 2-entry CQ (entries: 1): every byte comes back", async (t) => {
  const CONNS = 200;
  const ROUNDS = 5;
  const tiny = new UringEventLoop({ entries: 1 });
  const clients: net.Socket[] = [];
  try {
    await inLoop(tiny, async () => {
      const server = await tiny.createServer(() => new Echo(), "127.0.0.1", 0);
      const port = serverPort(server);
      for (let i = 0; i < CONNS; i++) {
        const s = net.connect(port, "127.0.0.1");
        await within(10_000, new Promise((r, j) => s.once("connect", r).once("error", j)), `connect ${i}`);
        clients.push(s);
      }
      // Each round: every client writes in the same Node turn, so up to 200 multishot
      // recv completions (and then 200 send completions) land on the ring together.
      for (let round = 0; round < ROUNDS; round++) {
        const msgs = clients.map(() => crypto.randomBytes(4096 + round * 1000));
        const echoed = await within(20_000, Promise.all(clients.map((s, i) => roundTrip(s, msgs[i]))), `round ${round}`);
        t.true(echoed.every((b, i) => b.equals(msgs[i])), `round ${round}: every echo intact`);
      }
      const m = tiny.metrics().uring!;
      t.log(`metrics: ${m.cqOverflows} CQ overflows, ${m.cqDropped} dropped, ${m.sqFull} SQ-full flushes, ${m.cqesReaped} CQEs`);
      t.true(m.cqOverflows > 0, "the bursts overflowed the CQ (the case this test is about)");
      t.is(m.cqDropped, 0);
      for (const s of clients) s.destroy();
      server.close();
      await within(10_000, server.waitClosed(), "server closed after its clients");
    });
    t.is(tiny.pendingOps(), 0);
  } finally {
    for (const s of clients) s.destroy();
    tiny.close();
  }
});

uringOnlyTest("SQ full: 4,000 records of four kinds staged in one turn on a 4-entry ring (reads, writes, NOPs, polls): each completes once, right", async (t) => {
  const N = 1000;
  const tiny: AbstractEventLoop & { pendingOps(): number; metrics(): LoopMetrics } = new UringEventLoop({ entries: 4 });
  const dir = nfs.mkdtempSync(path.join(os.tmpdir(), "ringloop-sqfull-"));
  const src = path.join(dir, "src");
  const dst = path.join(dir, "dst");
  const data = crypto.randomBytes(N * 512);
  nfs.writeFileSync(src, data);
  const listener = socket(4, "stream");
  listener.bind({ host: "127.0.0.1", port: 0 });
  listener.listen();
  const peers: AbstractSocket[] = [];
  try {
    await inLoop(tiny, async () => {
      const input = await fs.open(src);
      const output = await fs.open(dst, "w");
      peers.push(...(await pair(tiny, listener)));
      const [client, server] = peers;
      const proactor = (tiny as unknown as { _proactor: NopProactor })._proactor;
      const nops: number[] = [];
      let nopsDone!: () => void;
      const allNops = new Promise<void>((r) => (nopsDone = r));
      const handler = {
        _complete(res: number) {
          nops.push(res);
          if (nops.length === N) nopsDone();
        },
      };
      // ONE JS turn: N READs, N WRITEs, N NOPs and N POLL_ADDs (sockRecv waits) through a
      // 4-record stage and a 4-entry SQ.
      const reads = Array.from({ length: N }, (_, i) => input.read(Buffer.alloc(512), 0, 512, i * 512));
      const writes = Array.from({ length: N }, (_, i) => output.write(data.subarray(i * 512, (i + 1) * 512), 0, 512, i * 512));
      for (let i = 0; i < N; i++) proactor.nop(handler);
      const polls = Array.from({ length: N }, () => tiny.sockRecv(server, 1));
      t.true(tiny.pendingOps() >= 3 * N, `records staged or in flight in this turn: ${tiny.pendingOps()}`);
      const readResults = await within(20_000, Promise.all(reads), "N file reads");
      t.true(readResults.every((r, i) => r.bytesRead === 512 && r.buffer.equals(data.subarray(i * 512, (i + 1) * 512))), "every read has its own bytes");
      const writeResults = await within(20_000, Promise.all(writes), "N file writes");
      t.true(writeResults.every((w) => w.bytesWritten === 512), "every write wrote 512 bytes");
      await within(20_000, allNops, "N NOPs");
      t.deepEqual([...new Set(nops)], [0], "every NOP completed with 0");
      t.is(nops.length, N, "no NOP completed twice");
      const sent = crypto.randomBytes(N);
      await tiny.sockSendall(client, sent);
      const got = await within(20_000, Promise.all(polls), "N sockRecv waits");
      t.deepEqual([...Buffer.concat(got)].sort((a, b) => a - b), [...sent].sort((a, b) => a - b), "each byte received once");
      const m = tiny.metrics().uring!;
      t.log(`metrics: ${m.sqFull} SQ-full flushes, ${m.enterCalls} io_uring_enter calls for ${m.sqesSubmitted} SQEs, ${m.cqOverflows} CQ overflows`);
      t.true(m.sqFull > 0, "the turn staged more than the SQ holds (the case this test is about)");
      t.is(m.cqDropped, 0);
      await input.close();
      await output.close();
    });
    t.true(nfs.readFileSync(dst).equals(data), "the written file is the source");
    t.is(tiny.pendingOps(), 0);
  } finally {
    for (const s of peers) s.close();
    listener.close();
    tiny.close();
    nfs.rmSync(dir, { recursive: true, force: true });
  }
});
