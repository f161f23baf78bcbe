// Bulk data, flow control, half-close, abort and sendfile through the TLS layer: the app
// transport is a StreamTransport over the layer, so every stream rule must hold through it.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, sha256, serverPort, shutdown, Collector, EchoProtocol, TransferClient, ReplyAfterEof, deferred, pausedReaderServer } from "../streams/_streams.js";
import { serverOptions, clientOptions } from "./_tls.js";

backendTest("tls: 64 MiB both ways through TLS, checked by hash", async (t, { loop }) => {
  const payload = crypto.randomBytes(64 * 1024 * 1024);
  await inLoop(loop, async () => {
    const server = await loop.createServer(() => new EchoProtocol(), "127.0.0.1", 0, { ssl: serverOptions() });
    const client = new TransferClient(payload);
    await loop.createConnection(() => client, "localhost", serverPort(server), { ssl: clientOptions() });
    t.is(await within(120_000, client.lost.promise, "64 MiB echoed"), null);
    t.true(client.eof);
    t.is(client.receivedBytes, payload.length);
    t.is(client.hash.digest("hex"), sha256(payload));
    t.true(client.pauses > 0, "the writer was paused by flow control on the way");
    await shutdown(server);
  });
});

/** Records pauseWriting/resumeWriting. */
class Writer extends Collector {
  paused = false;
  pauses = 0;
  resumed = deferred<void>();
  override pauseWriting(): void {
    this.paused = true;
    this.pauses++;
  }
  override resumeWriting(): void {
    this.paused = false;
    this.resumed.resolve();
  }
}

backendTest("tls: a slow reader pauses the writer (pauseReading passes through); all data arrives after it resumes", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const reader = new Collector();
    const server = await pausedReaderServer(loop, reader, { ssl: serverOptions() });
    const w = new Writer();
    const [tr] = await loop.createConnection(() => w, "localhost", serverPort(server), { ssl: clientOptions() });
    await within(10_000, reader.made.promise, "accepted");
    const chunk = crypto.randomBytes(256 * 1024);
    const sent = crypto.createHash("sha256");
    let written = 0;
    // Until both kernels' buffers and the raw transport's are full, writes still drain; then
    // the paused app writer stays paused because nobody reads. Bounded at 256 MiB.
    while (written < 256 * 1024 * 1024) {
      if (!w.paused) {
        tr.write(chunk);
        sent.update(chunk);
        written += chunk.length;
        continue;
      }
      w.resumed = deferred<void>();
      const stillPaused = await Promise.race([w.resumed.promise.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);
      if (stillPaused) break;
    }
    t.true(w.paused, "the writer is paused while the reader does not read");
    t.true(written < 64 * 1024 * 1024, `paused after ${written} bytes: the raw transport's pause holds app writes`);
    t.is(reader.size, 0, "pauseReading: no data delivered while paused");
    t.true(tr.getWriteBufferSize() > 0, "the app transport counts plaintext not yet through");
    reader.transport.resumeReading();
    await within(10_000, w.resumed.promise, "resumeWriting once the reader drains");
    tr.writeEof();
    await within(30_000, reader.eofSeen.promise, "everything and the EOF arrived");
    t.is(reader.size, written);
    t.is(sha256(reader.data()), sent.digest("hex"));
    tr.close();
    await within(10_000, w.lost.promise, "closed");
    await shutdown(server);
  });
});

backendTest("tls: half-close: writeEof sends close_notify, the peer still answers (TLS 1.3)", async (t, { loop }) => {
  const payload = crypto.randomBytes(300_000);
  await inLoop(loop, async () => {
    const srv = new ReplyAfterEof();
    const server = await loop.createServer(() => srv, "127.0.0.1", 0, { ssl: serverOptions() });
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "localhost", serverPort(server), { ssl: clientOptions() });
    t.true(tr.canWriteEof());
    tr.write(payload);
    tr.writeEof();
    t.false(tr.isClosing(), "writeEof half-closes");
    t.is(await within(10_000, client.lost.promise, "reply and close"), null);
    t.is(client.data().toString(), `got ${payload.length} ${sha256(payload)}`);
    t.true(client.eof);
    t.is(await within(5000, srv.lost.promise, "server closed"), null);
    await shutdown(server);
  });
});

backendTest("tls: abort() resets the connection; the peer's protocol sees ECONNRESET", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const srv = new Collector();
    const server = await loop.createServer(() => srv, "127.0.0.1", 0, { ssl: serverOptions() });
    const client = new Collector();
    const [tr] = await loop.createConnection(() => client, "localhost", serverPort(server), { ssl: clientOptions() });
    tr.write(Buffer.from("x"));
    await within(10_000, srv.waitBytes(1), "data");
    tr.abort();
    t.is(await within(10_000, client.lost.promise, "aborted"), null);
    const exc = (await within(10_000, srv.lost.promise, "peer saw the reset")) as (Error & { code?: string }) | null;
    t.is(exc?.code, "ECONNRESET");
    await shutdown(server);
  });
});

backendTest("tls: loop.sendfile through a TLS transport goes through read + write", async (t, { loop }) => {
  const file = path.join(os.tmpdir(), `ringloop-tls-sendfile-${process.pid}`);
  const body = crypto.randomBytes(3 * 1024 * 1024 + 17);
  fs.writeFileSync(file, body);
  try {
    await inLoop(loop, async () => {
      const srv = new Collector();
      const server = await loop.createServer(() => srv, "127.0.0.1", 0, { ssl: serverOptions() });
      const client = new Collector();
      const [tr] = await loop.createConnection(() => client, "localhost", serverPort(server), { ssl: clientOptions() });
      tr.write(Buffer.from("head:"));
      const sent = await loop.sendfile(tr, file, 0);
      t.is(sent, body.length);
      tr.writeEof();
      await within(30_000, srv.eofSeen.promise, "file arrived");
      t.is(sha256(srv.data()), sha256(Buffer.from("head:"), body));
      tr.close();
      await within(10_000, client.lost.promise, "closed");
      await shutdown(server);
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
});
