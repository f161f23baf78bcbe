// Servers of perf/tls-bench.mjs, one process each: `node tls-server.mjs VARIANT WORKLOAD CERTDIR`
// with VARIANT uring | fallback (ringloop, the backend forced) | node (node:tls / node:https /
// node:http), WORKLOAD:
//   bulk   TLS; the client's first 9 bytes: 'D' or 'U' + a 64-bit count. D: the server sends
//          that many bytes (with flow control) and closes; U: it reads that many and answers "k".
//   https  a "hello world" keep-alive HTTP answer over TLS: ringloop's TLS feeding a node:http
//          server (feedNodeServer), or node:https.
//   http   the same without TLS: node:http fed by a ringloop Server, or plain node:http.
//   echo   TLS; every byte received is written back (a Protocol's dataReceived, or
//          node:tls's 'data').
// Prints {"port":P} once listening on 127.0.0.1.
import * as fs from "node:fs";
import * as path from "node:path";
import * as http from "node:http";
import * as https from "node:https";
import * as tls from "node:tls";

const [variant, workload, certDir] = process.argv.slice(2);
const ssl = { cert: fs.readFileSync(path.join(certDir, "server.crt")), key: fs.readFileSync(path.join(certDir, "server.key")) };
const BODY = Buffer.from("hello world");
const CHUNK = Buffer.alloc(256 * 1024, 0x61);

function hello(_req, res) {
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": BODY.length });
  res.end(BODY);
}

const ready = (port) => process.stdout.write(JSON.stringify({ port }) + "\n");

if (variant === "node") {
  if (workload === "echo") {
    const server = tls.createServer(ssl, (sock) => {
      sock.on("error", () => {});
      sock.on("data", (d) => sock.write(d));
    });
    server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => ready(server.address().port));
  } else if (workload === "bulk") {
    const server = tls.createServer(ssl, (sock) => {
      let head = Buffer.alloc(0);
      let left = -1;
      sock.on("error", () => {});
      sock.on("data", (d) => {
        if (left < 0) {
          head = Buffer.concat([head, d]);
          if (head.length < 9) return;
          left = Number(head.readBigUInt64BE(1));
          const mode = String.fromCharCode(head[0]);
          d = head.subarray(9);
          if (mode === "D") {
            const pump = () => {
              while (left > 0) {
                const n = Math.min(left, CHUNK.length);
                left -= n;
                if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void sock.once("drain", pump);
              }
              sock.end();
            };
            return pump();
          }
        }
        left -= d.length;
        if (left === 0) sock.end("k");
      });
    });
    server.listen(0, "127.0.0.1", () => ready(server.address().port));
  } else {
    const server = workload === "https" ? https.createServer(ssl, hello) : http.createServer(hello);
    server.keepAliveTimeout = 60_000;
    server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => ready(server.address().port));
  }
} else {
  process.env.RINGLOOP_BACKEND = variant;
  const { run, getRunningLoop, Protocol, feedNodeServer } = await import("../../dist/esm/index.mjs");
  class Bulk extends Protocol {
    head = Buffer.alloc(0);
    left = -1;
    paused = false;
    connectionMade(t) {
      this.t = t;
    }
    dataReceived(d) {
      if (this.left < 0) {
        this.head = Buffer.concat([this.head, d]);
        if (this.head.length < 9) return;
        this.left = Number(this.head.readBigUInt64BE(1));
        d = this.head.subarray(9);
        if (this.head[0] === 0x44) return this.pump();
      }
      this.left -= d.length;
      if (this.left === 0) {
        this.t.write(Buffer.from("k"));
        this.t.close();
      }
    }
    pump() {
      while (this.left > 0 && !this.paused) {
        const n = Math.min(this.left, CHUNK.length);
        this.left -= n;
        this.t.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      }
      if (this.left === 0) this.t.close();
    }
    pauseWriting() {
      this.paused = true;
    }
    resumeWriting() {
      this.paused = false;
      this.pump();
    }
  }
  class Echo extends Protocol {
    connectionMade(t) {
      this.t = t;
    }
    dataReceived(d) {
      this.t.write(d);
    }
  }
  const PROTOCOLS = { bulk: Bulk, echo: Echo };
  await run(async () => {
    const loop = getRunningLoop();
    const app = http.createServer(hello);
    app.keepAliveTimeout = 60_000;
    const factory = PROTOCOLS[workload] ? () => new PROTOCOLS[workload]() : feedNodeServer(app);
    const server = await loop.createServer(factory, "127.0.0.1", 0, { backlog: 4096, ...(workload === "http" ? {} : { ssl }) });
    ready(server.sockets[0].getsockname().port);
    await server.serveForever();
  });
}
