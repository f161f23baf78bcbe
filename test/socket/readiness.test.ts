// addReader/addWriter/removeReader/removeWriter: level-triggered callbacks through the
// ready queue, replacement, removal, exceptions to the exception handler, an fd that cannot
// be watched, a reader and a writer on one fd at once; without the addon the fallback
// refuses with NotImplementedError.
import test from "ava";
import { socket } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, tcpPair, deferred, runScript } from "./_socket.js";

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
