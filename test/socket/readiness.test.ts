// addReader/addWriter/removeReader/removeWriter: level-triggered callbacks through the
// ready queue, replacement, removal, exceptions to the exception handler, an fd that cannot
// be watched, a reader and a writer on one fd at once; without the addon the fallback
// refuses with NotImplementedError.
import test from "ava";
import { socket, type AbstractSocket as Socket } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, tcpPair, deferred, runScript, fillFdHoles, closeFillers } from "./_socket.js";

backendTest("readiness: argument validation on every backend", async (t, { loop }) => {
  t.throws(() => loop.addReader("3" as never, () => {}), { instanceOf: TypeError, message: /"fd"/ });
  t.throws(() => loop.addReader(-1, () => {}), { instanceOf: RangeError, message: /"fd"/ });
  t.throws(() => loop.addWriter(1.5, () => {}), { instanceOf: RangeError, message: /"fd"/ });
  t.throws(() => loop.addWriter(0, "cb" as never), { instanceOf: TypeError, message: /"callback"/ });
  t.throws(() => loop.removeReader(null as never), { instanceOf: TypeError, message: /"fd"/ });
  t.is(loop.removeReader(0), false, "nothing registered");
  t.is(loop.removeWriter(0), false);
});

backendTest("readiness: addReader is level-triggered, replaceable and removable", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    try {
      const fd = pair.server.fileno();
      const got: string[] = [];
      const drained = deferred();
      // One send of 5 bytes is one readiness change: each call consumes one byte (sockRecv
      // tries the syscall synchronously), so 5 calls prove the readiness is level-triggered.
      let calls = 0;
      loop.addReader(
        fd,
        (tag: string) => {
          calls++;
          void loop.sockRecv(pair.server, 1).then((b) => {
            got.push(`${tag}:${b.toString()}`);
            if (got.length === 5) drained.resolve();
          });
          if (calls === 5) t.true(loop.removeReader(fd));
        },
        "r",
      );
      await loop.sockSendall(pair.client, Buffer.from("abcde"));
      await within(5000, drained.promise, "five readable callbacks");
      t.deepEqual(got, ["r:a", "r:b", "r:c", "r:d", "r:e"]);
      t.false(loop.removeReader(fd), "already removed");
      t.is(loop.pendingOps(), 0, "no poll left after removeReader");

      // Replacement: the second addReader's callback runs, the first never again.
      const seen: string[] = [];
      const second = deferred();
      loop.addReader(fd, () => seen.push("old"));
      loop.addReader(fd, (x: number) => {
        seen.push(`new${x}`);
        t.true(loop.removeReader(fd));
        second.resolve();
      }, 7);
      await loop.sockSendall(pair.client, Buffer.from("z"));
      await within(5000, second.promise, "replaced reader");
      t.deepEqual(seen, ["new7"]);
    } finally {
      pair.close();
    }
  });
});

backendTest("readiness: addWriter fires while writable; exceptions reach the handler", async (t, { loop, takeExceptions }) => {
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    try {
      const fd = pair.client.fileno();
      let calls = 0;
      const three = deferred();
      loop.addWriter(fd, () => {
        calls++;
        if (calls === 3) {
          t.true(loop.removeWriter(fd));
          three.resolve();
        }
        throw new Error(`writer boom ${calls}`);
      });
      await within(5000, three.promise, "three writable callbacks (level-triggered)");
      t.is(calls, 3);
      const exc = takeExceptions();
      t.deepEqual(
        exc.map((c) => String((c.exception as Error).message)),
        ["writer boom 1", "writer boom 2", "writer boom 3"],
      );
      t.regex(String(exc[0].message), /Exception in callback/);
      t.false(loop.removeWriter(fd));
      t.is(loop.pendingOps(), 0);
    } finally {
      pair.close();
    }
  });
});

backendTest("readiness: an fd that cannot be watched is reported and dropped", async (t, { loop, takeExceptions }) => {
  await inLoop(loop, async () => {
    const s = socket(4, "stream");
    const fd = s.fileno();
    s.close();
    let called = false;
    loop.addReader(fd, () => (called = true));
    // The poll completes with EBADF at once; wait (bounded) for it to be reported.
    for (let i = 0; i < 100 && loop.pendingOps() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const exc = takeExceptions();
    t.is(exc.length, 1);
    t.is((exc[0].exception as NodeJS.ErrnoException).code, "EBADF");
    t.regex(String(exc[0].message), /addReader: fd \d+ can no longer be watched/);
    t.false(called);
    t.false(loop.removeReader(fd), "the failed registration is gone");
  });
});

backendTest("readiness: loop.close() drops registrations and their polls", async (t, { loop }) => {
  const s = socket(4, "dgram");
  s.bind({ host: "127.0.0.1", port: 0 });
  try {
    await inLoop(loop, async () => {
      loop.addReader(s.fileno(), () => t.fail("nothing was sent"));
      await new Promise((r) => setTimeout(r, 20));
    });
    t.is(loop.pendingOps(), 1);
    loop.close();
    t.is(loop.pendingOps(), 0);
    t.false(loop.removeReader(s.fileno()), "a closed loop has no readers");
  } finally {
    s.close();
  }
});

backendTest("readiness: a reader and a writer on one fd at once, each called for its own event", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    try {
      const fd = pair.server.fileno();
      let readerCalls = 0;
      let writerCalls = 0;
      let writerCallsAtRead = -1;
      const writes = deferred();
      const read = deferred();
      const moreWrites = deferred();
      loop.addReader(fd, () => {
        readerCalls++;
        writerCallsAtRead = writerCalls;
        t.true(loop.removeReader(fd));
        read.resolve();
      });
      loop.addWriter(fd, () => {
        writerCalls++;
        if (writerCalls === 3) writes.resolve();
        if (writerCallsAtRead >= 0 && writerCalls === writerCallsAtRead + 3) moreWrites.resolve();
      });
      await within(5000, writes.promise, "writable callbacks while the reader waits");
      t.is(readerCalls, 0, "nothing to read yet");
      t.is(loop.pendingOps(), 2, "both wait at once");
      await loop.sockSendall(pair.client, Buffer.from("x"));
      await within(5000, read.promise, "the reader");
      await within(5000, moreWrites.promise, "the writer goes on after the reader is removed");
      t.true(loop.removeWriter(fd));
      t.is(readerCalls, 1);
      t.is(String(await loop.sockRecv(pair.server, 10)), "x", "the reader left the byte where it was");
      t.is(loop.pendingOps(), 0);
    } finally {
      pair.close();
    }
  });
});

backendTest("readiness: an fd closed without removeReader, its number reused: the new socket's waits see the new socket", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    const other = socket(4, "stream");
    let reused: Socket | null = null;
    try {
      const fd = pair.server.fileno();
      loop.addReader(fd, () => {});
      // The connection waits in the listener's queue, so accept() takes fd's number at once.
      await loop.sockConnect(other, pair.listener.getsockname());
      const fillers = fillFdHoles(fd);
      pair.server.close(); // without removeReader: asyncio's contract is broken on purpose
      [reused] = await loop.sockAccept(pair.listener);
      closeFillers(fillers);
      t.is(reused.fileno(), fd, "the accepted socket got the closed one's number");
      const recv = loop.sockRecv(reused, 10);
      await loop.sockSendall(other, Buffer.from("new"));
      t.is(String(await within(5000, recv, "recv on the reused number")), "new");
      t.true(loop.removeReader(fd));
    } finally {
      reused?.close();
      other.close();
      pair.close();
    }
  });
});

test("readiness without the native addon: the fallback raises NotImplementedError naming what to use", async (t) => {
  const script = `r.setEventLoopPolicy(new r.FallbackEventLoopPolicy());
const loop = r.newEventLoop();
const out = [];
for (const f of [() => loop.addReader(0, () => {}), () => loop.addWriter(1, () => {})]) {
  try { f(); out.push("registered"); } catch (e) { out.push({ name: e.name, ok: e instanceof r.NotImplementedError, message: e.message }); }
}
loop.close();
console.log(JSON.stringify(out));`;
  const r = await runScript(script, { RINGLOOP_ADDON: "/nonexistent/ringloop.node" });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Array<{ name: string; ok: boolean; message: string }>;
  t.is(out.length, 2);
  for (const o of out) {
    t.true(o.ok, JSON.stringify(o));
    t.regex(o.message, /fallback backend.*native addon.*unavailable.*addReader\/addWriter.*build.*createConnection/s);
  }
});
