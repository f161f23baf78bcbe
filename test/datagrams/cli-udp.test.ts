// `ringloop echo --udp` on each backend: prints its address and backend, echoes datagrams to
// a node:dgram client (every byte checked), and exits 0 on SIGTERM.
import test from "ava";
import * as dgram from "node:dgram";
import * as crypto from "node:crypto";
import { BACKENDS, uringUnavailableReason } from "../helpers/backends.js";
import { startCli } from "../helpers/cli.js";

for (const backend of BACKENDS) {
  const reason = backend === "uring" ? uringUnavailableReason() : null;
  const register = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;
  register(`[${backend}] ringloop echo --udp --port 0: prints the address, echoes datagrams, exits 0 on SIGTERM`, async (t) => {
    const cli = startCli(["echo", "--udp", "--port", "0", "--backend", backend]);
    const client = dgram.createSocket("udp4");
    try {
      const line = await cli.firstLine;
      const m = /^ringloop echo listening on udp 127\.0\.0\.1:(\d+) \(backend (\w+)\)$/.exec(line);
      t.truthy(m, line);
      t.is(m![2], backend);
      await new Promise<void>((r) => client.connect(Number(m![1]), "127.0.0.1", r));
      for (let i = 0; i < 200; i++) {
        const d = crypto.randomBytes(1 + ((i * 37) % 1472));
        const back = new Promise<Buffer>((resolve) => client.once("message", resolve));
        client.send(d);
        t.true((await back).equals(d), `datagram ${i}`);
      }
      cli.child.kill("SIGTERM");
      t.is(await cli.exited, 0, cli.stderr());
    } finally {
      client.close();
      cli.dispose();
    }
  });
}
