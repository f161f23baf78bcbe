// The node:tls client of tls-bench (the same for every server). Bulk: `node
// tls-bulk-client.mjs PORT D|U BYTES CAFILE` prints the ms from the first byte written to the
// end (D: the last byte received; U: the server's "k"). Echo: `node tls-bulk-client.mjs PORT
// E SIZE CAFILE CONNECTIONS SECONDS` opens CONNECTIONS connections, each with one SIZE-byte
// message outstanding (closed loop), and prints the round trips per second over SECONDS
// after a 0.5 s warm-up.
import * as fs from "node:fs";
import * as tls from "node:tls";

const [port, mode, bytes, caFile, conns, secs] = process.argv.slice(2);
const total = Number(bytes);
const options = { host: "127.0.0.1", port: Number(port), ca: fs.readFileSync(caFile), servername: "localhost" };
const fail = (e) => {
  process.stderr.write(`${e.code ?? ""} ${e.message}\n`);
  process.exit(1);
};
const print = (r) => process.stdout.write(JSON.stringify(r) + "\n");

if (mode === "E") {
  const msg = Buffer.alloc(total, 0x65);
  const socks = await Promise.all(Array.from({ length: Number(conns) }, () => new Promise((resolve) => {
    const s = tls.connect(options, () => resolve(s));
    s.on("error", fail);
  })));
  let trips = 0;
  let bad = false;
  for (const s of socks) {
    let got = 0;
    s.on("data", (d) => {
      got += d.length;
      if (got < total) return;
      bad ||= got > total;
      got = 0;
      trips++;
      s.write(msg);
    });
    s.write(msg);
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  await sleep(500);
  const t0 = performance.now();
  const n0 = trips;
  await sleep(Number(secs) * 1000);
  print({ rps: (trips - n0) / ((performance.now() - t0) / 1000), ok: !bad });
  process.exit(0);
}

const CHUNK = Buffer.alloc(256 * 1024, 0x62);
const head = Buffer.alloc(9);
head[0] = mode.charCodeAt(0);
head.writeBigUInt64BE(BigInt(total), 1);
const sock = tls.connect(options, () => {
  const t0 = performance.now();
  let got = 0;
  sock.on("data", (d) => (got += d.length));
  sock.on("end", () => {
    print({ ms: performance.now() - t0, ok: mode === "D" ? got === total : got === 1 });
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
sock.on("error", fail);
