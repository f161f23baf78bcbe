// node:http baseline server (HTTP workload only): the same "hello world" keep-alive answer.
// Prints {"port":P} once listening on 127.0.0.1.
import * as http from "node:http";

const BODY = Buffer.from("hello world");
const server = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": BODY.length });
  res.end(BODY);
});
server.keepAliveTimeout = 60_000;
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
