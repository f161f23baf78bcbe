// Waits that never complete: Socket.close() with a sock_* wait pending rejects it (EBADF)
// and releases its poll; loop.close() with waits pending rejects them and leaves no op in
// flight; detach() ends waits as close() does.
import { socket, Socket } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, tcpPair } from "./_socket.js";

backendTest("sock: closing a socket with a pending sockRecv/sockAccept rejects them, nothing leaks", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    try {
      const early = loop.sockRecv(pair.client, 10);
      await new Promise((r) => setTimeout(r, 20));
      const fd = pair.client.detach();
      t.is(((await t.throwsAsync(early)) as NodeJS.ErrnoException).code, "EBADF", "detach() ends waits too");
      t.is(loop.pendingOps(), 0);
      pair.client = Socket.fromFd(fd); // still open: adopted again, closed by pair.close()
      const recv = loop.sockRecv(pair.server, 100);
      const accept = loop.sockAccept(pair.listener);
      await new Promise((r) => setTimeout(r, 20));
      t.is(loop.pendingOps(), 2, "one poll per waiting call");
      pair.server.close();
      pair.listener.close();
      t.is(loop.pendingOps(), 0, "close() cancelled the polls before closing the fds");
      const e1 = (await within(5000, t.throwsAsync(recv), "recv rejection")) as NodeJS.ErrnoException;
      t.is(e1.code, "EBADF");
      t.regex(e1.message, /closed while an operation was waiting/);
      const e2 = (await within(5000, t.throwsAsync(accept), "accept rejection")) as NodeJS.ErrnoException;
      t.is(e2.code, "EBADF");
      const e3 = (await t.throwsAsync(loop.sockRecv(pair.server, 1))) as NodeJS.ErrnoException;
      t.is(e3.code, "EBADF", "a closed socket refuses new calls");
    } finally {
      pair.close();
    }
  });
});

backendTest("sock: loop.close() with waits pending rejects them and releases every poll", async (t, { loop }) => {
  const u = socket(4, "dgram");
  u.bind({ host: "127.0.0.1", port: 0 });
  const l = socket(4, "stream");
  l.bind({ host: "127.0.0.1", port: 0 });
  l.listen();
  try {
    const waits = await inLoop(loop, async () => {
      const w = [loop.sockRecvfrom(u, 10), loop.sockAccept(l)];
      for (const p of w) p.catch(() => {});
      await new Promise((r) => setTimeout(r, 20));
      return w;
    });
    t.is(loop.pendingOps(), 2);
    loop.close();
    t.is(loop.pendingOps(), 0);
    for (const p of waits) {
      const err = (await within(5000, t.throwsAsync(p), "rejection")) as NodeJS.ErrnoException;
      t.is(err.code, "ERR_LOOP_CLOSED");
    }
    t.is(u._waits.size + l._waits.size, 0, "the sockets forgot the ended waits");
    await t.throwsAsync(loop.sockRecv(u as never, 1), { message: /closed/ });
  } finally {
    u.close();
    l.close();
  }
});
