// The raw datagram sock_* methods (sockSendto, sockRecvfrom, sockRecvfromInto) on dgram
// Sockets, talking to a datagram endpoint: IPv6 and Unix, on both backends (readiness:
// io_uring POLL_ADD, the fallback's libuv poll through the addon).
import { backendTest } from "../helpers/backends.js";
import { socket, type SockAddr } from "ringloop";
import { DgramCollector, inLoop, within } from "./_dgram.js";

backendTest("datagrams: sockSendto / sockRecvfrom / sockRecvfromInto on an IPv6 dgram Socket against a datagram endpoint", async (t, { loop }) => {
  const s = socket(6, "dgram");
  try {
    s.bind({ host: "::1", port: 0 });
    await inLoop(loop, async () => {
      const ep = new DgramCollector();
      const [tr] = await loop.createDatagramEndpoint(() => ep, { localAddr: { host: "::1", port: 0 } });
      const epAddr = tr.getExtraInfo("sockname") as SockAddr;
      t.is(await loop.sockSendto(s, Buffer.from("to endpoint"), epAddr), 11);
      const [got, from] = await within(5000, ep.next(), "datagram at the endpoint");
      t.is(got.toString(), "to endpoint");
      t.deepEqual(from, s.getsockname());
      tr.sendto(Buffer.from("to socket"), from!);
      const [data, addr] = await within(5000, loop.sockRecvfrom(s, 100), "sockRecvfrom");
      t.is(data.toString(), "to socket");
      t.deepEqual(addr, epAddr);
      tr.sendto(Buffer.from("into"), from!);
      const buf = Buffer.alloc(16);
      const [n, addr2] = await within(5000, loop.sockRecvfromInto(s, buf, 8), "sockRecvfromInto");
      t.is(n, 4);
      t.is(buf.subarray(0, n).toString(), "into");
      t.deepEqual(addr2, epAddr);
      tr.close();
      await ep.lost.promise;
    });
  } finally {
    s.close();
  }
});

backendTest("datagrams: sockRecvfrom on a Unix dgram Socket receives from a Unix datagram endpoint", async (t, { loop }) => {
  const s = socket("unix", "dgram");
  const name = `\0ringloop-dgram-sock-${process.pid}`;
  try {
    s.bind(name);
    await inLoop(loop, async () => {
      const ep = new DgramCollector();
      const epName = `\0ringloop-dgram-ep-${process.pid}`;
      const [tr] = await loop.createDatagramEndpoint(() => ep, { localAddr: epName, remoteAddr: name });
      const pending = loop.sockRecvfrom(s, 70_000);
      tr.sendto(Buffer.alloc(60_000, 5));
      const [data, from] = await within(5000, pending, "sockRecvfrom");
      t.true(data.equals(Buffer.alloc(60_000, 5)));
      t.is(from, epName);
      tr.close();
      await ep.lost.promise;
    });
  } finally {
    s.close();
  }
});
