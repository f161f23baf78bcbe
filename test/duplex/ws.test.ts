// A WebSocket (the ws package, unchanged) echo over ringloop connections: the server is a
// node:http server fed by a ringloop Server, ws handling its 'upgrade'; the client is ws's
// own client with connectDuplex as its createConnection. Plain and over ringloop's TLS.
import * as http from "node:http";
import * as crypto from "node:crypto";
import { WebSocketServer, WebSocket } from "ws";
import { feedNodeServer, connectDuplex } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, deferred } from "../streams/_streams.js";
import { serverOptions, clientOptions } from "../tls/_tls.js";

for (const secure of [false, true]) {
  backendTest(`duplex: a ws echo over ringloop connections${secure ? " and TLS" : ""}`, async (t, { loop }) => {
    const app = http.createServer();
    const wss = new WebSocketServer({ server: app });
    wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
    await inLoop(loop, async () => {
      const server = await loop.createServer(feedNodeServer(app), "127.0.0.1", 0, secure ? { ssl: serverOptions() } : {});
      const port = serverPort(server);
      const ws = new WebSocket(`${secure ? "wss" : "ws"}://localhost:${port}/echo`, {
        createConnection: ((opts: { host?: string; port?: number }) =>
          connectDuplex({ host: "127.0.0.1", port: Number(opts.port ?? port), ...(secure ? { ssl: clientOptions(), serverHostname: "localhost" } : {}) })) as never,
      });
      await within(10_000, new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject)), "ws open");
      const big = crypto.randomBytes(3 * 1024 * 1024);
      const replies: Array<{ data: Buffer; binary: boolean }> = [];
      const got = deferred<void>();
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        replies.push({ data, binary: isBinary });
        if (replies.length === 2) got.resolve();
      });
      ws.send("hello ringloop");
      ws.send(big);
      await within(20_000, got.promise, "two echoes");
      t.is(replies[0].data.toString(), "hello ringloop");
      t.false(replies[0].binary);
      t.true(replies[1].binary);
      t.true(replies[1].data.equals(big));
      const closed = new Promise<number>((r) => ws.once("close", (code: number) => r(code)));
      ws.close(1000);
      t.is(await within(10_000, closed, "ws closed"), 1000);
      await new Promise<void>((r) => wss.close(() => r()));
      app.closeAllConnections();
      await shutdown(server);
    });
  });
}
