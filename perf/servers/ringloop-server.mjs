// ringloop server over the public API only. Usage: node ringloop-server.mjs uring|fallback echo|buffered|http
// Listens on 127.0.0.1, an ephemeral port, and prints {"port":P} once listening.
import { UringEventLoop, FallbackEventLoop, Protocol, BufferedProtocol } from "ringloop";
import { RequestSplitter, responses } from "./http-common.mjs";

const [backend, mode] = process.argv.slice(2);
if (backend !== "uring" && backend !== "fallback") throw new TypeError("backend must be uring or fallback");
if (mode !== "echo" && mode !== "buffered" && mode !== "http") throw new TypeError("mode must be echo, buffered or http");

class Echo extends Protocol {
  connectionMade(transport) {
    this.transport = transport;
  }
  dataReceived(data) {
    this.transport.write(data);
  }
}

/** uvloop's "buffered" echo: reads land in this connection's own buffer (no Buffer per chunk). */
class BufferedEcho extends BufferedProtocol {
  buf = Buffer.allocUnsafe(64 * 1024);
  connectionMade(transport) {
    this.transport = transport;
  }
  getBuffer() {
    return this.buf;
  }
  bufferUpdated(n) {
    this.transport.write(this.buf.subarray(0, n));
  }
}

class Hello extends Protocol {
  splitter = new RequestSplitter();
  connectionMade(transport) {
    this.transport = transport;
  }
  dataReceived(data) {
    const n = this.splitter.feed(data);
    if (n > 0) this.transport.write(responses(n));
  }
}

const loop = backend === "uring" ? new UringEventLoop() : new FallbackEventLoop();
const factory = mode === "echo" ? () => new Echo() : mode === "buffered" ? () => new BufferedEcho() : () => new Hello();
const server = await loop.runUntilComplete(loop.createServer(factory, "127.0.0.1", 0, { backlog: 4096 }));
const { port } = server.sockets[0].getsockname();
process.stdout.write(JSON.stringify({ port, backend: loop.backend }) + "\n");
await loop.runForever();
