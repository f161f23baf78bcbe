// Where TLS connections are made: over a freshly connected endpoint (createConnection,
// createUnixConnection, connectAcceptedSocket, a Server's accepted connections) and over a
// live transport (loop.startTls, asyncio's start_tls).
import type { StreamEndpoint } from "../proactor.js";
import { StreamTransport, type TransportOwner } from "../transports/stream.js";
import { describeType, argTypeError } from "../validate.js";
import { TlsLayer, type TlsLoop } from "./layer.js";
import { checkServerHostname, checkTimeouts, tlsSettings, type TlsSettings, type TlsTimeoutOptions } from "./options.js";

/**
 * A raw transport over `endpoint` whose protocol is a TLS layer for `protocol`. A server
 * passes itself as `owner` and does not wait; a client awaits `layer.handshake`.
 */
export function tlsOverEndpoint(loop: TlsLoop, endpoint: StreamEndpoint, protocol: unknown, settings: TlsSettings, owner: TransportOwner | null = null): TlsLayer {
  const layer = new TlsLayer(loop, settings, protocol, owner);
  new StreamTransport(loop, endpoint, layer, StreamTransport.extraFor(endpoint), owner === null ? null : layer);
  return layer;
}

/** Resolves once `transport`'s connectionMade has run (it was scheduled with callSoon first). */
export function afterConnectionMade(loop: TlsLoop): Promise<void> {
  return new Promise<void>((resolve) => loop.callSoon(resolve));
}

export interface StartTlsOptions extends TlsTimeoutOptions {
  serverSide?: boolean;
  serverHostname?: string | null;
}

/**
 * loop.startTls (asyncio's start_tls): upgrades a live stream transport. The transport's
 * protocol becomes the TLS layer (data already received and not yet read is handed to TLS);
 * `protocol` gets no connectionMade again and talks to the returned transport. The old
 * transport must not be used afterwards. A failed handshake aborts the connection.
 */
export async function startTls(loop: TlsLoop, transport: unknown, protocol: unknown, sslContext: unknown, optsIn?: StartTlsOptions): Promise<StreamTransport> {
  if (!(transport instanceof StreamTransport)) {
    throw argTypeError(`The "transport" argument must be a stream transport (createConnection, createServer, startTls). Received ${describeType(transport)}`);
  }
  if (protocol === null || typeof protocol !== "object") throw argTypeError(`The "protocol" argument must be a protocol object. Received ${describeType(protocol)}`);
  if (optsIn !== undefined && (optsIn === null || typeof optsIn !== "object")) throw argTypeError(`The "opts" argument must be an object. Received ${describeType(optsIn)}`);
  const opts = optsIn ?? {};
  const serverSide = opts.serverSide ?? false;
  if (typeof serverSide !== "boolean") throw argTypeError(`The "opts.serverSide" option must be a boolean. Received ${describeType(serverSide)}`);
  if (sslContext === undefined || sslContext === null || sslContext === false) {
    throw argTypeError(`The "sslContext" argument must be true, a tls.SecureContext or tls.SecureContextOptions. Received ${describeType(sslContext)}`);
  }
  const serverHostname = checkServerHostname(opts.serverHostname, true);
  if (serverSide && serverHostname !== null) throw argTypeError(`The "opts.serverHostname" option is only meaningful with serverSide false`, "ERR_INVALID_ARG_VALUE");
  if (!serverSide && serverHostname === null) {
    throw argTypeError(`The "opts.serverHostname" option is required for a client-side startTls (the name checked against the certificate; "" checks none)`, "ERR_MISSING_ARGS");
  }
  const settings = tlsSettings(sslContext, serverSide, serverHostname, checkTimeouts(opts, true), "sslContext");
  if (transport.isClosing()) throw Object.assign(new Error(`startTls: ${transport} is closing`), { code: "ERR_TRANSPORT_CLOSED" });
  const layer = new TlsLayer(loop, settings, protocol, null, false);
  // Data that arrives from now on is held by the transport and replayed to the layer.
  transport.pauseReading();
  transport.setProtocol(layer);
  loop.callSoon(() => layer.connectionMade(transport));
  const app = await layer.handshake;
  await afterConnectionMade(loop);
  return app;
}
