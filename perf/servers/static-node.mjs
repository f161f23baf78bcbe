// node:http + fs.createReadStream static baseline for serve-bench (node:https for
// tls-bench when given a certificate and key): GET/HEAD of files under ROOT (stat per
// request, Content-Type/Length, Last-Modified, ETag), keep-alive.
// usage: node static-node.mjs ROOT [CERT KEY]   -> prints {"port":P} once listening on 127.0.0.1.
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";

const [dir, cert, key] = process.argv.slice(2);
const root = fs.realpathSync(dir);
const handler = (req, res) => {
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
};
const server = cert === undefined ? http.createServer(handler) : https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, handler);
server.keepAliveTimeout = 60_000;
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
