// Certificates for the TLS tests, made by Debian's openssl when a test file first asks
// (never committed): a test CA; a server certificate it signed for localhost, 127.0.0.1
// and ::1; one it signed for another name; an expired one; a self-signed one. EC P-256
// keys (fast to make). The directory is removed when the test process exits.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import * as net from "node:net";
import { execFileSync } from "node:child_process";

export interface CertFiles {
  dir: string;
  caCert: string;
  /** Signed by the CA for DNS:localhost, IP:127.0.0.1, IP:::1. */
  cert: string;
  key: string;
  /** Signed by the CA for DNS:other.example only. */
  otherCert: string;
  otherKey: string;
  /** Signed by the CA, notAfter before notBefore (expired). */
  expiredCert: string;
  expiredKey: string;
  /** Self-signed for localhost. */
  selfCert: string;
  selfKey: string;
  /** A client certificate signed by the CA (CN=client). */
  clientCert: string;
  clientKey: string;
}

let files: CertFiles | null = null;

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], env: clientEnv() });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function signed(dir: string, name: string, cn: string, san: string | null, days: number): void {
  openssl(dir, ["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
  const args = ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-out", `${name}.crt`, "-days", String(days)];
  if (san !== null) {
    fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    args.push("-extfile", `${name}.ext`);
  }
  openssl(dir, args);
}

export function certs(): CertFiles {
  if (files !== null) return files;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-tls-"));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  openssl(dir, ["req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ringloop test CA"]);
  signed(dir, "server", "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1", 2);
  signed(dir, "other", "other.example", "DNS:other.example", 2);
  signed(dir, "expired", "localhost", "DNS:localhost,IP:127.0.0.1", -1);
  signed(dir, "client", "client", null, 2);
  openssl(dir, ["req", "-x509", ...EC, "-keyout", "self.key", "-out", "self.crt", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
  const p = (f: string): string => path.join(dir, f);
  files = {
    dir,
    caCert: p("ca.crt"),
    cert: p("server.crt"),
    key: p("server.key"),
    otherCert: p("other.crt"),
    otherKey: p("other.key"),
    expiredCert: p("expired.crt"),
    expiredKey: p("expired.key"),
    selfCert: p("self.crt"),
    selfKey: p("self.key"),
    clientCert: p("client.crt"),
    clientKey: p("client.key"),
  };
  return files;
}

const read = (f: string): Buffer => fs.readFileSync(f);

/**
 * The environment for client programs (curl, wrk, openssl): without LD_PRELOAD, which
 * `npm run test:asan` sets for node (the sanitizer runtime) and which makes curl hang.
 */
export function clientEnv(): NodeJS.ProcessEnv {
  if (process.env.LD_PRELOAD === undefined) return process.env;
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  return env;
}

/** Server context options (the localhost certificate unless told). */
export function serverOptions(which: "good" | "other" | "expired" | "self" = "good"): tls.SecureContextOptions {
  const c = certs();
  const pair = { good: [c.cert, c.key], other: [c.otherCert, c.otherKey], expired: [c.expiredCert, c.expiredKey], self: [c.selfCert, c.selfKey] }[which];
  return { cert: read(pair[0]), key: read(pair[1]) };
}

/** Client options trusting the test CA. */
export function clientOptions(): tls.SecureContextOptions {
  return { ca: read(certs().caCert) };
}

/** A node:tls server on 127.0.0.1 (port 0); resolves once listening. */
export async function nodeTlsServer(opts: tls.TlsOptions, onConnection: (s: tls.TLSSocket) => void): Promise<{ server: tls.Server; port: number; close(): Promise<void> }> {
  const server = tls.createServer(opts, onConnection);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        (server as unknown as { closeAllConnections?(): void }).closeAllConnections?.();
      }),
  };
}
