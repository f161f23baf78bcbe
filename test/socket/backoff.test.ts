// EAGAIN that readiness does not explain: a Unix stream listener whose backlog is full, and
// an unconnected Unix datagram socket whose receiver's queue is full, both poll writable at
// once, so a retry that only waits for readiness spins on the syscall. The sock_* methods
// pause between such attempts (1, 2, 4 ... 64 ms): over 300 ms a handful of syscalls, not
// thousands, and the call still completes as soon as the peer makes room.
import * as fs from "node:fs";
import { socket } from "ringloop";
import { nativeSockets } from "../../src/addon.js";
import { backendTest, sleep } from "../helpers/backends.js";
import { inLoop, within, tmpSockPath, abstractDgramPair } from "./_socket.js";

type Native = ReturnType<typeof nativeSockets>;

/** Counts the calls of native method `name` while `body` runs. */
async function counting<T>(name: "connect" | "sendTo", body: (calls: () => number) => Promise<T>): Promise<T> {
  const s = nativeSockets() as unknown as Record<string, (...a: unknown[]) => number>;
  const original = s[name];
  let n = 0;
  s[name] = (...a: unknown[]) => {
    n++;
    return original.apply(s, a);
  };
  try {
    return await body(() => n);
  } finally {
    s[name] = original;
  }
}

backendTest("sock backoff: sockConnect to a Unix listener with a full backlog does not spin, and connects once there is room", async (t, { loop }) => {
  const where = tmpSockPath("backoff");
  await inLoop(loop, async () => {
    const listener = socket("unix", "stream");
    const first = socket("unix", "stream");
    const second = socket("unix", "stream");
    try {
      listener.bind(where);
      listener.listen(0); // one connection waits in the queue; the next gets EAGAIN
      await within(5000, loop.sockConnect(first, where), "the first connect");
      await counting("connect", async (calls) => {
        const pending = loop.sockConnect(second, where);
        await sleep(300);
        const during = calls();
        t.true(during >= 2, `it kept trying (${during} connect calls)`);
        t.true(during <= 20, `${during} connect calls in 300 ms: it spins`);
        const [accepted] = await loop.sockAccept(listener);
        accepted.close();
        await within(5000, pending, "the second connect, once the queue had room");
      });
    } finally {
      first.close();
      second.close();
      listener.close();
      fs.rmSync(where, { force: true });
    }
  });
});

backendTest("sock backoff: sockSendto from an unconnected Unix datagram socket to a full receiver does not spin, and sends once it drains", async (t, { loop }) => {
  const pair = abstractDgramPair("backoff");
  const s: Native = nativeSockets();
  await inLoop(loop, async () => {
    try {
      const msg = Buffer.alloc(1024, 7);
      let queued = 0;
      while (s.sendTo(pair.a.fileno(), msg, 0, pair.bn, 0) >= 0) if (++queued > 100_000) throw new Error("the receiver never filled");
      await counting("sendTo", async (calls) => {
        const pending = loop.sockSendto(pair.a, msg, pair.bn);
        await sleep(300);
        const during = calls();
        t.true(during >= 2, `it kept trying (${during} sendto calls)`);
        t.true(during <= 20, `${during} sendto calls in 300 ms: it spins`);
        const buf = Buffer.alloc(2048);
        for (let i = 0; i <= queued; i++) if (s.recv(pair.b.fileno(), buf) < 0) break;
        t.is(await within(5000, pending, "the send, once the receiver drained"), msg.length);
      });
    } finally {
      pair.close();
    }
  });
});
