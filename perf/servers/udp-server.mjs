// UDP echo servers for perf/udp-bench.mjs. Usage: node udp-server.mjs uring|fallback|node
// Binds 127.0.0.1 on an ephemeral port and prints {"port":P}; each datagram goes back to
// its sender. uring/fallback: a ringloop datagram endpoint over the public API; node: the
// usual node:dgram echo (send(msg, rinfo.port, rinfo.address)).
import * as dgram from "node:dgram";
import { UringEventLoop, FallbackEventLoop, DatagramProtocol } from "ringloop";

const [variant] = process.argv.slice(2);

if (variant === "node") {
  const s = dgram.createSocket("udp4");
  s.on("message", (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  s.bind(0, "127.0.0.1", () => process.stdout.write(JSON.stringify({ port: s.address().port }) + "\n"));
  process.on("SIGTERM", () => s.close());
} else {
  if (variant !== "uring" && variant !== "fallback") throw new TypeError("variant must be uring, fallback or node");
  class Echo extends DatagramProtocol {
    connectionMade(transport) {
      this.transport = transport;
    }
    datagramReceived(data, addr) {
      this.transport.sendto(data, addr);
    }
  }
  const loop = variant === "uring" ? new UringEventLoop() : new FallbackEventLoop();
  const [transport] = await loop.runUntilComplete(loop.createDatagramEndpoint(() => new Echo(), { localAddr: { host: "127.0.0.1", port: 0 } }));
  process.stdout.write(JSON.stringify({ port: transport.getExtraInfo("sockname").port, backend: loop.backend }) + "\n");
  process.on("SIGTERM", () => loop.stop());
  await loop.runForever();
  transport.close();
  loop.close();
}
