// TLS as a protocol layer (src/tls/): handshake and application data both ways between our
// client and server, against node:tls on either side, the extra info, ALPN, and bad
// arguments.
import * as tls from "node:tls";
import * as crypto from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, Collector, EchoProtocol, deferred, startEchoServer } from "../streams/_streams.js";
import { serverOptions, clientOptions, nodeTlsServer } from "./_tls.js";

backendTest("tls: our client and our server echo over TLS 1.3; extra info names the session", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const { server, protocols: echoes } = await startEchoServer(loop, "127.0.0.1", { ssl: serverOptions() });
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "127.0.0.1", serverPort(server), { ssl: clientOptions() });
    await client.made.promise;
    const payload = crypto.randomBytes(100_000);
    tr.write(payload);
    await within(10_000, client.waitBytes(payload.length), "echo");
    t.true(client.data().equals(payload));
    const cipher = tr.getExtraInfo("cipher") as tls.CipherNameAndProtocol;
    t.is(cipher.version, "TLSv1.3");
    t.truthy(tr.getExtraInfo("sslcontext"));
    const sslObject = tr.getExtraInfo("ssl_object") as tls.TLSSocket;
    t.is(sslObject.getProtocol(), "TLSv1.3");
    const peercert = tr.getExtraInfo("peercert") as tls.PeerCertificate;
    t.is(peercert.subject.CN, "localhost");
    t.deepEqual(tr.getExtraInfo("peername"), { host: "127.0.0.1", port: serverPort(server), family: 4 });
    t.is((tr.getExtraInfo("sockname") as { host: string }).host, "127.0.0.1");
    t.truthy(tr.getExtraInfo("socket"));
    t.is(echoes[0].transport.getExtraInfo("peercert"), undefined, "no client certificate: no peercert");
    tr.close();
    t.is(await within(10_000, client.lost.promise, "client closed"), null);
    t.is(await within(10_000, echoes[0].lost.promise, "server saw the close"), null);
    await shutdown(server);
  });
});

backendTest("tls: our client against a node:tls server (TLS 1.2 and 1.3), ALPN from the options", async (t, { loop }) => {
  for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
    const got: Buffer[] = [];
    const ended = deferred<void>();
    const srv = await nodeTlsServer({ ...serverOptions(), minVersion: version, maxVersion: version, ALPNProtocols: ["h2", "x-ringloop"] }, (s) => {
      s.on("data", (d: Buffer) => got.push(d));
      s.on("end", () => {
        s.end(`bye ${s.alpnProtocol}`);
        ended.resolve();
      });
    });
    await inLoop(loop, async () => {
      const client = new Collector();
      client.keepOpenOnEof = false;
      const [tr] = await loop.createConnection(() => client, "localhost", srv.port, { ssl: { ...clientOptions(), ALPNProtocols: ["x-ringloop"] } });
      t.is((tr.getExtraInfo("ssl_object") as tls.TLSSocket).alpnProtocol, "x-ringloop");
      t.is((tr.getExtraInfo("cipher") as tls.CipherNameAndProtocol).version, version);
      tr.write(Buffer.from("hello "));
      tr.write(Buffer.from(version));
      tr.writeEof();
      await within(10_000, ended.promise, "node server saw our close_notify");
      t.is(Buffer.concat(got).toString(), `hello ${version}`);
      t.is(await within(10_000, client.lost.promise, "closed"), null);
      t.is(client.data().toString(), "bye x-ringloop");
      t.true(client.eof);
    });
    await srv.close();
  }
});

backendTest("tls: a node:tls client against our server", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const server = await loop.createServer(() => new EchoProtocol(), "127.0.0.1", 0, { ssl: { ...serverOptions(), ALPNProtocols: ["x-ringloop"] } });
    const payload = crypto.randomBytes(1_000_000);
    const result = await within(
      20_000,
      new Promise<{ data: Buffer; alpn: string | false | null }>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const s = tls.connect({ host: "127.0.0.1", port: serverPort(server), ...clientOptions(), servername: "localhost", ALPNProtocols: ["x-ringloop"] }, () => {
          s.end(payload);
        });
        s.on("data", (d: Buffer) => chunks.push(d));
        s.on("error", reject);
        s.on("close", () => resolve({ data: Buffer.concat(chunks), alpn: s.alpnProtocol }));
      }),
      "node:tls client round trip",
    );
    t.true(result.data.equals(payload));
    t.is(result.alpn, "x-ringloop");
    await shutdown(server);
  });
});

backendTest("tls: bad ssl arguments are TypeErrors naming the option", async (t, { loop }) => {
  await inLoop(loop, async () => {
    await t.throwsAsync(loop.createConnection(() => new Collector(), "127.0.0.1", 1, { ssl: 42 }), { instanceOf: TypeError, message: /opts\.ssl/ });
    await t.throwsAsync(loop.createServer(() => new Collector(), "127.0.0.1", 0, { ssl: true }), { instanceOf: TypeError, message: /opts\.ssl/ });
    await t.throwsAsync(loop.createConnection(() => new Collector(), "127.0.0.1", 1, { serverHostname: "x" }), { instanceOf: TypeError, message: /serverHostname/ });
    await t.throwsAsync(loop.createConnection(() => new Collector(), "127.0.0.1", 1, { ssl: true, sslHandshakeTimeout: -1 }), { instanceOf: RangeError, message: /sslHandshakeTimeout/ });
    await t.throwsAsync(loop.createConnection(() => new Collector(), "127.0.0.1", 1, { sslShutdownTimeout: 5 }), { instanceOf: TypeError, message: /only meaningful with ssl/ });
    await t.throwsAsync(loop.createUnixConnection(() => new Collector(), "/nonexistent", { ssl: true }), { instanceOf: TypeError, message: /serverHostname.*required/ });
    await t.throwsAsync(loop.createServer(() => new Collector(), "127.0.0.1", 0, { ssl: { cert: "not a pem", key: "nor this" } }), { message: /PEM|key|certificate/i });
  });
});

backendTest("tls: over Unix sockets (createUnixServer / createUnixConnection with serverHostname)", async (t, { loop }) => {
  const where = path.join(os.tmpdir(), `ringloop-tls-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
  await inLoop(loop, async () => {
    const server = await loop.createUnixServer(() => new EchoProtocol(), where, { ssl: serverOptions() });
    const client = new Collector();
    const [tr] = await loop.createUnixConnection(() => client, where, { ssl: clientOptions(), serverHostname: "localhost" });
    tr.write(Buffer.from("over unix"));
    await within(10_000, client.waitBytes(9), "echo");
    t.is(client.data().toString(), "over unix");
    t.is((tr.getExtraInfo("cipher") as tls.CipherNameAndProtocol).version, "TLSv1.3");
    tr.close();
    t.is(await within(10_000, client.lost.promise, "closed"), null);
    await shutdown(server);
  });
});
