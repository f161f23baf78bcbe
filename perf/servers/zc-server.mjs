// The sender of perf/zc-bench.mjs: a ringloop io_uring server (public API only). Usage:
//   node zc-server.mjs ZERO_COPY_MIN     (bytes; 0 = never zero copy)
// Listens on 127.0.0.1, an ephemeral port, prints {"port":P}. Each connection sends a line
// "BYTES SIZE"; the server answers with BYTES bytes in writes of SIZE (respecting
// pauseWriting/resumeWriting), then closes.
import { UringEventLoop, Protocol } from "ringloop";

const zeroCopyMin = Number(process.argv[2] ?? "0");

class Sender extends Protocol {
  head = "";
  left = 0;
  size = 0;
  paused = false;
  chunk = null;
  connectionMade(t) {
    this.t = t;
  }
  dataReceived(d) {
    if (this.chunk !== null) return;
    this.head += d.toString();
    const nl = this.head.indexOf("\n");
    if (nl < 0) return;
    const [bytes, size] = this.head.slice(0, nl).split(" ").map(Number);
    this.left = bytes;
    this.size = size;
    this.chunk = Buffer.alloc(size, 0x61);
    this.pump();
  }
  pump() {
    while (!this.paused && this.left > 0) {
      const n = Math.min(this.size, this.left);
      this.t.write(n === this.size ? this.chunk : this.chunk.subarray(0, n));
      this.left -= n;
    }
    if (this.left === 0 && !this.paused) this.t.close();
  }
  pauseWriting() {
    this.paused = true;
  }
  resumeWriting() {
    this.paused = false;
    this.pump();
  }
}

const loop = new UringEventLoop({ zeroCopyMin });
await loop.runUntilComplete(
  loop.createTask(async () => {
    const server = await loop.createServer(() => new Sender(), "127.0.0.1", 0);
    process.stdout.write(JSON.stringify({ port: server.sockets[0].getsockname().port }) + "\n");
    await new Promise(() => {}); // until killed
  }),
);
