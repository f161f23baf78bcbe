// opts.signal of the sock_* methods: each kind of wait (recv, recv into, recvfrom, recvfrom
// into, accept, sendall, sendto, connect, sendfile) ends with the signal's reason when it
// aborts, its poll is gone, and the socket stays usable with no byte lost; an aborted
// signal refuses at once; a bad one is a TypeError naming opts.signal.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ExecutionContext } from "ava";
import { socket, type AbstractEventLoop, type AbstractSocket as Socket } from "ringloop";
import { backendTest, type LoopContext } from "../helpers/backends.js";
import { inLoop, within, tcpPair, sha256, recvUntilEof, abstractDgramPair, type SocketPair } from "./_socket.js";

const MiB = 1024 * 1024;

/** Lets the loop run (and the call under test reach its wait) before going on. */
function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Starts `call` with a fresh signal, aborts it once the call waits; returns the rejection. */
async function abortWhileWaiting(loop: LoopContext["loop"], call: (signal: AbortSignal) => Promise<unknown>): Promise<{ err: unknown; reason: Error; pendingWhileWaiting: number }> {
  const controller = new AbortController();
  const reason = new Error("stop waiting");
  const pending = call(controller.signal);
  pending.catch(() => {});
  await turn();
  const pendingWhileWaiting = loop.pendingOps();
  controller.abort(reason);
  const err = await within(5000, pending.then(() => "resolved", (e: unknown) => e), "the aborted call");
  return { err, reason, pendingWhileWaiting };
}

/**
 * After an aborted send of `data` on pair.client: sends a marker and closes; the peer must
 * get a prefix of `data` (shorter than all of it), then the marker.
 */
async function assertPrefixThenMarker(t: ExecutionContext, loop: AbstractEventLoop, pair: SocketPair, data: Buffer): Promise<void> {
  const marker = Buffer.from("--marker--");
  const reading = recvUntilEof(loop, pair.server);
  await loop.sockSendall(pair.client, marker);
  pair.client.close();
  const got = await within(30_000, reading, "the peer reads to EOF");
  const prefix = got.subarray(0, got.length - marker.length);
  t.true(got.subarray(got.length - marker.length).equals(marker), "the marker came last");
  t.true(prefix.length < data.length, `a prefix of ${prefix.length} bytes`);
  t.is(sha256(prefix), sha256(data.subarray(0, prefix.length)));
}

async function recvExactly(loop: AbstractEventLoop, s: Socket, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    const b = await loop.sockRecv(s, n - got);
    if (b.length === 0) throw new Error(`EOF after ${got} of ${n} bytes`);
    parts.push(b);
    got += b.length;
  }
  return Buffer.concat(parts);
}

backendTest("sock abort: recv, recvInto and accept waits end with the reason; the socket keeps every byte", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    try {
      const recv = await abortWhileWaiting(loop, (signal) => loop.sockRecv(pair.server, 100, { signal }));
      t.is(recv.pendingWhileWaiting, 1, "sockRecv was waiting");
      t.is(recv.err, recv.reason, "rejects with the signal's reason itself");
      t.is(loop.pendingOps(), 0, "the abort cancelled the poll");
      const into = await abortWhileWaiting(loop, (signal) => loop.sockRecvInto(pair.server, Buffer.alloc(10), { signal }));
      t.is(into.err, into.reason);
      const accept = await abortWhileWaiting(loop, (signal) => loop.sockAccept(pair.listener, { signal }));
      t.is(accept.err, accept.reason);
      t.is(loop.pendingOps(), 0);

      // Usable afterwards, every byte there: what was sent while nobody waited is all read.
      await loop.sockSendall(pair.client, Buffer.from("first"));
      t.is(String(await recvExactly(loop, pair.server, 5)), "first");
      const later = loop.sockRecv(pair.server, 100);
      await loop.sockSendall(pair.client, Buffer.from("second"));
      t.is(String(await within(5000, later, "recv after aborts")), "second");
      const extra = socket(4, "stream");
      try {
        const [[accepted]] = await within(5000, Promise.all([loop.sockAccept(pair.listener), loop.sockConnect(extra, pair.listener.getsockname())]), "accept after abort");
        accepted.close();
      } finally {
        extra.close();
      }

      // An abort racing with data: whatever the outcome, nothing read is dropped.
      const controller = new AbortController();
      const racing = loop.sockRecv(pair.server, 100, { signal: controller.signal });
      racing.catch(() => {});
      await loop.sockSendall(pair.client, Buffer.from("raced"));
      controller.abort();
      const outcome = await racing.then((b) => String(b), (e: Error) => e.name);
      const rest = outcome === "raced" ? "" : String(await recvExactly(loop, pair.server, 5));
      t.true(outcome === "raced" || (outcome === "AbortError" && rest === "raced"), `outcome ${outcome}, then ${rest}`);
    } finally {
      pair.close();
    }
  });
});

backendTest("sock abort: recvfrom and recvfromInto on UDP; the next datagram still arrives", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const a = socket(4, "dgram");
    const b = socket(4, "dgram");
    try {
      a.bind({ host: "127.0.0.1", port: 0 });
      b.bind({ host: "127.0.0.1", port: 0 });
      const from = await abortWhileWaiting(loop, (signal) => loop.sockRecvfrom(b, 100, { signal }));
      t.is(from.pendingWhileWaiting, 1);
      t.is(from.err, from.reason);
      const into = await abortWhileWaiting(loop, (signal) => loop.sockRecvfromInto(b, Buffer.alloc(10), 0, { signal }));
      t.is(into.err, into.reason);
      t.is(loop.pendingOps(), 0);
      const next = loop.sockRecvfrom(b, 100);
      await loop.sockSendto(a, Buffer.from("dgram"), b.getsockname());
      const [data, addr] = await within(5000, next, "recvfrom after aborts");
      t.is(String(data), "dgram");
      t.deepEqual(addr, a.getsockname());
    } finally {
      a.close();
      b.close();
    }
  });
});

backendTest("sock abort: a sendall blocked on a full peer stops; what arrives is a prefix and the stream goes on", async (t, { loop }) => {
  const data = crypto.randomBytes(32 * MiB);
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    try {
      pair.client.setsockopt("SO_SNDBUF", 64 * 1024);
      const sent = await abortWhileWaiting(loop, (signal) => loop.sockSendall(pair.client, data, { signal }));
      t.is(sent.pendingWhileWaiting, 1, "the peer does not read: sendall waits for writability");
      t.is(sent.err, sent.reason);
      t.is(loop.pendingOps(), 0);
      // The socket goes on: a marker after the aborted send reaches the peer after a prefix.
      await assertPrefixThenMarker(t, loop, pair, data);
    } finally {
      pair.close();
    }
  });
});

backendTest("sock abort: sendto waiting on a Unix datagram peer whose queue is full; nothing half-sent", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { a, b, an, bn, close } = abstractDgramPair("abort");
    try {
      // Connected to b, a waits for b's queue to have room (the kernel wakes a when b reads).
      await loop.sockConnect(a, bn);
      let queued = 0;
      const controller = new AbortController();
      const reason = new Error("stop sending");
      let blocked: Promise<number> | null = null;
      while (blocked === null) {
        const p = loop.sockSendto(a, Buffer.from(`d${queued}`), bn, { signal: controller.signal });
        await Promise.race([p.then(() => void queued++), turn()]);
        if (loop.pendingOps() > 0) blocked = p;
      }
      blocked.catch(() => {});
      controller.abort(reason);
      t.is(await within(5000, blocked.then(() => "sent", (e: unknown) => e), "aborted sendto"), reason);
      t.is(loop.pendingOps(), 0);
      // b holds exactly the datagrams sent before, in order; then a can send again.
      for (let i = 0; i < queued; i++) t.is(String((await loop.sockRecvfrom(b, 64))[0]), `d${i}`);
      t.is(await loop.sockSendto(a, Buffer.from("after"), bn), 5);
      const [after, from] = await within(5000, loop.sockRecvfrom(b, 64), "datagram after the abort");
      t.is(String(after), "after");
      t.is(from, an);
      t.true(queued > 0, `${queued} datagrams filled the queue`);
    } finally {
      close();
    }
  });
});

backendTest("sock abort: a connect waiting on a full listener stops; sockConnect again completes it", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const listener = socket(4, "stream");
    const first = socket(4, "stream");
    const second = socket(4, "stream");
    const accepted: Socket[] = [];
    try {
      listener.bind({ host: "127.0.0.1", port: 0 });
      listener.listen(0); // one connection fits the accept queue; SYNs beyond it are dropped
      const where = listener.getsockname();
      await loop.sockConnect(first, where);
      const connect = await abortWhileWaiting(loop, (signal) => loop.sockConnect(second, where, { signal }));
      t.is(connect.pendingWhileWaiting, 1, "the second connect waits (its SYN was dropped)");
      t.is(connect.err, connect.reason);
      t.is(loop.pendingOps(), 0);
      // The attempt goes on in the kernel: connecting again waits for it (EALREADY); taking
      // the first connection off the queue lets the retransmitted SYN in.
      const again = loop.sockConnect(second, where);
      accepted.push((await loop.sockAccept(listener))[0]);
      await within(20_000, again, "the resumed connect (SYN retransmitted after ~1 s)");
      accepted.push((await within(5000, loop.sockAccept(listener), "second accept"))[0]);
      await loop.sockSendall(second, Buffer.from("hi"));
      t.is(String(await recvExactly(loop, accepted[1], 2)), "hi");
    } finally {
      for (const s of [listener, first, second, ...accepted]) s.close();
    }
  });
});

backendTest("sock abort: sockSendfile stops, the peer has a prefix of the file and the socket goes on", async (t, { loop }) => {
  const data = crypto.randomBytes(24 * MiB);
  const file = path.join(os.tmpdir(), `ringloop-abort-sendfile-${process.pid}`);
  fs.writeFileSync(file, data);
  try {
    await inLoop(loop, async () => {
      const pair = await tcpPair(loop);
      try {
        const controller = new AbortController();
        const reason = new Error("stop the file");
        const sending = loop.sockSendfile(pair.client, file, 0, undefined, { signal: controller.signal });
        sending.catch(() => {});
        // The peer does not read yet: wait until the send is stuck on writability.
        for (let i = 0; i < 1000 && loop.pendingOps() === 0; i++) await turn();
        controller.abort(reason);
        const err = await within(10_000, sending.then(() => "sent", (e: unknown) => e), "aborted sendfile");
        t.is(err, reason);
        t.false("bytesSent" in reason, "the caller's reason is not written to");
        t.is(loop.pendingOps(), 0);
        await assertPrefixThenMarker(t, loop, pair, data);
      } finally {
        pair.close();
      }
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
});

backendTest("sock abort: an aborted signal refuses at once, touching nothing; a bad one is a TypeError naming opts.signal", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    const u = socket(4, "dgram");
    const fresh = socket(4, "stream");
    try {
      u.bind({ host: "127.0.0.1", port: 0 });
      await loop.sockSendall(pair.client, Buffer.from("kept"));
      const reason = new Error("already");
      const signal = AbortSignal.abort(reason);
      const calls: Array<() => Promise<unknown>> = [
        () => loop.sockRecv(pair.server, 10, { signal }),
        () => loop.sockRecvInto(pair.server, Buffer.alloc(4), { signal }),
        () => loop.sockSendall(pair.client, Buffer.from("never"), { signal }),
        () => loop.sockSendall(pair.client, Buffer.alloc(0), { signal }),
        () => loop.sockAccept(pair.listener, { signal }),
        () => loop.sockConnect(fresh, pair.listener.getsockname(), { signal }),
        () => loop.sockRecvfrom(u, 10, { signal }),
        () => loop.sockRecvfromInto(u, Buffer.alloc(4), 0, { signal }),
        () => loop.sockSendto(u, Buffer.from("x"), u.getsockname(), { signal }),
        () => loop.sockSendfile(pair.client, __filename, 0, undefined, { signal }),
      ];
      for (const call of calls) t.is(await call().catch((e: unknown) => e), reason, String(call));
      // A reason that is not an Error: an AbortError carrying it.
      const plain = await loop.sockRecv(pair.server, 1, { signal: AbortSignal.abort("why") }).catch((e: unknown) => e);
      t.like(plain, { name: "AbortError", code: "ABORT_ERR", cause: "why" });
      t.is(String(await recvExactly(loop, pair.server, 4)), "kept", "nothing was read by the refused calls");
      t.is(loop.pendingOps(), 0);

      for (const bad of [{}, "signal", null] as const) {
        await t.throwsAsync(loop.sockRecv(pair.server, 1, { signal: bad as never }), { instanceOf: TypeError, message: /"opts\.signal"/ });
      }
      await t.throwsAsync(loop.sockAccept(pair.listener, 5 as never), { instanceOf: TypeError, message: /"opts"/ });
      await t.throwsAsync(loop.sockSendfile(pair.client, __filename, 0, undefined, { signal: 1 as never }), { instanceOf: TypeError, message: /"opts\.signal"/ });
      t.throws(() => fresh.getpeername(), { message: /ENOTCONN/ }, "the refused connect did not connect");
    } finally {
      pair.close();
      u.close();
      fresh.close();
    }
  });
});
