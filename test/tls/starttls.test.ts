// loop.startTls (asyncio's start_tls): a live plain connection upgraded to TLS (STARTTLS),
// with our loop on both sides and against a node:tls peer that upgrades its net.Socket.
import * as net from "node:net";
import * as tls from "node:tls";
import { Protocol, type Transport, type AbstractEventLoop } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, deferred, Collector } from "../streams/_streams.js";
import { serverOptions, clientOptions } from "./_tls.js";

/** Plain text until "STARTTLS\n", then "OK\n" and TLS; echoes with a prefix over TLS. */
class StartTlsServer extends Protocol {
  transport!: Transport;
  tlsTransport: Transport | null = null;
  madeCalls = 0;
  readonly upgraded = deferred<Transport>();
  readonly lost = deferred<Error | null>();
  constructor(private readonly loop: AbstractEventLoop) {
    super();
  }
  override connectionMade(t: Transport): void {
    this.madeCalls++;
    this.transport = t;
  }
  override dataReceived(data: Buffer): void {
    if (this.tlsTransport === null) {
      if (data.toString() !== "STARTTLS\n") throw new Error(`unexpected ${data}`);
      this.transport.write(Buffer.from("OK\n"));
      this.loop.startTls(this.transport, this, serverOptions(), { serverSide: true }).then(
        (t) => {
          this.tlsTransport = t;
          this.upgraded.resolve(t);
        },
        (err) => this.upgraded.reject(err),
      );
      this.tlsTransport = this.transport; // no more plain text is expected
      return;
    }
    this.tlsTransport.write(Buffer.concat([Buffer.from("tls:"), data]));
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

backendTest("tls: STARTTLS: startTls upgrades a live connection on both sides", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const srv = new StartTlsServer(loop);
    const server = await loop.createServer(() => srv, "127.0.0.1", 0);
    const client = new Collector();
    const [plain] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server));
    plain.write(Buffer.from("STARTTLS\n"));
    await within(10_000, client.waitBytes(3), "OK");
    t.is(client.data().toString(), "OK\n");
    const secure = await within(10_000, loop.startTls(plain, client, clientOptions(), { serverHostname: "localhost", handshakeTimeout: 10_000 }), "client upgrade");
    const serverSecure = await within(10_000, srv.upgraded.promise, "server upgrade");
    t.is((secure.getExtraInfo("cipher") as { version: string }).version, "TLSv1.3");
    t.truthy(serverSecure.getExtraInfo("sslcontext"));
    t.is(srv.madeCalls, 1, "startTls calls no connectionMade again (asyncio)");
    t.deepEqual(secure.getExtraInfo("peername"), plain.getExtraInfo("peername"), "the raw transport's keys");
    secure.write(Buffer.from("secret"));
    await within(10_000, client.waitBytes(3 + "tls:secret".length), "echo over TLS");
    t.is(client.data().toString(), "OK\ntls:secret");
    secure.close();
    t.is(await within(10_000, client.lost.promise, "client closed"), null);
    t.is(await within(10_000, srv.lost.promise, "server closed"), null);
    await shutdown(server);
  });
});

backendTest("tls: startTls against a node peer that upgrades its socket; bad arguments", async (t, { loop }) => {
  const srv = net.createServer((sock) => {
    sock.once("data", () => {
      sock.write("OK\n");
      const secure = new tls.TLSSocket(sock, { isServer: true, secureContext: tls.createSecureContext(serverOptions()) });
      secure.on("data", (d: Buffer) => secure.write(Buffer.concat([Buffer.from("node:"), d])));
      secure.on("end", () => secure.end());
      secure.on("error", () => {});
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  try {
    await inLoop(loop, async () => {
      const client = new Collector();
      const [plain] = await loop.createConnection(() => client, "127.0.0.1", (srv.address() as net.AddressInfo).port);
      await t.throwsAsync(loop.startTls(plain, client, clientOptions()), { instanceOf: TypeError, message: /serverHostname.*required/ });
      await t.throwsAsync(loop.startTls({} as Transport, client, clientOptions(), { serverHostname: "localhost" }), { instanceOf: TypeError, message: /"transport"/ });
      await t.throwsAsync(loop.startTls(plain, client, null, { serverHostname: "localhost" }), { instanceOf: TypeError, message: /"sslContext"/ });
      await t.throwsAsync(loop.startTls(plain, client, clientOptions(), { serverHostname: "localhost", sslShutdownTimeout: 0 }), { instanceOf: RangeError, message: /sslShutdownTimeout/ });
      plain.write(Buffer.from("STARTTLS\n"));
      await within(10_000, client.waitBytes(3), "OK");
      const secure = await loop.startTls(plain, client, clientOptions(), { serverHostname: "localhost" });
      secure.write(Buffer.from("hi"));
      await within(10_000, client.waitBytes(3 + "node:hi".length), "echo over TLS");
      t.is(client.data().toString(), "OK\nnode:hi");
      secure.close();
      t.is(await within(10_000, client.lost.promise, "closed"), null);
    });
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
