// Bun.serve + Bun.file static peer for serve-bench (run with the `bun` binary, not node).
// usage: bun static-bun.mjs ROOT   -> prints {"port":P} once listening on 127.0.0.1.
import * as path from "node:path";
import * as fs from "node:fs";

const root = fs.realpathSync(process.argv[2]);
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const rel = path.normalize(decodeURIComponent(new URL(req.url).pathname));
    const file = path.join(root, rel);
    if (!file.startsWith(root + path.sep)) return new Response(null, { status: 403 });
    const f = Bun.file(file);
    if (!(await f.exists())) return new Response(null, { status: 404 });
    return new Response(f);
  },
});
process.stdout.write(JSON.stringify({ port: server.port }) + "\n");
