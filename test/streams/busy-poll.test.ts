// uring only: the busy poll after a wake-up (UringEventLoop busyPollUs, native
// Ring::busyPoll). Against an echo peer in another process, a ping-pong's replies come
// back while the ring is still being watched, so some are delivered by the busy poll;
// with busyPollUs 0 none are, nor while the process has as many open rings as CPUs. Also
// the defaults and the option's argument checks.
import test from "ava";
import { spawn, type ChildProcess } from "node:child_process";
import nodeOs from "node:os";
import { UringEventLoop, Protocol, setEventLoop, type Transport } from "ringloop";
import { uringUnavailableReason, openFds, settleFds } from "../helpers/backends.js";
import { inLoop, within, deferred } from "./_streams.js";

const reason = uringUnavailableReason();
const register = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;

const ECHO_PEER = `const s = require("node:net").createServer((c) => c.pipe(c));
s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;

/** A node:net echo server in a child process; resolves its port. */
function startPeer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["-e", ECHO_PEER], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.stdout!.once("data", (d: Buffer) => resolve({ child, port: Number(String(d).trim()) }));
  });
}

/** Sends `rounds` messages of 64 B one at a time, each after the previous came back whole. */
class PingPong extends Protocol {
  transport!: Transport;
  private got = 0;
  private left: number;
  readonly done = deferred<void>();
  constructor(rounds: number) {
    super();
    this.left = rounds;
  }
  override connectionMade(t: Transport): void {
    this.transport = t;
    this.transport.write(Buffer.alloc(64, 1));
  }
  override dataReceived(data: Buffer): void {
    this.got += data.length;
    if (this.got < 64) return;
    this.got -= 64;
    if (--this.left === 0) this.done.resolve();
    else this.transport.write(Buffer.alloc(64, 1));
  }
}

/** Busy-poll deliveries during `rounds` round trips; `extraRings` more loops stay open meanwhile. */
async function spinHitsOver(busyPollUs: number, rounds: number, extraRings = 0): Promise<number> {
  const { child, port } = await startPeer();
  const extra = Array.from({ length: extraRings }, () => new UringEventLoop({ entries: 8, maxOps: 16 }));
  const loop = new UringEventLoop({ busyPollUs });
  setEventLoop(loop);
  const ring = (loop as unknown as { _proactor: { ring: { spinHits: number } } })._proactor.ring;
  try {
    return await inLoop(loop, async () => {
      const before = ring.spinHits;
      const p = new PingPong(rounds);
      const [tr] = await loop.createConnection(() => p, "127.0.0.1", port);
      await within(20_000, p.done.promise, `${rounds} round trips`);
      const hits = ring.spinHits - before;
      tr.close();
      return hits;
    });
  } finally {
    loop.close();
    for (const l of extra) l.close();
    setEventLoop(null);
    child.kill();
  }
}

register("[uring] busy poll: replies from a peer process are delivered by the busy poll; none with busyPollUs 0", async (t) => {
  const fdsBefore = openFds();
  const hits = await spinHitsOver(1000, 200);
  if (nodeOs.cpus().length > 1) t.true(hits > 0, "no reply arrived while the ring was being watched (1 ms window, 200 round trips)");
  else t.is(hits, 0, "one CPU: as many open rings as CPUs, so no busy poll");
  t.is(await spinHitsOver(0, 200), 0, "busyPollUs 0 must not poll");
  const fdsAfter = await settleFds(fdsBefore);
  t.true(fdsAfter <= fdsBefore, `fd leak: ${fdsBefore} before, ${fdsAfter} after`);
});

register("[uring] busy poll: off while the process has as many open rings as CPUs (spinning loops never take every CPU)", async (t) => {
  const fdsBefore = openFds();
  t.is(await spinHitsOver(1000, 200, nodeOs.cpus().length - 1), 0);
  const fdsAfter = await settleFds(fdsBefore);
  t.true(fdsAfter <= fdsBefore, `fd leak: ${fdsBefore} before, ${fdsAfter} after`);
});

register("[uring] busy poll: busyPollUs is checked (integer 0..1000)", (t) => {
  for (const bad of [-1, 1.5, 1001, NaN]) {
    t.throws(() => new UringEventLoop({ busyPollUs: bad }), { instanceOf: RangeError, message: /"opts\.busyPollUs"/ });
  }
  t.throws(() => new UringEventLoop({ busyPollUs: "50" as unknown as number }), { instanceOf: TypeError, message: /"opts\.busyPollUs"/ });
  for (const ok of [0, 1000]) new UringEventLoop({ busyPollUs: ok }).close();
});

register("[uring] busy poll: 50 us by default, 0 on a machine with one CPU", (t) => {
  const multi = new UringEventLoop();
  t.is(multi.busyPollUs, nodeOs.cpus().length > 1 ? 50 : 0);
  multi.close();
  const cpus = nodeOs.cpus;
  nodeOs.cpus = () => cpus().slice(0, 1);
  try {
    const single = new UringEventLoop();
    t.is(single.busyPollUs, 0, "one CPU: the spin would only hold off the peer");
    single.close();
    const forced = new UringEventLoop({ busyPollUs: 20 });
    t.is(forced.busyPollUs, 20, "an explicit value wins");
    forced.close();
  } finally {
    nodeOs.cpus = cpus;
  }
});

register("[uring] busy poll: RINGLOOP_BUSY_POLL_US sets the default (policies, CLI); bad values are RangeErrors", (t) => {
  const saved = process.env.RINGLOOP_BUSY_POLL_US;
  try {
    process.env.RINGLOOP_BUSY_POLL_US = "0";
    const off = new UringEventLoop();
    t.is(off.busyPollUs, 0);
    off.close();
    process.env.RINGLOOP_BUSY_POLL_US = "200";
    const on = new UringEventLoop();
    t.is(on.busyPollUs, 200);
    on.close();
    const explicit = new UringEventLoop({ busyPollUs: 7 });
    t.is(explicit.busyPollUs, 7, "an explicit option wins over the variable");
    explicit.close();
    for (const bad of ["-1", "1001", "1.5", "fast", "50us"]) {
      process.env.RINGLOOP_BUSY_POLL_US = bad;
      t.throws(() => new UringEventLoop(), { instanceOf: RangeError, message: /RINGLOOP_BUSY_POLL_US/ }, bad);
    }
  } finally {
    if (saved === undefined) delete process.env.RINGLOOP_BUSY_POLL_US;
    else process.env.RINGLOOP_BUSY_POLL_US = saved;
  }
});
