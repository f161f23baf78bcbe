// node:http + fs.createReadStream static baseline for serve-bench: GET/HEAD of files under
// ROOT (stat per request, Content-Type/Length, Last-Modified, ETag), keep-alive.
// usage: node static-node.mjs ROOT   -> prints {"port":P} once listening on 127.0.0.1.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";

const root = fs.realpathSync(process.argv[2]);
const server = http.createServer((req, res) => {
  const rel = path.normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  const file = path.join(root, rel);
  if (!file.startsWith(root + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) {
      res.writeHead(404, { "Content-Length": 0 }).end();
      return;
    }
    res.writeHead(200, {
      "Content-Type": "application/octet-stream",
      "Content-Length": st.size,
      "Last-Modified": st.mtime.toUTCString(),
      ETag: `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`,
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    fs.createReadStream(file).pipe(res);
  });
});
server.keepAliveTimeout = 60_000;
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
