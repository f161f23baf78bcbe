// The soak's own clients (perf/soak.mjs runs wrk beside them): each kind is a loop of
// requests over raw node:net sockets that checks every answer byte for byte, and counts
// requests, connections and errors in a Counters object the driver reads and resets once
// per period.
//
// Kinds (README "Static file server" rules they lean on):
//   short  one request per connection ("Connection: close"), HTTP/1.1 and 1.0 in turn; every
//          4th asks for a missing file (404 asked for) and every 6th for a range past the
//          end (416 asked for); the rest must be 200 with the file's exact bytes.
//   range  keep-alive connection, random single ranges (206, exact bytes) and now and then
//          two ranges (206 multipart/byteranges, both parts checked); reconnects every 50.
//   slow   downloads the big file reading about `slowBytesPerSec` (pauses the socket after
//          each chunk), checks length and hash.
//   reset  asks for the big file and resets the connection (SO_LINGER 0: RST) at a random
//          point: before the answer, inside the head, or after some body bytes.
// What counts as an error: a status not asked for, a wrong or short body, a connection
// error on a client that did not reset, no answer within `timeoutMs`.
import * as crypto from "node:crypto";
import * as net from "node:net";

export class Counters {
  constructor() {
    this.reset();
  }
  reset() {
    this.requests = 0;
    this.connections = 0;
    this.errors = 0;
    this.asked = 0; // error statuses asked for (404/416) and got
    this.resets = 0;
    this.bytes = 0;
    this.firstErrors = [];
  }
  error(kind, what) {
    this.errors++;
    if (this.firstErrors.length < 5) this.firstErrors.push(`${kind}: ${what}`);
  }
}

/** Reads responses from one socket: `next()` resolves with {status, headers, body} or rejects. */
class ResponseReader {
  constructor(sock, timeoutMs) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.waiter = null;
    this.ended = false;
    this.error = null;
    this.timeoutMs = timeoutMs;
    sock.on("data", (d) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.poke();
    });
    sock.on("end", () => {
      this.ended = true;
      this.poke();
    });
    sock.on("error", (e) => {
      this.error = e;
      this.poke();
    });
    sock.on("close", () => {
      this.ended = true;
      this.poke();
    });
  }
  poke() {
    const w = this.waiter;
    if (w !== null) w();
  }
  /** One response; `head` true when it answers a HEAD (no body). */
  async next() {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = this.buf.toString("latin1", 0, end);
        const m = /^HTTP\/1\.[01] (\d{3}) /.exec(head);
        if (m === null) throw new Error(`bad status line: ${JSON.stringify(head.slice(0, 60))}`);
        const headers = {};
        for (const line of head.split("\r\n").slice(1)) {
          const i = line.indexOf(":");
          headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
        }
        const len = Number(headers["content-length"] ?? NaN);
        if (!Number.isInteger(len)) throw new Error(`no Content-Length in ${JSON.stringify(head.slice(0, 80))}`);
        if (this.buf.length >= end + 4 + len) {
          const body = this.buf.subarray(end + 4, end + 4 + len);
          this.buf = this.buf.subarray(end + 4 + len);
          return { status: Number(m[1]), headers, body };
        }
      }
      if (this.error !== null) throw this.error;
      if (this.ended) throw new Error(`connection closed with ${this.buf.length} bytes of an unfinished response`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response within ${this.timeoutMs} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }
}

/** A connected socket, or null when the connection failed (counted as an error of `kind`). */
function connect(port, counters, kind) {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const failed = (e) => {
      counters.error(kind, `connect: ${e.code ?? e.message}`);
      resolve(null);
    };
    sock.once("connect", () => {
      counters.connections++;
      sock.off("error", failed);
      resolve(sock);
    });
    sock.once("error", failed);
  });
}

const pick = (n) => Math.floor(Math.random() * n);

/** Runs `iteration` in `concurrency` loops until `state.running` is false. */
export function runLoops(state, concurrency, iteration) {
  return Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (state.running) await iteration();
    }),
  );
}

/** One short connection: one request, "Connection: close". */
export async function shortIteration(ctx) {
  const { port, files, counters, timeoutMs } = ctx;
  const n = ctx.seq++;
  const name = ["4k.bin", "64k.bin", "1m.bin"][n % 3];
  const version = n % 2 === 0 ? "HTTP/1.1" : "HTTP/1.0";
  let want = 200;
  let target = `/${name}`;
  let extra = "";
  if (n % 4 === 3) {
    want = 404;
    target = "/missing.bin";
  } else if (n % 6 === 5) {
    want = 416;
    extra = `Range: bytes=${files[name].length + 10}-\r\n`;
  }
  const sock = await connect(port, counters, "short");
  if (sock === null) return;
  const reader = new ResponseReader(sock, timeoutMs);
  sock.write(`GET ${target} ${version}\r\nHost: soak\r\nConnection: close\r\n${extra}\r\n`);
  try {
    const r = await reader.next();
    counters.requests++;
    counters.bytes += r.body.length;
    if (r.status !== want) counters.error("short", `${target}: status ${r.status}, asked for ${want}`);
    else if (want !== 200) counters.asked++;
    else if (!r.body.equals(files[name])) counters.error("short", `${target}: body differs`);
  } catch (e) {
    counters.error("short", `${target}: ${e.code ?? e.message}`);
  } finally {
    sock.destroy();
  }
}

/** One keep-alive connection of range requests. */
export async function rangeIteration(ctx) {
  const { port, files, counters, timeoutMs, state } = ctx;
  const sock = await connect(port, counters, "range");
  if (sock === null) return;
  const reader = new ResponseReader(sock, timeoutMs);
  try {
    for (let i = 0; i < 50 && state.running; i++) {
      const name = i % 2 === 0 ? "1m.bin" : "big.bin";
      const file = files[name];
      const a = pick(file.length - 1);
      const b = Math.min(file.length - 1, a + pick(i % 2 === 0 ? 64 * 1024 : 4 * 1024 * 1024));
      const two = i % 5 === 4 && a > 200;
      const range = two ? `bytes=0-99,${a}-${b}` : `bytes=${a}-${b}`;
      sock.write(`GET /${name} HTTP/1.1\r\nHost: soak\r\nRange: ${range}\r\n\r\n`);
      const r = await reader.next();
      counters.requests++;
      counters.bytes += r.body.length;
      if (r.status !== 206) {
        counters.error("range", `${name} ${range}: status ${r.status}`);
        break;
      }
      const ok = two ? multipartOk(r, [file.subarray(0, 100), file.subarray(a, b + 1)]) : r.body.equals(file.subarray(a, b + 1));
      if (!ok) {
        counters.error("range", `${name} ${range}: wrong bytes`);
        break;
      }
    }
  } catch (e) {
    counters.error("range", e.code ?? e.message);
  } finally {
    sock.destroy();
  }
}

function multipartOk(r, parts) {
  const boundary = /boundary=([^;\s]+)/.exec(r.headers["content-type"] ?? "")?.[1];
  if (boundary === undefined) return false;
  const text = r.body.toString("latin1");
  const chunks = text.split(`--${boundary}`).slice(1, -1);
  if (chunks.length !== parts.length) return false;
  return chunks.every((c, i) => {
    const start = c.indexOf("\r\n\r\n") + 4;
    return Buffer.from(c.slice(start, c.length - 2), "latin1").equals(parts[i]);
  });
}

/** One slow download of the big file. */
export async function slowIteration(ctx) {
  const { port, files, counters, slowBytesPerSec } = ctx;
  const file = files["big.bin"];
  const sock = await connect(port, counters, "slow");
  if (sock === null) return;
  const timeoutMs = Math.max(ctx.timeoutMs, (2 * file.length * 1000) / slowBytesPerSec);
  const result = await new Promise((resolve) => {
    const hash = crypto.createHash("sha256");
    let head = null;
    let pending = Buffer.alloc(0);
    let got = 0;
    const timer = setTimeout(() => resolve(`no full body within ${timeoutMs} ms (${got} bytes)`), timeoutMs);
    const done = (v) => {
      clearTimeout(timer);
      resolve(v);
    };
    sock.on("data", (d) => {
      if (head === null) {
        pending = Buffer.concat([pending, d]);
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        head = pending.toString("latin1", 0, end);
        d = pending.subarray(end + 4);
        if (!head.startsWith("HTTP/1.1 200 ")) return done(`status line ${JSON.stringify(head.slice(0, 20))}`);
      }
      hash.update(d);
      got += d.length;
      counters.bytes += d.length;
      if (got >= file.length) return done(got === file.length && hash.digest("hex") === ctx.bigHash ? null : `body: ${got} bytes or wrong hash`);
      // Reading about slowBytesPerSec: hold the socket for as long as this chunk "costs".
      sock.pause();
      setTimeout(() => sock.resume(), Math.ceil((d.length * 1000) / slowBytesPerSec));
    });
    sock.on("error", (e) => done(e.code ?? e.message));
    sock.on("close", () => done(`closed after ${got} body bytes`));
    sock.write("GET /big.bin HTTP/1.1\r\nHost: soak\r\n\r\n");
  });
  counters.requests++;
  if (result !== null) counters.error("slow", result);
  sock.destroy();
}

/** One request answered by a reset (RST) at a random point. */
export async function resetIteration(ctx) {
  const { port, counters } = ctx;
  const sock = await connect(port, counters, "reset");
  if (sock === null) return;
  const after = [0, 1, 64 * 1024, 1 + pick(8 * 1024 * 1024)][pick(4)];
  await new Promise((resolve) => {
    let got = 0;
    let didReset = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      counters.error("reset", `no ${after} bytes within ${ctx.timeoutMs} ms`);
      sock.destroy();
    }, ctx.timeoutMs);
    const rst = () => {
      if (sock.destroyed) return;
      clearTimeout(timer);
      didReset = true;
      sock.resetAndDestroy();
      counters.resets++;
    };
    sock.on("data", (d) => {
      got += d.length;
      if (got >= after) rst();
    });
    sock.on("error", (e) => counters.error("reset", `before the reset: ${e.code ?? e.message}`));
    sock.on("close", () => {
      clearTimeout(timer);
      if (!didReset && !timedOut && !sock.errored) counters.error("reset", `the server closed after ${got} bytes, before the reset`);
      resolve();
    });
    sock.write("GET /big.bin HTTP/1.1\r\nHost: soak\r\n\r\n");
    if (after === 0) setImmediate(rst);
  });
}
