// Closing a loop releases every stream handle its backend holds (Proactor.close(): "releases
// every handle"), even when the program forgot to close its transports and servers.
import { Protocol, type Transport } from "ringloop";
import { backendTest, openFds, settleFds } from "./helpers/backends.js";

backendTest("loop.close() with a server and connected transports still open releases their fds", async (t, { loop }) => {
  const before = openFds();
  const l = loop as unknown as {
    createServer(f: () => Protocol, host: string, port: number): Promise<{ sockets: { getsockname(): { port: number } }[] }>;
    createConnection(f: () => Protocol, host: string, port: number): Promise<[Transport, Protocol]>;
  };
  let accepted = 0;
  class Count extends Protocol {
    override connectionMade() {
      accepted++;
    }
  }
  await loop.runUntilComplete(
    (async () => {
      const server = await l.createServer(() => new Count(), "127.0.0.1", 0);
      const port = server.sockets[0].getsockname().port;
      for (let i = 0; i < 3; i++) await l.createConnection(() => new Protocol(), "127.0.0.1", port);
      const end = Date.now() + 5000;
      while (accepted < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    })(),
  );
  t.is(accepted, 3);
  t.true(openFds() >= before + 7, "a listener and 3 x 2 connection fds are open");
  loop.close();
  // <=: closing the loop also closes the backend's own fds (the ring), opened before `before`.
  const after = await settleFds(before);
  t.true(after <= before, `every fd released by loop.close(): ${before} before, ${after} after`);
});
