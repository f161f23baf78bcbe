// sock_* methods moving data: TCP connect/accept and 8 MiB each way, recvInto, UDP and Unix
// datagrams, a Unix stream pair, connect refused; sockRecv and sockSendall at once on one
// socket; a socat peer.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { spawn } from "node:child_process";
import { socket, type AbstractSocket as Socket, type AbstractEventLoop } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, sha256, closedPort, tcpPair, tmpSockPath, fillFdHoles, closeFillers, abstractDgramPair } from "./_socket.js";

const MiB = 1024 * 1024;

/** Receives exactly `expected` bytes (sockRecv, or sockRecvInto a reused buffer); returns their hash. */
async function recvExactly(loop: AbstractEventLoop, s: Socket, expected: number, into: boolean): Promise<string> {
  const h = crypto.createHash("sha256");
  const buf = Buffer.alloc(100_000);
  let got = 0;
  while (got < expected) {
    let chunk: Buffer;
    if (into) chunk = buf.subarray(0, await loop.sockRecvInto(s, buf));
    else chunk = await loop.sockRecv(s, 65536);
    if (chunk.length === 0) throw new Error(`EOF after ${got} of ${expected} bytes`);
    h.update(chunk);
    got += chunk.length;
  }
  if (got !== expected) throw new Error(`received ${got} bytes, expected ${expected}`);
  return h.digest("hex");
}

backendTest("sock: connect/accept, 8 MiB each way with sockSendall/sockRecv", async (t, { loop }) => {
  const up = crypto.randomBytes(8 * MiB);
  const down = crypto.randomBytes(8 * MiB);
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    try {
      t.deepEqual(pair.server.getpeername(), pair.client.getsockname());
      const [, , upHash, downHash] = await within(
        60_000,
        Promise.all([
          loop.sockSendall(pair.client, up),
          loop.sockSendall(pair.server, down),
          recvExactly(loop, pair.server, up.length, false),
          recvExactly(loop, pair.client, down.length, true),
        ]),
        "8 MiB each way",
      );
      t.is(upHash, sha256(up));
      t.is(downHash, sha256(down));
      pair.client.close();
      t.is((await loop.sockRecv(pair.server, 10)).length, 0, "EOF after the peer closed");
    } finally {
      pair.close();
    }
  });
});

backendTest("sock: Unix stream pair, sockRecvInto with a typed array view", async (t, { loop }) => {
  const where = tmpSockPath("pair");
  await inLoop(loop, async () => {
    const listener = socket("unix", "stream");
    const client = socket("unix", "stream");
    let server: Socket | null = null;
    try {
      listener.bind(where);
      listener.listen();
      const [[accepted, peer]] = await Promise.all([loop.sockAccept(listener), loop.sockConnect(client, where)]);
      server = accepted;
      t.is(peer, "", "an unbound Unix client has an empty name");
      t.is(server.family, "unix");
      const msg = crypto.randomBytes(3000);
      await loop.sockSendall(client, msg);
      const u16 = new Uint16Array(1000);
      let got = 0;
      const view = Buffer.from(u16.buffer);
      while (got < 2000) got += await loop.sockRecvInto(server, new Uint8Array(u16.buffer, got, 2000 - got));
      t.true(view.equals(msg.subarray(0, 2000)));
      const rest = await loop.sockRecv(server, 5000);
      t.true(rest.equals(msg.subarray(2000)));
    } finally {
      client.close();
      server?.close();
      listener.close();
      fs.rmSync(where, { force: true });
    }
  });
});

backendTest("sock: UDP sockSendto / sockRecvfrom / sockRecvfromInto on 127.0.0.1", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const a = socket(4, "dgram");
    const b = socket(4, "dgram");
    try {
      a.bind({ host: "127.0.0.1", port: 0 });
      b.bind({ host: "127.0.0.1", port: 0 });
      const received = loop.sockRecvfrom(b, 2048);
      t.is(await loop.sockSendto(a, Buffer.from("hello"), b.getsockname()), 5);
      const [data, from] = await within(5000, received, "recvfrom");
      t.is(data.toString(), "hello");
      t.deepEqual(from, a.getsockname());
      t.is(await loop.sockSendto(b, new Uint8Array([1, 2, 3, 4]), { host: "127.0.0.1", port: (a.getsockname() as { port: number }).port }), 4);
      const buf = Buffer.alloc(16);
      const [n, from2] = await within(5000, loop.sockRecvfromInto(a, buf, 3), "recvfromInto");
      t.is(n, 3, "nbytes limits the read (the rest of the datagram is dropped)");
      t.deepEqual([...buf.subarray(0, 3)], [1, 2, 3]);
      t.deepEqual(from2, b.getsockname());
    } finally {
      a.close();
      b.close();
    }
  });
});

backendTest("sock: Unix datagrams between two abstract names", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { a, b, an, bn, close } = abstractDgramPair("dgram");
    try {
      const payload = crypto.randomBytes(4000);
      const received = loop.sockRecvfrom(b, 8192);
      t.is(await loop.sockSendto(a, payload, bn), payload.length);
      const [data, from] = await within(5000, received, "recvfrom");
      t.true(data.equals(payload));
      t.is(from, an);
    } finally {
      close();
    }
  });
});

backendTest("sock: connect to a closed port -> ECONNREFUSED with the address", async (t, { loop }) => {
  const port = await closedPort();
  await inLoop(loop, async () => {
    const s = socket(4, "stream");
    try {
      const err = (await t.throwsAsync(loop.sockConnect(s, { host: "127.0.0.1", port }))) as NodeJS.ErrnoException & { address?: string; port?: number };
      t.is(err.code, "ECONNREFUSED");
      t.is(err.syscall, "connect");
      t.is(err.address, "127.0.0.1");
      t.is(err.port, port);
    } finally {
      s.close();
    }
  });
});

backendTest("sock: sockRecv and sockSendall wait on one socket at once", async (t, { loop }) => {
  const big = crypto.randomBytes(16 * MiB);
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    try {
      const recv = loop.sockRecv(pair.client, 100);
      const send = loop.sockSendall(pair.client, big); // the peer does not read yet: it waits
      await new Promise((r) => setImmediate(r));
      t.is(loop.pendingOps(), 2, "a read wait and a write wait on the same socket");
      const [got] = await within(30_000, Promise.all([recvExactly(loop, pair.server, big.length, false), send]), "16 MiB while the recv waits");
      t.is(got, sha256(big));
      t.is(loop.pendingOps(), 1, "the recv still waits");
      await loop.sockSendall(pair.server, Buffer.from("reply"));
      t.is(String(await within(5000, recv, "the recv")), "reply");
    } finally {
      pair.close();
    }
  });
});

backendTest("sock: 8 MiB through a socat echo peer, sending and receiving at once on one socket", async (t, { loop }) => {
  const data = crypto.randomBytes(8 * MiB);
  const port = await closedPort();
  // -b 4096: socat's PIPE echo writes its blocks to its own pipe blocking; a block larger
  // than the room poll promises (one page) can block it for good once the pipe fills.
  const socat = spawn("socat", ["-b", "4096", `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, "PIPE"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  socat.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    await inLoop(loop, async () => {
      const s = await connectRetrying(loop, { host: "127.0.0.1", port });
      try {
        const [, echoed] = await within(60_000, Promise.all([loop.sockSendall(s, data), recvExactly(loop, s, data.length, true)]), `echo through socat (${stderr})`);
        t.is(echoed, sha256(data));
      } finally {
        s.close();
      }
    });
  } finally {
    socat.kill("SIGKILL");
  }
});

backendTest("sock: a socket closed after its recv and its number taken by accept at once: the new socket's recv sees the new socket", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const pair = await tcpPair(loop);
    const other = socket(4, "stream");
    let next: Socket | null = null;
    try {
      await loop.sockConnect(other, pair.listener.getsockname()); // waits in the accept queue
      const fd = pair.server.fileno();
      const fillers = fillFdHoles(fd);
      // All in the continuation of one readiness event: recv, close, accept, recv again.
      const chain = loop.sockRecv(pair.server, 10).then(async (first) => {
        pair.server.close();
        [next] = await loop.sockAccept(pair.listener);
        closeFillers(fillers);
        return [String(first), next.fileno(), loop.sockRecv(next, 10)] as const;
      });
      await loop.sockSendall(pair.client, Buffer.from("old"));
      const [first, nextFd, recv] = await within(5000, chain, "recv, close, accept");
      t.is(first, "old");
      t.is(nextFd, fd, "accept took the closed socket's number");
      await loop.sockSendall(other, Buffer.from("new"));
      t.is(String(await within(5000, recv, "recv on the new socket")), "new");
    } finally {
      (next as Socket | null)?.close();
      other.close();
      pair.close();
    }
  });
});

/** Connects to a server that may not listen yet (socat starting), retrying refused connects. */
async function connectRetrying(loop: AbstractEventLoop, addr: { host: string; port: number }): Promise<Socket> {
  for (let i = 0; ; i++) {
    const s = socket(4, "stream");
    try {
      await loop.sockConnect(s, addr);
      return s;
    } catch (e) {
      s.close();
      if ((e as NodeJS.ErrnoException).code !== "ECONNREFUSED" || i >= 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
