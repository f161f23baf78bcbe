// sockSendfile: 16 MiB file with offset/count to a real socat peer (hash checked), a
// FileHandle and an fd with a count past the end, a file truncated while it is being sent,
// validation and fallback: false.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { socket, SendfileNotAvailableError, type AbstractEventLoop, type AbstractSocket as Socket } from "ringloop";
import { _setSendfileStrategy, fileSendStats } from "../../src/uring/sendfile.js";
import { backendTest, uringOnlyTest } from "../helpers/backends.js";
import { inLoop, within, sha256, closedPort, tcpPair, recvUntilEof } from "./_socket.js";

const MiB = 1024 * 1024;

/** Resolves once `s` has bytes to read (a send toward it has started), without reading them. */
function untilReadable(loop: AbstractEventLoop, s: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    loop.addReader(s.fileno(), () => {
      loop.removeReader(s.fileno());
      resolve();
    });
  });
}

function tmpFile(tag: string, data: Buffer): string {
  const file = path.join(os.tmpdir(), `ringloop-sendfile-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  fs.writeFileSync(file, data);
  return file;
}

backendTest("sendfile: 16 MiB file with offset/count to a socat peer", async (t, { loop }) => {
  const data = crypto.randomBytes(16 * MiB);
  const file = tmpFile("socat", data);
  try {
    const offset = 123_457;
    const count = 12 * MiB + 3;
    const port = await closedPort();
    const socat = spawn("socat", ["-u", `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, "STDOUT"], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    socat.stdout.on("data", (d: Buffer) => out.push(d));
    socat.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => socat.once("close", (code) => r(code)));
    try {
      await inLoop(loop, async () => {
        let s = socket(4, "stream");
        try {
          // socat needs a moment to listen: retry refused connects (bounded).
          for (let i = 0; ; i++) {
            try {
              await loop.sockConnect(s, { host: "127.0.0.1", port });
              break;
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== "ECONNREFUSED" || i >= 100) throw e;
              s.close();
              s = socket(4, "stream");
              await new Promise((r) => setTimeout(r, 50));
            }
          }
          t.is(await within(60_000, loop.sockSendfile(s, file, offset, count), "sendfile"), count);
        } finally {
          s.close();
        }
      });
      t.is(await within(20_000, exited, "socat exit"), 0, stderr);
      const got = Buffer.concat(out);
      t.is(got.length, count);
      t.is(sha256(got), sha256(data.subarray(offset, offset + count)));
    } finally {
      if (socat.exitCode === null) socat.kill("SIGKILL");
    }
  } finally {
    fs.rmSync(file, { force: true });
  }
});

backendTest("sendfile: FileHandle and fd sources, count past the end, truncation", async (t, { loop }) => {
  const data = crypto.randomBytes(3 * MiB + 17);
  const file = tmpFile("fh", data);
  const fh = await fs.promises.open(file, "r");
  const fd = fs.openSync(file, "r");
  try {
    await inLoop(loop, async () => {
      const pair = await tcpPair(loop);
      try {
        const [sent, got] = await within(
          30_000,
          Promise.all([
            loop.sockSendfile(pair.client, fh).then(async (n) => {
              const m = await loop.sockSendfile(pair.client, fd, 1000, 10 * MiB, { fallback: true });
              pair.client.close();
              return [n, m];
            }),
            recvUntilEof(loop, pair.server),
          ]),
          "two sendfiles",
        );
        t.deepEqual(sent, [data.length, data.length - 1000], "a count past the end sends what there is");
        t.is(sha256(got), sha256(data, data.subarray(1000)));
        t.is(fs.fstatSync(fd).size, data.length);
      } finally {
        pair.close();
      }
    });
  } finally {
    await fh.close();
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }

  // Truncated while sending: the peer does not read until the file has shrunk, so the
  // sender is blocked long before the end of the 32 MiB. The file is truncated once the send
  // has ops in flight (its amount is planned by then), not after a guessed delay.
  const big = tmpFile("trunc", crypto.randomBytes(32 * MiB));
  try {
    await inLoop(loop, async () => {
      const pair = await tcpPair(loop);
      try {
        const sending = loop.sockSendfile(pair.client, big);
        sending.catch(() => {});
        // (fallback: reads and sends until the socket buffers are full, some MiB; bounded)
        for (const end = Date.now() + 30_000; loop.pendingOps() === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
        t.true(loop.pendingOps() > 0, "the send is under way");
        fs.truncateSync(big, MiB);
        const draining = recvUntilEof(loop, pair.server);
        const err = (await within(30_000, t.throwsAsync(sending), "truncation error")) as Error & { code?: string; bytesSent?: number };
        t.regex(err.message, /truncated while being sent/);
        t.is(err.code, "ERR_FILE_TRUNCATED");
        pair.client.close();
        await within(30_000, draining, "drain");
      } finally {
        pair.close();
      }
    });
  } finally {
    fs.rmSync(big, { force: true });
  }
});

backendTest("sendfile: validation and fallback: false", async (t, { loop, backend }) => {
  const file = tmpFile("val", Buffer.from("x"));
  const s = socket(4, "stream");
  const u = socket(4, "dgram");
  try {
    await t.throwsAsync(loop.sockSendfile("sock" as never, file), { instanceOf: TypeError, message: /"sock"/ });
    await t.throwsAsync(loop.sockSendfile(u, file), { instanceOf: TypeError, message: /stream socket/ });
    await t.throwsAsync(loop.sockSendfile(s, {} as never), { instanceOf: TypeError, message: /"file"/ });
    await t.throwsAsync(loop.sockSendfile(s, -1), { instanceOf: RangeError, message: /"file"/ });
    await t.throwsAsync(loop.sockSendfile(s, ""), { instanceOf: TypeError, message: /"file"/ });
    await t.throwsAsync(loop.sockSendfile(s, file, -1), { instanceOf: RangeError, message: /"offset"/ });
    await t.throwsAsync(loop.sockSendfile(s, file, "0" as never), { instanceOf: TypeError, message: /"offset"/ });
    await t.throwsAsync(loop.sockSendfile(s, file, 0, 0), { instanceOf: RangeError, message: /"count"/ });
    await t.throwsAsync(loop.sockSendfile(s, file, 0, null, { fallback: "no" as never }), { instanceOf: TypeError, message: /"opts.fallback"/ });
    // The native path takes regular files only: a device with fallback: false is refused;
    // the fallback backend has no native path at all.
    await t.throwsAsync(inLoop(loop, () => loop.sockSendfile(s, "/dev/null", 0, undefined, { fallback: false })), {
      instanceOf: SendfileNotAvailableError,
      message: backend === "uring" ? /needs a regular file/ : /fallback backend has no native sendfile path/,
    });
    const missing = (await t.throwsAsync(inLoop(loop, () => loop.sockSendfile(s, `${file}.missing`)))) as NodeJS.ErrnoException;
    t.is(missing.code, "ENOENT");
  } finally {
    s.close();
    u.close();
    fs.rmSync(file, { force: true });
  }
});

for (const strategy of ["splice", "syscall"] as const) {
  uringOnlyTest(`sendfile: native path (${strategy}): bytes checked, close() and loop.close() mid-send end it`, async (t, { loop }) => {
    const data = crypto.randomBytes(24 * MiB);
    const file = tmpFile(`native-${strategy}`, data);
    _setSendfileStrategy(strategy);
    try {
      // A whole range, read by the peer as it arrives.
      await inLoop(loop, async () => {
        const pair = await tcpPair(loop);
        try {
          const before = fileSendStats[strategy];
          const [sent, got] = await within(30_000, Promise.all([
            loop.sockSendfile(pair.client, file, 1000, 20 * MiB).then((n) => (pair.client.close(), n)),
            recvUntilEof(loop, pair.server),
          ]), "native sendfile");
          t.is(sent, 20 * MiB);
          t.is(sha256(got), sha256(data.subarray(1000, 1000 + 20 * MiB)));
          t.is(fileSendStats[strategy], before + 1, `the ${strategy} strategy sent it`);
        } finally {
          pair.close();
        }
      });
      // The peer does not read: the send waits for writability; Socket.close() ends it.
      await inLoop(loop, async () => {
        const pair = await tcpPair(loop);
        try {
          const sending = loop.sockSendfile(pair.client, file);
          sending.catch(() => {});
          await untilReadable(loop, pair.server); // bytes have reached the peer
          pair.client.close();
          const err = (await within(10_000, t.throwsAsync(sending), "close mid-send")) as NodeJS.ErrnoException & { bytesSent?: number };
          t.is(err.code, "EBADF");
          t.true((err.bytesSent ?? 0) > 0 && (err.bytesSent ?? 0) < data.length, `partial: ${err.bytesSent}`);
        } finally {
          pair.close();
        }
      });
      // loop.close() with the send still waiting (loop not running): it rejects, nothing is
      // left in flight.
      const pair = await inLoop(loop, () => tcpPair(loop));
      let sending!: Promise<number>;
      await inLoop(loop, async () => {
        sending = loop.sockSendfile(pair.client, file);
        sending.catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
      });
      loop.close();
      await t.throwsAsync(within(10_000, sending, "loop.close mid-send"), { message: /closed/ });
      t.is(loop.pendingOps(), 0);
      pair.close();
    } finally {
      _setSendfileStrategy("auto");
      fs.rmSync(file, { force: true });
    }
  });
}
