// `ringloop echo` on each backend: prints its address and backend, echoes through a plain
// node:net client, rejects bad options with status 2, and exits 0 on SIGTERM/SIGINT.
import test from "ava";
import * as net from "node:net";
import { spawn, spawnSync } from "node:child_process";
import { BACKENDS, fixture, uringUnavailableReason } from "./helpers/backends.js";
import { startCli } from "./helpers/cli.js";

const cli = fixture("../../bin/ringloop.cjs");

function echoOnce(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    s.setTimeout(5000, () => s.destroy(new Error("client timed out")));
    s.on("connect", () => s.end(payload));
    s.on("data", (d) => (got += d.toString()));
    s.on("error", reject);
    s.on("close", () => resolve(got));
  });
}

for (const backend of BACKENDS) {
  const reason = backend === "uring" ? uringUnavailableReason() : null;
  const register = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    register(`[${backend}] ringloop echo --port 0: prints the address, echoes, exits 0 on ${signal}`, async (t) => {
      const cli = startCli(["echo", "--port", "0", "--backend", backend]);
      try {
        const line = await cli.firstLine;
        const m = /^ringloop echo listening on 127\.0\.0\.1:(\d+) \(backend (\w+)\)$/.exec(line);
        t.truthy(m, line);
        t.is(m![2], backend);
        const payload = "ping ".repeat(10_000);
        t.is(await echoOnce(Number(m![1]), payload), payload);
        cli.child.kill(signal);
        t.is(await cli.exited, 0, cli.stderr());
      } finally {
        cli.dispose();
      }
    });
  }
}

test.serial("[fallback] ringloop echo: bad options exit 2 with the reason", (t) => {
  for (const [args, re] of [
    [["--port", "70000"], /--port must be an integer 0\.\.65535/],
    [["--backend", "kqueue"], /--backend must be uring or fallback/],
    [["--bogus"], /unknown option "--bogus"/],
    [["--host"], /option --host needs a value/],
  ] as const) {
    const out = spawnSync(process.execPath, [cli, "echo", ...args], { encoding: "utf8", timeout: 10_000 });
    t.is(out.status, 2, args.join(" "));
    t.regex(out.stderr, re);
  }
});
