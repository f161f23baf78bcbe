// Certificate checks (Node's error codes), client certificates, and handshakes that fail:
// a peer that resets mid-handshake, a silent peer (handshake timeout), a server whose
// handshake fails (logged only, as asyncio; nothing leaks).
import * as net from "node:net";
import * as fs from "node:fs";
import * as tls from "node:tls";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, Collector, EchoProtocol, deferred } from "../streams/_streams.js";
import { certs, serverOptions, clientOptions } from "./_tls.js";

type CodedError = Error & { code?: string };

const REJECTIONS = [
  ["a certificate for another name", "other", {}, "ERR_TLS_CERT_ALTNAME_INVALID"],
  ["an expired certificate", "expired", {}, "CERT_HAS_EXPIRED"],
  ["a self-signed certificate", "self", {}, "DEPTH_ZERO_SELF_SIGNED_CERT"],
  ["a certificate from a CA the system store lacks (ssl: true)", "good", { systemCas: true }, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
] as const;

for (const [what, which, how, code] of REJECTIONS) {
  backendTest(`tls: ${what} is rejected with ${code}`, async (t, { loop }) => {
    await inLoop(loop, async () => {
      const server = await loop.createServer(() => new EchoProtocol(), "127.0.0.1", 0, { ssl: serverOptions(which) });
      const made = deferred<void>();
      const client = new Collector();
      client.made.promise.then(() => made.resolve());
      const ssl = "systemCas" in how ? true : clientOptions();
      const err = (await t.throwsAsync(loop.createConnection(() => client, "localhost", serverPort(server), { ssl }))) as CodedError;
      t.is(err.code, code);
      t.is(client.lostCalls, 0, "the protocol never saw the connection");
      await shutdown(server);
    });
  });
}

backendTest("tls: serverHostname '' checks no name; an IP host is checked against the IP SANs", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const other = await loop.createServer(() => new EchoProtocol(), "127.0.0.1", 0, { ssl: serverOptions("other") });
    const [tr1] = await loop.createConnection(() => new Collector(), "127.0.0.1", serverPort(other), { ssl: clientOptions(), serverHostname: "" });
    tr1.close();
    const good = await loop.createServer(() => new EchoProtocol(), "127.0.0.1", 0, { ssl: serverOptions() });
    const [tr2] = await loop.createConnection(() => new Collector(), "127.0.0.1", serverPort(good), { ssl: clientOptions() });
    t.is((tr2.getExtraInfo("ssl_object") as tls.TLSSocket).servername, false, "no SNI for an IP address");
    tr2.close();
    const err = (await t.throwsAsync(loop.createConnection(() => new Collector(), "127.0.0.1", serverPort(other), { ssl: clientOptions() }))) as CodedError;
    t.is(err.code, "ERR_TLS_CERT_ALTNAME_INVALID");
    await shutdown(other);
    await shutdown(good);
  });
});

backendTest("tls: client certificates: peercert on the server; a server requiring one rejects a client without", async (t, { loop }) => {
  const c = certs();
  await inLoop(loop, async () => {
    const conns: Collector[] = [];
    const server = await loop.createServer(
      () => {
        const p = new Collector();
        conns.push(p);
        return p;
      },
      "127.0.0.1",
      0,
      { ssl: { ...serverOptions(), ca: fs.readFileSync(c.caCert), requestCert: true, rejectUnauthorized: true } },
    );
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "localhost", serverPort(server), {
      ssl: { ...clientOptions(), cert: fs.readFileSync(c.clientCert), key: fs.readFileSync(c.clientKey) },
    });
    tr.write(Buffer.from("x"));
    await within(10_000, conns[0]?.waitBytes(1) ?? Promise.reject(new Error("no connection")), "server got data");
    t.is((conns[0].transport.getExtraInfo("peercert") as tls.PeerCertificate).subject.CN, "client");
    tr.close();
    await within(10_000, conns[0].lost.promise, "closed");
    // Without a certificate: TLS 1.3 lets the client finish first, so the refusal may come
    // as the handshake's failure or as the connection's end right after it.
    const bare = new Collector();
    let outcome: CodedError | null;
    try {
      await loop.createConnection(() => bare, "localhost", serverPort(server), { ssl: clientOptions() });
      outcome = (await within(10_000, bare.lost.promise, "refused after the handshake")) as CodedError | null;
    } catch (err) {
      outcome = err as CodedError;
    }
    t.truthy(outcome, "the connection failed");
    t.regex(String(outcome?.code), /^(ERR_SSL_|ECONNRESET)/);
    t.is(conns.length, 2, "the server made a protocol at accept (asyncio)");
    t.is(conns[1].lostCalls, 0, "and it never saw a connection");
    await shutdown(server);
  });
});

backendTest("tls: a peer that resets mid-handshake fails the connection with ECONNRESET", async (t, { loop }) => {
  const srv = net.createServer((s) => {
    s.once("data", () => s.resetAndDestroy());
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  try {
    await inLoop(loop, async () => {
      const err = (await t.throwsAsync(loop.createConnection(() => new Collector(), "localhost", (srv.address() as net.AddressInfo).port, { ssl: clientOptions() }))) as CodedError;
      t.is(err.code, "ECONNRESET");
    });
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

backendTest("tls: the handshake timeout fires against a silent peer", async (t, { loop }) => {
  const sockets: net.Socket[] = [];
  const srv = net.createServer((s) => {
    s.on("error", () => {});
    sockets.push(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  try {
    await inLoop(loop, async () => {
      const err = (await t.throwsAsync(
        loop.createConnection(() => new Collector(), "localhost", (srv.address() as net.AddressInfo).port, { ssl: clientOptions(), sslHandshakeTimeout: 200 }),
      )) as CodedError;
      t.is(err.code, "ERR_TLS_HANDSHAKE_TIMEOUT");
      t.is(err.name, "TimeoutError");
    });
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

backendTest("tls: a server's silent client is dropped at the handshake timeout; closeClients reaches handshaking connections", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const server = await loop.createServer(() => new Collector(), "127.0.0.1", 0, { ssl: serverOptions(), handshakeTimeout: 200 });
    const closed = (s: net.Socket): Promise<void> => new Promise((r) => s.once("close", () => r()));
    const silent = net.connect(serverPort(server), "127.0.0.1");
    silent.on("error", () => {});
    await within(10_000, closed(silent), "silent client dropped by the server");
    const second = net.connect(serverPort(server), "127.0.0.1");
    second.on("error", () => {});
    await new Promise((r) => second.once("connect", r));
    server.close();
    // The accept may still be on its way: closeClients until the connection is gone.
    const gone = closed(second);
    for (let i = 0; i < 200 && second.readyState !== "closed"; i++) {
      server.closeClients();
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10))]);
    }
    await within(10_000, gone, "closeClients ended the handshaking connection");
    await within(10_000, server.waitClosed(), "waitClosed");
    t.pass();
  });
});
