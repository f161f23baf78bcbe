// Pipes given as Node streams: process.stdin / process.stdout of a child process whose stdio
// are pipes (fixtures/pipe-stdio.js, each backend), bytes Node had already read handed over
// first, and a child_process stdout Socket taken over in this process.
import * as crypto from "node:crypto";
import { spawn } from "node:child_process";
import { backendTest, fixture, type BackendName } from "../helpers/backends.js";
import { runChild } from "../streams/_streams.js";
import { inLoop, within, sha256, PipeReader } from "./_pipes.js";

async function throughChild(backend: BackendName, mode: string, input: Buffer): Promise<{ out: string; stderr: string }> {
  const res = await runChild(process.execPath, [fixture("pipe-stdio.js"), mode], input, 30_000, { ...process.env, RINGLOOP_BACKEND: backend });
  if (res.code !== 0) throw new Error(`pipe-stdio.js exited ${res.code} (${res.signal}): ${res.stderr}`);
  return { out: res.stdout.toString(), stderr: res.stderr };
}

backendTest("pipes: process.stdin and process.stdout of a child process, when they are pipes", async (t, { backend }) => {
  const input = crypto.randomBytes(8 * 1024 * 1024);
  const { out, stderr } = await throughChild(backend, "plain", input);
  t.is(out, `${input.length} ${sha256(input)} 0\n`);
  t.is(stderr, `backend ${backend}\n`);
});

backendTest("pipes: bytes process.stdin had read before the takeover reach the protocol first", async (t, { backend }) => {
  const input = crypto.randomBytes(4 * 1024 * 1024);
  const { out } = await throughChild(backend, "preread", input);
  const [bytes, hash, held] = out.trim().split(" ");
  t.true(Number(held) > 0, "Node held some of stdin in its own buffer");
  t.is(Number(bytes), input.length);
  t.is(hash, sha256(input));
});

backendTest("pipes: a child_process stdout Socket taken over as a read pipe; the Socket stops reading", async (t, { loop }) => {
  const child = spawn("head", ["-c", "3000000", "/dev/zero"], { stdio: ["ignore", "pipe", "ignore"] });
  const exited = new Promise((r) => child.once("close", r));
  let nodeGot = 0;
  await inLoop(loop, async () => {
    const reader = new PipeReader();
    const [rt] = await loop.connectReadPipe(() => reader, child.stdout);
    child.stdout.on("data", (d: Buffer) => (nodeGot += d.length));
    t.true(child.stdout.destroyed, "the Socket is destroyed at once");
    t.is(rt.getExtraInfo("pipe"), child.stdout);
    t.is(await within(10_000, reader.lost.promise, "EOF"), null);
    t.is(reader.bytes, 3_000_000);
    t.is(reader.hash.digest("hex"), sha256(Buffer.alloc(3_000_000)));
  });
  await exited;
  t.is(nodeGot, 0);
});
