// Transport API details: setProtocol/getProtocol switch who gets the data, bad input gets
// a TypeError naming the argument, write() after writeEof() is an error, write() after
// close() is dropped (asyncio logs; it does not throw).
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, startEchoServer, Collector } from "./_streams.js";

backendTest("streams: setProtocol hands later data to the new protocol", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const first = new Collector();
    const second = new Collector();
    const server = await loop.createServer(() => first, "127.0.0.1", 0);
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    tr.write(Buffer.from("one"));
    await within(5000, first.waitBytes(3), "first protocol data");
    first.transport.setProtocol(second);
    t.is(first.transport.getProtocol(), second);
    tr.write(Buffer.from("two"));
    await within(5000, second.waitBytes(3), "second protocol data");
    t.is(first.data().toString(), "one");
    t.is(second.data().toString(), "two");
    tr.close();
    t.is(await within(5000, second.lost.promise, "the new protocol gets connectionLost"), null);
    t.is(first.lostCalls, 0);
    await within(5000, client.lost.promise, "client closed");
    await shutdown(server);
  });
});

backendTest("streams: bad arguments are TypeErrors naming the argument; writes after EOF/close", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { server, port } = await startEchoServer(loop);
    await t.throwsAsync(loop.createConnection("nope" as never, "127.0.0.1", port), { instanceOf: TypeError, message: /protocolFactory/ });
    await t.throwsAsync(loop.createServer("nope" as never, "127.0.0.1", 0), { instanceOf: TypeError, message: /protocolFactory/ });
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", port);
    t.throws(() => tr.write("text" as never), { instanceOf: TypeError, message: /"data" argument/ });
    t.throws(() => tr.writelines(42 as never), { instanceOf: TypeError });
    tr.write(Buffer.alloc(0)); // empty writes are allowed and send nothing
    tr.write(Buffer.from("x"));
    tr.writeEof();
    t.throws(() => tr.write(Buffer.from("y")), { message: /writeEof/ });
    await within(5000, client.lost.promise, "echo closed after our EOF");
    t.is(client.data().toString(), "x");
    const other = new Collector();
    const [tr2] = await loop.createConnection(() => other, "127.0.0.1", port);
    tr2.close();
    t.notThrows(() => tr2.write(Buffer.from("after close")));
    await within(5000, other.lost.promise, "second client closed");
    await shutdown(server);
  });
});
