// node:net baseline server. Usage: node net-server.mjs echo|http
// Listens on 127.0.0.1, an ephemeral port, and prints {"port":P} once listening.
import * as net from "node:net";
import { RequestSplitter, responses } from "./http-common.mjs";

const mode = process.argv[2];
if (mode !== "echo" && mode !== "http") throw new TypeError("mode must be echo or http");

const server = net.createServer({ noDelay: true }, (sock) => {
  sock.on("error", () => sock.destroy());
  if (mode === "echo") {
    sock.on("data", (d) => sock.write(d));
  } else {
    const splitter = new RequestSplitter();
    sock.on("data", (d) => {
      const n = splitter.feed(d);
      if (n > 0) sock.write(responses(n));
    });
  }
});
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
