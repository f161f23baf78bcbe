// 10,000 connections opened and closed (batches of 100, each connection echoes one byte)
// leave the process with no more fds than before.
import { Protocol, type Transport } from "ringloop";
import { backendTest, openFds, settleFds } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, startEchoServer, deferred } from "./_streams.js";

class Ping extends Protocol {
  transport!: Transport;
  readonly lost = deferred<Error | null>();
  override connectionMade(t: Transport): void {
    this.transport = t;
    t.write(Buffer.from("p"));
  }
  override dataReceived(): void {
    this.transport.close();
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

backendTest("streams: 10,000 connections opened and closed, no fd growth", async (t, { loop }) => {
  const total = 10_000;
  const batch = 100;
  await inLoop(loop, async () => {
    const { server, protocols } = await startEchoServer(loop);
    const port = serverPort(server);
    const before = openFds();
    let errors = 0;
    for (let done = 0; done < total; done += batch) {
      const clients = Array.from({ length: batch }, () => new Ping());
      await within(
        10_000,
        Promise.all(clients.map((c) => loop.createConnection(() => c, "127.0.0.1", port))),
        `connect batch at ${done}`,
      );
      const excs = await within(10_000, Promise.all(clients.map((c) => c.lost.promise)), `close batch at ${done}`);
      errors += excs.filter((e) => e !== null).length;
    }
    await within(10_000, Promise.all(protocols.map((p) => p.lost.promise)), "server side of every connection closed");
    t.is(errors, 0);
    t.is(protocols.length, total);
    const after = await settleFds(before);
    t.true(after <= before, `fds: ${before} before, ${after} after`);
    protocols.length = 0;
    await shutdown(server);
  });
});
