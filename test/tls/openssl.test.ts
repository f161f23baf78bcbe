// Debian's openssl as the peer: s_client against our TLS server and s_server against our
// TLS client, TLS 1.2 and 1.3. `-msg` prints every record openssl sees, so the tests check
// that our close_notify reaches it; s_client's `R` command checks that a client's
// renegotiation is refused.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { Protocol, type Transport } from "ringloop";
import { backendTest } from "../helpers/backends.js";
import { inLoop, within, serverPort, shutdown, runChild, deferred, Collector } from "../streams/_streams.js";
import { certs, serverOptions, clientOptions, clientEnv } from "./_tls.js";

const VERSIONS = [
  ["TLSv1.2", "-tls1_2"],
  ["TLSv1.3", "-tls1_3"],
] as const;

/** Answers the first data with "pong:<data>", then closes (close_notify). */
class PongOnce extends Protocol {
  transport!: Transport;
  readonly lost = deferred<Error | null>();
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override dataReceived(data: Buffer): void {
    this.transport.write(Buffer.concat([Buffer.from("pong:"), data]));
    this.transport.close();
  }
  override connectionLost(exc: Error | null): void {
    this.lost.resolve(exc);
  }
}

for (const [version, flag] of VERSIONS) {
  backendTest(`tls: openssl s_client (${version}) against our server sees our data and our close_notify`, async (t, { loop }) => {
    await inLoop(loop, async () => {
      const pong = new PongOnce();
      const server = await loop.createServer(() => pong, "127.0.0.1", 0, { ssl: serverOptions() });
      const r = await runChild(
        "openssl",
        ["s_client", "-connect", `127.0.0.1:${serverPort(server)}`, "-CAfile", certs().caCert, "-servername", "localhost", "-verify_return_error", "-ign_eof", "-msg", flag],
        Buffer.from("ping\n"),
        20_000,
        clientEnv(),
      );
      const out = r.stdout.toString();
      t.regex(out, /pong:ping/);
      t.regex(out, new RegExp(`<<< ${version.replace("v", " ")}, Alert \\[length 0002\\], warning close_notify`), "s_client received our close_notify");
      t.is(await within(10_000, pong.lost.promise, "server side closed"), null);
      await shutdown(server);
    });
  });

  backendTest(`tls: our client against openssl s_server (${version}), close_notify seen by the peer`, async (t, { loop }) => {
    const srv = spawn("openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert", certs().cert, "-key", certs().key, "-naccept", "1", "-rev", "-msg", flag], { env: clientEnv() });
    const out = collect(srv);
    try {
      const port = await within(10_000, out.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/), "s_server listening");
      await inLoop(loop, async () => {
        const client = new Collector();
        const [tr] = await loop.createConnection(() => client, "127.0.0.1", Number(port[1]), { ssl: clientOptions(), serverHostname: "localhost" });
        t.is((tr.getExtraInfo("cipher") as { version: string }).version, version);
        tr.write(Buffer.from("hello ringloop\n"));
        await within(10_000, client.waitBytes("poolgnir olleh\n".length), "reversed line");
        t.is(client.data().toString(), "poolgnir olleh\n");
        tr.close();
        await within(10_000, client.lost.promise, "closed");
      });
      await within(10_000, out.exited, "s_server exits after its one connection");
      t.regex(out.text(), new RegExp(`<<< ${version.replace("v", " ")}, Alert \\[length 0002\\], warning close_notify`), "s_server received our close_notify");
    } finally {
      srv.kill("SIGKILL");
    }
  });
}

backendTest("tls: a client's renegotiation (openssl s_client R, TLS 1.2) is refused", async (t, { loop }) => {
  await inLoop(loop, async () => {
    const conn = new Collector();
    const server = await loop.createServer(() => conn, "127.0.0.1", 0, { ssl: serverOptions() });
    const cli = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${serverPort(server)}`, "-CAfile", certs().caCert, "-servername", "localhost", "-tls1_2"], { env: clientEnv() });
    const out = collect(cli);
    try {
      await within(10_000, conn.made.promise, "handshake");
      cli.stdin.write("first\n");
      await within(10_000, conn.waitBytes(6), "data before the renegotiation");
      cli.stdin.write("R\n");
      const exc = (await within(10_000, conn.lost.promise, "connection ended by the refusal")) as (Error & { code?: string }) | null;
      t.is(exc?.code, "ERR_TLS_RENEGOTIATION_DISABLED");
      t.is(conn.data().toString(), "first\n");
      cli.stdin.end();
      await within(10_000, out.exited, "s_client exits");
      t.regex(out.text(), /RENEGOTIATING/);
    } finally {
      cli.kill("SIGKILL");
    }
    await shutdown(server);
  });
});

/** Stdout + stderr of a child, with a wait for a pattern and for the exit. */
function collect(child: ChildProcessWithoutNullStreams): { text(): string; waitFor(re: RegExp): Promise<RegExpMatchArray>; exited: Promise<number | null> } {
  let text = "";
  const waiters: Array<{ re: RegExp; resolve(m: RegExpMatchArray): void }> = [];
  const onText = (d: Buffer): void => {
    text += d.toString();
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = text.match(waiters[i].re);
      if (m !== null) {
        waiters[i].resolve(m);
        waiters.splice(i, 1);
      }
    }
  };
  child.stdout.on("data", onText);
  child.stderr.on("data", onText);
  child.stdin.on("error", () => {});
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    text: () => text,
    waitFor: (re) => {
      const m = text.match(re);
      if (m !== null) return Promise.resolve(m);
      return new Promise((resolve) => waiters.push({ re, resolve }));
    },
    exited,
  };
}
