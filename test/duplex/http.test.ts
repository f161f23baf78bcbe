// Unchanged Node HTTP code on ringloop connections: a node:http server fed by a ringloop
// Server (feedNodeServer), driven by curl (plain and through ringloop's TLS) and by wrk
// keep-alive; http.request and undici with connectDuplex against node:http; a 256 MiB
// response through the duplex with backpressure.
import * as http from "node:http";
import * as net from "node:net";
import * as crypto from "node:crypto";
import { Client } from "undici";
import { feedNodeServer, connectDuplex, type TransportDuplex } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, runChild } from "../streams/_streams.js";
import { certs, serverOptions, clientEnv } from "../tls/_tls.js";

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const sock = req.socket as unknown as TransportDuplex;
  res.setHeader("content-type", "text/plain");
  res.end(`${req.method} ${req.url} from ${sock.remoteAddress} encrypted=${sock.encrypted === true}\n`);
}

backendTest("duplex: a node:http server fed by a ringloop Server, driven by curl (keep-alive) and over ringloop TLS", async (t, { loop }) => {
  const app = http.createServer(handler);
  await inLoop(loop, async () => {
    const server = await loop.createServer(feedNodeServer(app), "127.0.0.1", 0);
    const url = `http://127.0.0.1:${serverPort(server)}`;
    const r = await runChild("curl", ["-sS", "-w", "connects=%{num_connects}\\n", `${url}/a`, `${url}/b`], null, 20_000, clientEnv());
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout.toString(), "GET /a from 127.0.0.1 encrypted=false\nconnects=1\nGET /b from 127.0.0.1 encrypted=false\nconnects=0\n", "the second request reused the connection");

    const secure = await loop.createServer(feedNodeServer(app), "127.0.0.1", 0, { ssl: serverOptions() });
    const s = await runChild("curl", ["-sS", "--cacert", certs().caCert, `https://localhost:${serverPort(secure)}/tls`], null, 20_000, clientEnv());
    t.is(s.code, 0, s.stderr);
    t.is(s.stdout.toString(), "GET /tls from 127.0.0.1 encrypted=true\n");
    app.closeAllConnections();
    await shutdown(server);
    await shutdown(secure);
  });
});

backendTest("duplex: wrk keep-alive load against node:http fed by ringloop", async (t, { loop }) => {
  const app = http.createServer((_req, res) => res.end("ok"));
  let served = 0;
  app.on("request", () => served++);
  await inLoop(loop, async () => {
    const server = await loop.createServer(feedNodeServer(app), "127.0.0.1", 0);
    const r = await runChild("wrk", ["-t1", "-c8", "-d1s", `http://127.0.0.1:${serverPort(server)}/`], null, 30_000, clientEnv());
    t.is(r.code, 0, r.stderr);
    const out = r.stdout.toString();
    const total = Number(/(\d+) requests in/.exec(out)?.[1]);
    t.true(total > 100, out);
    t.notRegex(out, /Non-2xx|Socket errors/, out);
    t.true(served >= total, `node:http answered ${served} of wrk's ${total}`);
    app.closeAllConnections();
    await shutdown(server);
  });
});

/** A plain node:http server (on Node's own net) answering with the method, url and body length. */
async function nodeHttpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const srv = http.createServer((req, res) => {
    let n = 0;
    req.on("data", (d: Buffer) => (n += d.length));
    req.on("end", () => res.end(`${req.method} ${req.url} ${n}`));
  });
  srv.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        srv.closeAllConnections();
      }),
  };
}

function request(opts: http.RequestOptions, body: string | null): Promise<{ status: number; text: string; socket: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString(), socket: req.socket }));
    });
    req.on("error", reject);
    req.end(body ?? undefined);
  });
}

backendTest("duplex: http.request over ringloop connections (createConnection and a keep-alive Agent) against node:http", async (t, { loop }) => {
  const srv = await nodeHttpServer();
  try {
    await inLoop(loop, async () => {
      const one = await request(
        { host: "127.0.0.1", port: srv.port, method: "POST", path: "/one", createConnection: (o: http.ClientRequestArgs, cb: (e: Error | null, s?: TransportDuplex) => void) => connectDuplex({ host: o.host!, port: Number(o.port) }, cb) } as http.RequestOptions,
        "x".repeat(100_000),
      );
      t.is(one.status, 200);
      t.is(one.text, "POST /one 100000");
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      (agent as unknown as { createConnection: unknown }).createConnection = (o: http.ClientRequestArgs, cb: (e: Error | null, s?: TransportDuplex) => void) => connectDuplex({ host: o.host!, port: Number(o.port) }, cb);
      const a = await request({ host: "127.0.0.1", port: srv.port, path: "/a", agent }, null);
      const b = await request({ host: "127.0.0.1", port: srv.port, path: "/b", agent }, null);
      t.is(a.text, "GET /a 0");
      t.is(b.text, "GET /b 0");
      t.is(a.socket, b.socket, "the Agent kept the ringloop connection alive and reused it");
      const closed = new Promise((r) => (a.socket as TransportDuplex).once("close", r));
      agent.destroy();
      await within(10_000, closed, "the Agent's connection closed");
      // destroyed is set when destroy() is called; closed only once the transport has closed.
      if (!(one.socket as TransportDuplex).closed) await within(10_000, new Promise((r) => (one.socket as TransportDuplex).once("close", r)), "first connection closed");
    });
  } finally {
    await srv.close();
  }
});

backendTest("duplex: undici's connect option over ringloop connections against node:http", async (t, { loop }) => {
  const srv = await nodeHttpServer();
  try {
    await inLoop(loop, async () => {
      const made: TransportDuplex[] = [];
      const client = new Client(`http://127.0.0.1:${srv.port}`, {
        connect: (opts, cb) => {
          made.push(connectDuplex({ host: opts.hostname, port: Number(opts.port) }, (err, d) => (cb as (e: Error | null, s: unknown) => void)(err, d ?? null)));
        },
      });
      for (const path of ["/u1", "/u2", "/u3"]) {
        const res = await client.request({ path, method: "PUT", body: "body!" });
        t.is(res.statusCode, 200);
        t.is(await res.body.text(), `PUT ${path} 5`);
      }
      await client.close();
      t.is(made.length, 1, "one keep-alive connection for the three requests");
      if (!made[0].closed) await within(10_000, new Promise((r) => made[0].once("close", r)), "undici's connection closed");
    });
  } finally {
    await srv.close();
  }
});

backendTest("duplex: a 256 MiB response through the duplex keeps its buffers bounded (backpressure to a slow client)", async (t, { loop }) => {
  const CHUNK = 1024 * 1024;
  const block = crypto.randomBytes(CHUNK);
  const TOTAL = 256;
  let maxBuffered = 0;
  const app = http.createServer((_req, res) => {
    const sock = res.socket as unknown as TransportDuplex;
    res.setHeader("content-length", String(TOTAL * CHUNK));
    let sent = 0;
    const pump = (): void => {
      while (sent < TOTAL) {
        sent++;
        const more = res.write(block);
        const transport = sock.getTransport();
        maxBuffered = Math.max(maxBuffered, sock.writableLength + (transport?.getWriteBufferSize() ?? 0));
        if (!more) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  await inLoop(loop, async () => {
    const server = await loop.createServer(feedNodeServer(app), "127.0.0.1", 0);
    const expected = crypto.createHash("sha256");
    for (let i = 0; i < TOTAL; i++) expected.update(block);
    const got = await within(
      120_000,
      new Promise<{ bytes: number; hash: string }>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port: serverPort(server), path: "/big" }, (res) => {
            const h = crypto.createHash("sha256");
            let bytes = 0;
            let nextPause = 32 * CHUNK;
            res.on("data", (d: Buffer) => {
              h.update(d);
              bytes += d.length;
              // A slow reader: a short stop every 32 MiB.
              if (bytes >= nextPause) {
                nextPause += 32 * CHUNK;
                res.pause();
                setTimeout(() => res.resume(), 20);
              }
            });
            res.on("end", () => resolve({ bytes, hash: h.digest("hex") }));
            res.on("error", reject);
          })
          .on("error", reject);
      }),
      "256 MiB response",
    );
    t.is(got.bytes, TOTAL * CHUNK);
    t.is(got.hash, expected.digest("hex"));
    t.true(maxBuffered < 8 * CHUNK, `at most ${maxBuffered} bytes were buffered on the server side`);
    app.closeAllConnections();
    await shutdown(server);
  });
});
