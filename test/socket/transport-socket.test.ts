// getExtraInfo("socket") of a stream transport answers getsockopt: TCP_NODELAY is on by
// default for TCP transports (asyncio sets it), on both ends.
import type { TransportSocket } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, Collector } from "../streams/_streams.js";

backendTest("transport socket: TCP_NODELAY on by default, readable through getsockopt", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const srv = new Collector();
    const server = await loop.createServer(() => srv, "127.0.0.1", 0);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    await within(5000, srv.made.promise, "accepted");
    try {
      let checked = 0;
      for (const sock of [tr.getExtraInfo("socket"), srv.transport.getExtraInfo("socket")] as TransportSocket[]) {
        // The fallback backend may have no fd to give (-1): then getsockopt is EBADF and
        // only the option check is skipped.
        if (sock.fileno() < 0) {
          t.is((t.throws(() => sock.getsockopt("TCP_NODELAY")) as NodeJS.ErrnoException).code, "EBADF");
          continue;
        }
        t.is(sock.getsockopt("TCP_NODELAY"), true, `TCP_NODELAY on ${String(sock)}`);
        t.is(sock.getsockopt("SO_TYPE"), "stream");
        checked++;
      }
      t.log(`${checked} of 2 transport sockets had an fd`);
    } finally {
      tr.close();
      await within(5000, srv.lost.promise, "server side closed");
      await shutdown(server);
    }
  });
});
