// The client of tls-bench's bulk workload (node:tls, the same for every server): `node
// tls-bulk-client.mjs PORT D|U BYTES CAFILE`; prints the ms from the first byte written
// to the end (D: the last byte received; U: the server's "k").
import * as fs from "node:fs";
import * as tls from "node:tls";

const [port, mode, bytes, caFile] = process.argv.slice(2);
const total = Number(bytes);
const CHUNK = Buffer.alloc(256 * 1024, 0x62);
const head = Buffer.alloc(9);
head[0] = mode.charCodeAt(0);
head.writeBigUInt64BE(BigInt(total), 1);
const sock = tls.connect({ host: "127.0.0.1", port: Number(port), ca: fs.readFileSync(caFile), servername: "localhost" }, () => {
  const t0 = performance.now();
  let got = 0;
  sock.on("data", (d) => (got += d.length));
  sock.on("end", () => {
    const ok = mode === "D" ? got === total : got === 1;
    process.stdout.write(JSON.stringify({ ms: performance.now() - t0, ok }) + "\n");
    sock.end();
  });
  sock.write(head);
  if (mode === "U") {
    let left = total;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void sock.once("drain", pump);
      }
    };
    pump();
  }
});
sock.on("error", (e) => {
  process.stderr.write(`${e.code ?? ""} ${e.message}\n`);
  process.exit(1);
});
