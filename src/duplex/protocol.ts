// The protocol side of a TransportDuplex, and the ways to get one: toDuplex(transport) for a
// live transport, DuplexProtocol / feedNodeServer(server) as protocol factories for
// createServer and createConnection, connectDuplex(options) as net.connect.
import type { EventEmitter } from "node:events";
import type { Transport } from "../transports.js";
import type { BaseTransport } from "../transports.js";
import type { AbstractEventLoop, CreateConnectionOptions, CreateUnixConnectionOptions } from "../events.js";
import { getRunningLoop } from "../running.js";
import { describeType, argTypeError } from "../validate.js";
import { TransportDuplex, type TransportDuplexOptions } from "./transport-duplex.js";

/**
 * A Protocol whose connection surfaces as a net.Socket-like Duplex (`duplex`); `onConnection`
 * runs with it once the transport is connected (after a TLS handshake with `ssl`).
 */
export class DuplexProtocol {
  readonly duplex: TransportDuplex;

  constructor(
    private readonly onConnection: ((duplex: TransportDuplex) => void) | null = null,
    options?: TransportDuplexOptions,
  ) {
    if (onConnection !== null && typeof onConnection !== "function") {
      throw argTypeError(`The "onConnection" argument must be a function. Received ${describeType(onConnection)}`);
    }
    this.duplex = new TransportDuplex(options);
  }

  connectionMade(transport: BaseTransport): void {
    this.duplex._connected(transport as Transport);
    this.onConnection?.(this.duplex);
  }
  dataReceived(data: Buffer): void {
    this.duplex._data(data);
  }
  eofReceived(): boolean {
    return this.duplex._eof();
  }
  pauseWriting(): void {
    this.duplex._pauseWriting();
  }
  resumeWriting(): void {
    this.duplex._resumeWriting();
  }
  connectionLost(exc: Error | null): void {
    this.duplex._lost(exc);
  }
}

/**
 * Takes over a live transport (setProtocol, as asyncio's): from now on what it receives goes
 * to the returned duplex. What the old protocol already received stays with it.
 */
export function toDuplex(transport: Transport, options?: TransportDuplexOptions): TransportDuplex {
  if (transport === null || typeof transport !== "object" || typeof (transport as Transport).setProtocol !== "function") {
    throw argTypeError(`The "transport" argument must be a ringloop stream transport. Received ${describeType(transport)}`);
  }
  if (transport.isClosing()) throw Object.assign(new Error(`toDuplex: ${transport} is closing`), { code: "ERR_TRANSPORT_CLOSED" });
  const protocol = new DuplexProtocol(null, options);
  transport.setProtocol(protocol as never);
  protocol.connectionMade(transport);
  return protocol.duplex;
}

/**
 * A protocol factory for loop.createServer / createUnixServer that hands every accepted
 * connection to a node:net-style server as its 'connection' event: a node:http,
 * node:https (which then runs its own TLS over the duplex) or net.Server serves ringloop
 * connections. With the ringloop server's `ssl`, a node:http server gets the plaintext of
 * ringloop's TLS (the duplex says `encrypted: true`).
 */
export function feedNodeServer(server: EventEmitter, options?: TransportDuplexOptions): () => DuplexProtocol {
  if (server === null || typeof server !== "object" || typeof (server as EventEmitter).emit !== "function") {
    throw argTypeError(`The "server" argument must be a node:net, node:http or node:https server. Received ${describeType(server)}`);
  }
  return () => new DuplexProtocol((duplex) => server.emit("connection", duplex), options);
}

/** connectDuplex options: net.connect's (host/port or socketPath) plus ringloop's createConnection options. */
export interface ConnectDuplexOptions extends Omit<CreateConnectionOptions, "sock">, TransportDuplexOptions {
  host?: string;
  /** undici's name for host. */
  hostname?: string;
  port?: number | string;
  /** A Unix socket path (as node:http's socketPath). */
  socketPath?: string;
  /** As tls.connect's: the SNI / checked name with ssl (serverHostname wins). */
  servername?: string;
  /** The loop to connect on (default: the running loop). */
  loop?: AbstractEventLoop;
}

/**
 * net.connect on ringloop: returns the duplex at once (writes before the connection are
 * queued), emits 'connect' once connected, or is destroyed with the connect error (its
 * `code`, e.g. ECONNREFUSED). `callback(err, duplex)` runs once, as node:http's
 * createConnection and undici's connect option expect.
 */
export function connectDuplex(options: ConnectDuplexOptions, callback?: (err: Error | null, duplex?: TransportDuplex) => void): TransportDuplex {
  if (options === null || typeof options !== "object") throw argTypeError(`The "options" argument must be an object. Received ${describeType(options)}`);
  if (callback !== undefined && typeof callback !== "function") throw argTypeError(`The "callback" argument must be a function. Received ${describeType(callback)}`);
  const loop = options.loop ?? getRunningLoop();
  const protocol = new DuplexProtocol(null, options);
  const duplex = protocol.duplex;
  const ssl = options.ssl;
  const serverHostname = options.serverHostname ?? (ssl !== undefined && ssl !== null && ssl !== false ? options.servername : undefined);
  const common = {
    ssl,
    serverHostname,
    handshakeTimeout: options.handshakeTimeout,
    sslHandshakeTimeout: options.sslHandshakeTimeout,
    sslShutdownTimeout: options.sslShutdownTimeout,
    signal: options.signal,
  };
  const connecting =
    options.socketPath !== undefined
      ? loop.createUnixConnection(() => protocol as never, options.socketPath, common as CreateUnixConnectionOptions)
      : loop.createConnection(() => protocol as never, options.host ?? options.hostname ?? "localhost", options.port ?? null, {
          ...common,
          family: options.family,
          localAddr: options.localAddr,
          happyEyeballsDelay: options.happyEyeballsDelay,
          interleave: options.interleave,
        });
  let called = false;
  const report = (err: Error | null): void => {
    if (called || callback === undefined) return;
    called = true;
    callback(err, err === null ? duplex : undefined);
  };
  connecting.then(
    () => report(null),
    (err: Error) => {
      report(err);
      // An 'error' nobody listens to would kill the process: then the duplex just closes.
      if (duplex.listenerCount("error") > 0) duplex.destroy(err);
      else duplex.destroy();
    },
  );
  return duplex;
}
