// Argument errors carry Node's codes (issue 16, point 6): every TypeError/RangeError the
// library throws for a bad argument comes from argTypeError / argRangeError (src/validate.ts),
// which set `code` (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE,
// ERR_MISSING_ARGS, ERR_INVALID_RETURN_VALUE) and name it in the stack, as Node's own do.
// Checked two ways: the sources make no bare TypeError/RangeError anywhere else, and a
// sample of entry points of each layer throws coded errors on both backends.
import test from "ava";
import * as fs from "node:fs";
import * as path from "node:path";
import { Protocol } from "ringloop";
import * as rfs from "ringloop/fs";
import { backendTest } from "./helpers/backends.js";
import { connectToSink, shutdown, inLoop } from "./streams/_streams.js";

const ROOT = path.resolve(__dirname, "../../..");
const MAKER = "src/validate.ts";

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

test("no TypeError or RangeError is made outside argTypeError / argRangeError", (t) => {
  const files = [...sources("src"), ...sources("fallback")];
  t.true(files.length > 50, "the scan found the sources");
  const bare: string[] = [];
  for (const file of files) {
    if (file === MAKER) continue;
    fs.readFileSync(path.join(ROOT, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (/\bnew\s+(Type|Range)Error\s*\(/.test(line) && !/^\s*(\/\/|\*)/.test(line)) bare.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  t.deepEqual(bare, [], "use argTypeError / argRangeError from src/validate.ts");
});

type Coded = Error & { code?: string };

function expectCoded(t: import("ava").ExecutionContext, fn: () => unknown, Kind: typeof TypeError | typeof RangeError, code: string, what: string): void {
  const err = t.throws(fn, { instanceOf: Kind }, what) as Coded | undefined;
  t.is(err?.code, code, what);
  t.is(err?.name, Kind.name, `${what}: name stays ${Kind.name}`);
  t.true(err?.stack?.startsWith(`${Kind.name} [${code}]: `), `${what}: the stack names the code: ${err?.stack?.split("\n")[0]}`);
}

async function expectRejectsCoded(t: import("ava").ExecutionContext, p: Promise<unknown>, Kind: typeof TypeError | typeof RangeError, code: string, what: string): Promise<void> {
  const err = (await t.throwsAsync(p, { instanceOf: Kind }, what)) as Coded | undefined;
  t.is(err?.code, code, what);
}

backendTest("argument errors carry Node's codes: loop, transport, sockets, signals, servers, fs", async (t, { loop }) => {
  // Wrong types on purpose: the checks a JS caller meets.
  const l = loop as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  expectCoded(t, () => l.callSoon(42), TypeError, "ERR_INVALID_ARG_TYPE", "callSoon(42)");
  expectCoded(t, () => l.callLater("1", () => {}), TypeError, "ERR_INVALID_ARG_TYPE", "callLater('1')");
  expectCoded(t, () => l.callLater(Infinity, () => {}), RangeError, "ERR_OUT_OF_RANGE", "callLater(Infinity)");
  expectCoded(t, () => l.addSignalHandler(42.5, () => {}), TypeError, "ERR_UNKNOWN_SIGNAL", "addSignalHandler(42.5)");
  expectCoded(t, () => l.addSignalHandler("SIGKILL", () => {}), RangeError, "ERR_INVALID_ARG_VALUE", "addSignalHandler('SIGKILL')");
  await inLoop(loop, async () => {
    const sink = new (class extends Protocol {})();
    const { server, tr } = await connectToSink(loop, sink);
    try {
      const w = tr as unknown as { write(d: unknown): void; setWriteBufferLimits(h?: unknown, l?: unknown): void };
      expectCoded(t, () => w.write(42), TypeError, "ERR_INVALID_ARG_TYPE", "transport.write(42)");
      expectCoded(t, () => w.setWriteBufferLimits(-1), RangeError, "ERR_OUT_OF_RANGE", "setWriteBufferLimits(-1)");
    } finally {
      tr.close();
      await shutdown(server);
    }
    await expectRejectsCoded(t, l.createConnection(() => new Protocol(), "127.0.0.1", 1, { sock: 3 }) as Promise<unknown>, TypeError, "ERR_INVALID_ARG_VALUE", "createConnection(host, port, {sock})");
    await expectRejectsCoded(t, l.createConnection(() => new Protocol()) as Promise<unknown>, TypeError, "ERR_MISSING_ARGS", "createConnection() without host, port or sock");
    await expectRejectsCoded(t, l.sockRecv(42, 10) as Promise<unknown>, TypeError, "ERR_INVALID_ARG_TYPE", "sockRecv(42)");
    await expectRejectsCoded(t, rfs.readFile(42.5 as unknown as string) as Promise<unknown>, TypeError, "ERR_INVALID_ARG_TYPE", "fs.readFile(42.5)");
  });
});
