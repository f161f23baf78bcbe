// Fault: loop.close() with 10,000 operations in flight, on both backends.
//
// 10,000 sockRecv waits (100 per socket on 100 unbound Unix datagram sockets: nothing ever
// arrives), an addReader on each of those sockets, a listening server and 20 connected
// transport pairs reading. Rules checked (README "Sockets", DESIGN.md "Ownership"):
// - every sock* wait rejects with the closed-loop error (code ERR_LOOP_CLOSED), none is left
//   pending and none resolves;
// - the transports' and the server's fds are released by loop.close(); the Sockets stay the
//   caller's (closed here), after which the fd count is back to where it was;
// - nothing is left in flight: pendingOps() is 0, and on io_uring the native count of SQEs
//   the kernel has not completed is 0 too (a close that timed out waiting for the cancelled
//   ops would leave it above 0 and leak their storage on purpose).
// On io_uring the 10,000 polls are staged in one JS turn on a 4096-entry ring (the stage
// is flushed whenever it fills) and the close's cancel-all makes more CQEs than the
// 8192-entry CQ holds; the default ring size is what a program gets.
import { Protocol, socket, type AbstractSocket, type Transport } from "ringloop";
import { backendTest, openFds, settleFds } from "../helpers/backends.js";
import { inLoop, within, serverPort } from "../streams/_streams.js";

const SOCKETS = 100;
const WAITS_PER_SOCKET = 100;
const PAIRS = 20;

backendTest("close with 10,000 ops in flight: every sock* wait rejects ERR_LOOP_CLOSED, no fd left, nothing in flight", async (t, { loop, backend }) => {
  const before = openFds();
  const socks: AbstractSocket[] = Array.from({ length: SOCKETS }, () => socket("unix", "dgram"));
  const outcomes: Promise<string>[] = [];
  let readerCalls = 0;
  await inLoop(loop, async () => {
    for (const s of socks) {
      loop.addReader(s.fileno(), () => readerCalls++);
      for (let i = 0; i < WAITS_PER_SOCKET; i++) {
        outcomes.push(loop.sockRecv(s, 64).then((d) => `resolved ${d.length}`, (e: { code?: string }) => `rejected ${e.code}`));
      }
    }
    const server = await loop.createServer(() => new Protocol(), "127.0.0.1", 0);
    const port = serverPort(server);
    const clients: Transport[] = [];
    for (let i = 0; i < PAIRS; i++) clients.push((await loop.createConnection(() => new Protocol(), "127.0.0.1", port))[0]);
    // Let the stage reach the kernel (one loop iteration) before the close.
    await new Promise((r) => loop.callLater(20, r));
    const pending = loop.pendingOps();
    t.log(`${backend}: ${pending} ops in flight at close`);
    t.true(pending >= SOCKETS * WAITS_PER_SOCKET, `ops in flight before close: ${pending}`);
  });
  const t0 = process.hrtime.bigint();
  loop.close();
  t.log(`${backend}: loop.close() took ${Number(process.hrtime.bigint() - t0) / 1e6} ms`);
  t.is(loop.pendingOps(), 0);
  if (backend === "uring") {
    const ring = (loop as unknown as { _proactor: { ring: { inflight: number } } })._proactor.ring;
    t.is(ring.inflight, 0, "SQEs left in the kernel after close (the close's wait timed out)");
  }
  const results = await within(10_000, Promise.all(outcomes), "every sockRecv settles after loop.close()");
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r, (counts.get(r) ?? 0) + 1);
  t.deepEqual([...counts], [["rejected ERR_LOOP_CLOSED", SOCKETS * WAITS_PER_SOCKET]]);
  t.is(readerCalls, 0, "no reader callback ran: nothing was readable");
  for (const s of socks) s.close();
  t.is(await settleFds(before), before - (backend === "uring" ? 1 : 0), "fds: the ring's closed, every transport's and the server's released, the Sockets closed");
});
