// The `ssl` option of createConnection / createServer / createUnix* / connectAcceptedSocket /
// startTls, checked and turned into what the TLS layer (layer.ts) hands to Node's `tls`.
//
// `ssl` takes:
//   - true (clients only): certificates verified against the system's CA store (the file
//     OpenSSL uses, as Python's ssl.create_default_context(); Node's bundled roots where no
//     system store is found);
//   - a tls.SecureContext (tls.createSecureContext()), used as it is;
//   - an options object: tls.SecureContextOptions (key, cert, ca, ciphers, minVersion, ...)
//     plus the per-connection options of tls.connect / new tls.TLSSocket (ALPNProtocols,
//     rejectUnauthorized, requestCert, checkServerIdentity, SNICallback, session, and
//     secureContext to reuse a context): asyncio keeps ALPN and verification on the
//     SSLContext, Node keeps them on the connection, so the object carries both.
// false / null / undefined: no TLS. Anything else is a TypeError naming the option.
//
// Renegotiation is refused: servers abort a client's renegotiation (tls.TLSSocket
// disableRenegotiation(), ERR_TLS_RENEGOTIATION_DISABLED); contexts made here from options
// carry SSL_OP_NO_RENEGOTIATION, so such a client declines a server's HelloRequest.
import * as tls from "node:tls";
import * as fs from "node:fs";
import * as crypto from "node:crypto";
import { describeType, argRangeError, argTypeError } from "../validate.js";

/** asyncio's defaults (constants.SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT), in ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 60_000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

/** What the TLS layer needs for one connection. */
export interface TlsSettings {
  serverSide: boolean;
  secureContext: tls.SecureContext;
  /** Options for tls.connect (client) or new tls.TLSSocket (server), secureContext included. */
  nodeOptions: Record<string, unknown>;
  /** Client: the name sent as SNI and checked against the certificate; "" checks no name. */
  serverHostname: string | null;
  handshakeTimeoutMs: number;
  shutdownTimeoutMs: number;
}

/** The timeouts as given to a method (asyncio's ssl_handshake_timeout / ssl_shutdown_timeout). */
export interface TlsTimeoutOptions {
  /** ms; API.md's name (startTls). */
  handshakeTimeout?: number | null;
  /** ms; asyncio's name, the same option. */
  sslHandshakeTimeout?: number | null;
  sslShutdownTimeout?: number | null;
}

let secureContextClass: (new (...args: never[]) => tls.SecureContext) | null = null;

/** True for what tls.createSecureContext() returns. */
export function isSecureContext(value: unknown): value is tls.SecureContext {
  if (value === null || typeof value !== "object") return false;
  secureContextClass ??= Object.getPrototypeOf(tls.createSecureContext({ ca: [] })).constructor as new () => tls.SecureContext;
  return value instanceof secureContextClass;
}

/** True when `ssl` asks for TLS (it is not false / null / undefined). */
export function wantsTls(ssl: unknown): boolean {
  return ssl !== undefined && ssl !== null && ssl !== false;
}

const SYSTEM_CA_FILES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem", "/usr/local/etc/openssl/cert.pem"];

/** PEM text of the system CA store: SSL_CERT_FILE, else the distributions' usual bundle paths; null if none. */
export function systemCaPem(): string | null {
  const listed = (tls as { getCACertificates?: (which: string) => string[] }).getCACertificates;
  if (typeof listed === "function") {
    const certs = listed("system");
    if (certs.length > 0) return certs.join("\n");
  }
  const env = process.env.SSL_CERT_FILE;
  for (const file of env ? [env, ...SYSTEM_CA_FILES] : SYSTEM_CA_FILES) {
    try {
      const pem = fs.readFileSync(file, "utf8");
      if (pem.includes("-----BEGIN CERTIFICATE-----")) return pem;
    } catch {
      // not there: the next candidate
    }
  }
  return null;
}

let defaultClientContext: tls.SecureContext | null = null;

/** `ssl: true`: one context per process, verifying against the system CAs. */
function clientDefaultContext(): tls.SecureContext {
  if (defaultClientContext === null) {
    const ca = systemCaPem();
    defaultClientContext = tls.createSecureContext({ ...(ca !== null ? { ca } : {}), secureOptions: crypto.constants.SSL_OP_NO_RENEGOTIATION });
  }
  return defaultClientContext;
}

function checkTimeout(value: unknown, name: string, dflt: number): number {
  if (value === undefined || value === null) return dflt;
  if (typeof value !== "number" || Number.isNaN(value)) throw argTypeError(`The "opts.${name}" option must be a number of ms. Received ${describeType(value)}`);
  if (!(value > 0) || !Number.isFinite(value) || value > 2 ** 31 - 1) throw argRangeError(`The "opts.${name}" option must be a positive number of ms (at most 2147483647). Received ${value}`);
  return value;
}

/** The handshake and shutdown timeouts of `opts` (only meaningful with ssl: TypeError otherwise). */
export function checkTimeouts(opts: TlsTimeoutOptions, tlsWanted: boolean): { handshakeTimeoutMs: number; shutdownTimeoutMs: number } {
  const given = (v: unknown): boolean => v !== undefined && v !== null;
  if (!tlsWanted) {
    for (const name of ["handshakeTimeout", "sslHandshakeTimeout", "sslShutdownTimeout"] as const) {
      if (given(opts[name])) throw argTypeError(`The "opts.${name}" option is only meaningful with ssl`, "ERR_INVALID_ARG_VALUE");
    }
    return { handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS, shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS };
  }
  if (given(opts.handshakeTimeout) && given(opts.sslHandshakeTimeout) && opts.handshakeTimeout !== opts.sslHandshakeTimeout) {
    throw argTypeError(`The "opts.handshakeTimeout" and "opts.sslHandshakeTimeout" options name the same timeout; give one`, "ERR_INVALID_ARG_VALUE");
  }
  const handshake = given(opts.handshakeTimeout) ? "handshakeTimeout" : "sslHandshakeTimeout";
  return {
    handshakeTimeoutMs: checkTimeout(opts[handshake], handshake, DEFAULT_HANDSHAKE_TIMEOUT_MS),
    shutdownTimeoutMs: checkTimeout(opts.sslShutdownTimeout, "sslShutdownTimeout", DEFAULT_SHUTDOWN_TIMEOUT_MS),
  };
}

/** Checks `serverHostname` (a string, only meaningful with ssl). */
export function checkServerHostname(value: unknown, tlsWanted: boolean, name = "opts.serverHostname"): string | null {
  if (value === undefined || value === null) return null;
  if (!tlsWanted) throw argTypeError(`The "${name}" option is only meaningful with ssl`, "ERR_INVALID_ARG_VALUE");
  if (typeof value !== "string") throw argTypeError(`The "${name}" option must be a string. Received ${describeType(value)}`);
  return value;
}

/**
 * Builds the settings of one side. `name` is how the option is named in errors.
 * `serverHostname` is the client's SNI / checked name (already defaulted by the caller).
 */
export function tlsSettings(
  ssl: unknown,
  serverSide: boolean,
  serverHostname: string | null,
  timeouts: { handshakeTimeoutMs: number; shutdownTimeoutMs: number },
  name = "opts.ssl",
): TlsSettings {
  let secureContext: tls.SecureContext;
  let nodeOptions: Record<string, unknown>;
  if (ssl === true) {
    if (serverSide) throw argTypeError(`The "${name}" option of a server must be a tls.SecureContext or tls.SecureContextOptions with key and cert (true is for clients)`, "ERR_INVALID_ARG_VALUE");
    secureContext = clientDefaultContext();
    nodeOptions = {};
  } else if (isSecureContext(ssl)) {
    secureContext = ssl;
    nodeOptions = {};
  } else if (ssl !== null && typeof ssl === "object" && !Array.isArray(ssl)) {
    nodeOptions = { ...(ssl as Record<string, unknown>) };
    const given = nodeOptions.secureContext;
    if (given !== undefined && given !== null) {
      if (!isSecureContext(given)) throw argTypeError(`The "${name}.secureContext" option must be a tls.SecureContext. Received ${describeType(given)}`);
      secureContext = given;
    } else {
      const secureOptions = typeof nodeOptions.secureOptions === "number" ? nodeOptions.secureOptions : 0;
      // Node's own errors (ERR_INVALID_ARG_TYPE, ERR_OSSL_*, ...) carry a code: passed on.
      secureContext = tls.createSecureContext({ ...nodeOptions, secureOptions: secureOptions | crypto.constants.SSL_OP_NO_RENEGOTIATION } as tls.SecureContextOptions);
    }
  } else {
    throw argTypeError(`The "${name}" option must be true, a tls.SecureContext or tls.SecureContextOptions. Received ${describeType(ssl)}`);
  }
  nodeOptions.secureContext = secureContext;
  return { serverSide, secureContext, nodeOptions, serverHostname, ...timeouts };
}
