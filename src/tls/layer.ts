// The TLS layer (asyncio's sslproto.SSLProtocol): the Protocol of a plain StreamTransport
// (the raw transport, ciphertext) and the StreamEndpoint of a second StreamTransport (the
// app transport, plaintext), so the app transport gets every transport rule (flow control,
// pauseReading holding data, writeEof, close, sendfile through read + write) from
// transports/stream.ts unchanged. OpenSSL runs in Node's `tls` module: a tls.TLSSocket over
// a CiphertextPipe (ciphertext-pipe.ts).
//
// State (one way):
//   Connecting --raw connectionMade--> Handshaking --secure--> Wrapped --endpoint close()-->
//   ShuttingDown --raw connectionLost--> Closed.
//   Handshaking --error / timeout / raw lost--> Failed --raw connectionLost--> Closed
//   (the handshake promise rejects once the raw transport is closed, so no fd outlives it).
//   abort() and fatal errors go to Closed through the raw transport's abort.
//
// Flow control, passed through:
//   - app writes: a write completes (onWriteDone) once TLS has encrypted it into the raw
//     transport AND the raw transport is not paused (its pauseWriting holds completions), so
//     the app transport's write buffer counts plaintext whose ciphertext is still queued;
//   - app reads: the raw transport reads while the app transport wants data, and always
//     while handshaking or shutting down (TLS must see the peer's records then).
//
// Closing (asyncio's rules, in ms):
//   - writeEof (endpoint shutdownWrite): close_notify, then the raw writeEof; reading goes on
//     (TLS 1.3 half-close: a peer that supports it keeps sending).
//   - close: close_notify (unless sent), then wait for the peer's close_notify or EOF at most
//     shutdownTimeoutMs, then the raw transport closes (an expired wait aborts it); what the
//     peer sends meanwhile is dropped.
//   - abort: the raw transport is aborted at once.
//   - handshakeTimeoutMs without a finished handshake: ERR_TLS_HANDSHAKE_TIMEOUT, aborted.
//   - TLS errors (ERR_SSL_*, ERR_TLS_*) after the handshake reach the app transport as a
//     read error, which closes it quietly (asyncio: ssl.SSLError is an OSError).
//
// Sink calls: the backend rule (a completion is followed by one loop iteration) holds here
// too. A sink call made inside a raw-transport callback is covered by the raw backend's
// iteration; one made from a Node callback (TLSSocket events come from nextTick and
// setImmediate) outside an iteration is followed by loop._runOnce(). No sink call is made
// synchronously inside the endpoint method that asked for it, and none after onClosed.
import * as tls from "node:tls";
import * as util from "node:util";
import type { StreamEndpoint, StreamSink } from "../proactor.js";
import type { SockAddr, TimerHandle } from "../events.js";
import { StreamTransport, type ServerClient, type TransportLoop, type TransportOwner } from "../transports/stream.js";
import { TimeoutError } from "../exceptions.js";
import { formatValue } from "../log.js";
import { CiphertextPipe } from "./ciphertext-pipe.js";
import type { TlsSettings } from "./options.js";

const debugLog = util.debuglog("ringloop");

/** What the layer needs from its loop (BaseEventLoop has all of it). */
export interface TlsLoop extends TransportLoop {
  callLater(delayMs: number, cb: (...args: any[]) => unknown, ...args: unknown[]): TimerHandle;
  _runOnce(): void;
  readonly _inIteration: boolean;
}

const enum State {
  Connecting,
  Handshaking,
  Wrapped,
  ShuttingDown,
  Failed,
  Closed,
}

type TlsError = Error & { code?: string };

function codedError(message: string, code: string): TlsError {
  return Object.assign(new Error(message), { code });
}

export class TlsLayer implements StreamEndpoint, TransportOwner {
  private state = State.Connecting;
  private raw: StreamTransport | null = null;
  private tlsSocket: tls.TLSSocket | null = null;
  private pipe: CiphertextPipe | null = null;
  private sink: StreamSink | null = null;
  private app: StreamTransport | null = null;
  private timer: TimerHandle | null = null;
  private handshakeError: Error | null = null;
  private settle: { resolve(app: StreamTransport): void; reject(err: Error): void } | null = null;
  /** Resolves with the app transport once the handshake is done; rejects after the raw transport closed. */
  readonly handshake: Promise<StreamTransport>;

  /** Inside a raw-transport callback (the raw backend runs an iteration after it). */
  private inRaw = 0;
  /** The app transport wants data (startReading / stopReading). */
  private appReading = false;
  /** The TLSSocket's plaintext waits for the app transport's first startReading. */
  private appStarted = false;
  private rawWritePaused = false;
  /** A write completed while the raw transport was paused: reported at resumeWriting. */
  private heldWriteDone = false;
  private writeInFlight = false;
  /** tls.end() was called (close_notify on its way). */
  private tlsEnded = false;
  /** close_notify written and the raw write side shut. */
  private closeNotifySent = false;
  /** shutdownWrite() waits for closeNotifySent. */
  private shutdownPending = false;
  /** The peer's close_notify or EOF has been seen. */
  private peerEnded = false;
  private sinkClosed = false;
  private fdCache = -1;

  constructor(
    private readonly loop: TlsLoop,
    private readonly settings: TlsSettings,
    private readonly appProtocol: unknown,
    /** A Server counting its connections (this layer stands for the connection there). */
    private readonly owner: TransportOwner | null = null,
    /** false for loop.startTls: the protocol is already connected. */
    private readonly callConnectionMade = true,
  ) {
    this.handshake = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Rejections are the caller's to await; a server's failed handshakes are only logged.
    this.handshake.catch(() => {});
  }

  // ------------------------------------------------------------------ TransportOwner (of the raw transport)

  /** What a Server closes (closeClients) or aborts (abortClients) for this connection. */
  private readonly client: ServerClient = {
    // The app transport's close (close_notify first); while handshaking there is nothing to say goodbye to.
    close: () => {
      if (this.app !== null) this.app.close();
      else this.failHandshake(codedError("The connection was closed during the TLS handshake", "ECONNABORTED"));
    },
    abort: () => {
      if (this.app !== null) this.app.abort();
      else this.failHandshake(codedError("The connection was aborted during the TLS handshake", "ECONNABORTED"));
    },
  };

  _attach(_raw: ServerClient): void {
    this.owner?._attach(this.client);
  }

  _detach(_raw: ServerClient): void {
    this.owner?._detach(this.client);
  }

  // ------------------------------------------------------------------ raw transport's protocol

  connectionMade(raw: StreamTransport): void {
    if (this.state === State.Failed && this.raw === null) {
      // Closed or aborted before the connection got here: it goes at once.
      this.raw = raw;
      raw.abort();
      return;
    }
    if (this.state !== State.Connecting) return;
    this.raw = raw;
    this.state = State.Handshaking;
    const sock = raw.getExtraInfo("socket") as { fileno(): number } | undefined;
    this.fdCache = sock?.fileno() ?? -1;
    const pipe = (this.pipe = new CiphertextPipe(
      (chunks) => this.sendCiphertext(chunks),
      () => this.sendEof(),
    ));
    const s = this.settings;
    let socket: tls.TLSSocket;
    try {
      if (s.serverSide) {
        socket = new tls.TLSSocket(pipe as never, { ...s.nodeOptions, isServer: true } as tls.TLSSocketOptions);
        // A standalone server-side TLSSocket reports errors as 'error' only once released.
        (socket as unknown as { _releaseControl?(): void })._releaseControl?.();
        socket.disableRenegotiation();
        socket.once("secure", this.onServerSecure);
      } else {
        const name = s.serverHostname ?? "";
        const ip = name !== "" && isIpLiteral(name);
        const options: tls.ConnectionOptions = { ...(s.nodeOptions as tls.ConnectionOptions), socket: pipe as never };
        if (name !== "" && !ip) options.servername = name;
        if (name !== "") options.host = name;
        else options.checkServerIdentity = () => undefined;
        socket = tls.connect(options);
        socket.once("secureConnect", this.onClientSecure);
      }
    } catch (err) {
      // Bad per-connection options (Node's ERR_INVALID_ARG_*): the handshake fails with them.
      this.failHandshake(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.tlsSocket = socket;
    socket.on("data", this.onPlaintext);
    socket.on("end", this.onPlaintextEnd);
    socket.on("error", this.onTlsError);
    socket.on("_tlsError", this.onTlsError);
    socket.on("finish", this.onCloseNotifySent);
    this.timer = this.loop.callLater(s.handshakeTimeoutMs, this.onHandshakeTimeout);
    this.syncRawReading();
  }

  dataReceived(data: Buffer): void {
    if (this.pipe === null || this.state >= State.Failed) return;
    this.inRaw++;
    try {
      this.pipe.push(data);
    } finally {
      this.inRaw--;
    }
  }

  /** The raw EOF: TLS sees it (a missing close_notify ends the stream too); the raw write side stays open. */
  eofReceived(): boolean {
    if (this.pipe === null || this.state >= State.Failed) return false;
    this.inRaw++;
    try {
      this.pipe.push(null);
    } finally {
      this.inRaw--;
    }
    return true;
  }

  pauseWriting(): void {
    this.rawWritePaused = true;
  }

  resumeWriting(): void {
    this.rawWritePaused = false;
    if (this.heldWriteDone) {
      this.heldWriteDone = false;
      this.inRaw++;
      try {
        this.toSink((sink) => sink.onWriteDone(null));
      } finally {
        this.inRaw--;
      }
    }
  }

  connectionLost(exc: Error | null): void {
    const state = this.state;
    this.state = State.Closed;
    this.cancelTimer();
    this.destroyTls();
    if (state <= State.Handshaking || state === State.Failed) {
      const err = this.handshakeError ?? exc ?? codedError("Connection lost during the TLS handshake", "ECONNRESET");
      if (this.settings.serverSide) debugLog(`TLS handshake failed on ${this.raw}: ${formatValue(err)}`);
      this.settle?.reject(err);
      this.settle = null;
      return;
    }
    this.inRaw++;
    try {
      if (exc !== null) this.toSink((sink) => sink.onReadError(exc));
      this.toSink((sink) => sink.onClosed());
      this.sinkClosed = true;
    } finally {
      this.inRaw--;
    }
  }

  // ------------------------------------------------------------------ handshake

  private readonly onClientSecure = (): void => {
    this.handshakeDone();
  };

  private readonly onServerSecure = (): void => {
    const socket = this.tlsSocket;
    if (socket === null) return;
    const o = this.settings.nodeOptions;
    if (o.requestCert === true && o.rejectUnauthorized !== false) {
      const verifyError = (socket as unknown as { _handle?: { verifyError(): Error | null } })._handle?.verifyError() ?? null;
      if (verifyError !== null) {
        this.failHandshake(verifyError);
        return;
      }
    }
    this.handshakeDone();
  };

  private handshakeDone(): void {
    const socket = this.tlsSocket;
    if (this.state !== State.Handshaking || socket === null || this.raw === null) return;
    this.cancelTimer();
    this.state = State.Wrapped;
    // Plaintext waits in the TLSSocket until the app transport starts reading (after connectionMade).
    socket.pause();
    const peercert = socket.getPeerCertificate();
    const extra: Record<string, unknown> = {
      peername: this.raw.getExtraInfo("peername"),
      sockname: this.raw.getExtraInfo("sockname"),
      socket: this.raw.getExtraInfo("socket"),
      sslcontext: this.settings.secureContext,
      peercert: peercert !== null && typeof peercert === "object" && Object.keys(peercert).length > 0 ? peercert : null,
      cipher: socket.getCipher(),
      ssl_object: socket,
    };
    const app = new StreamTransport(this.loop, this, this.appProtocol, extra, null, this.callConnectionMade);
    this.app = app;
    this.settle?.resolve(app);
    this.settle = null;
    this.syncRawReading();
  }

  private readonly onHandshakeTimeout = (): void => {
    this.timer = null;
    const err = Object.assign(new TimeoutError(`TLS handshake not finished within ${this.settings.handshakeTimeoutMs} ms: aborting the connection`), { code: "ERR_TLS_HANDSHAKE_TIMEOUT" });
    this.failHandshake(err);
  };

  /** The handshake failed: abort the raw transport; the promise rejects once it is closed. */
  private failHandshake(err: Error): void {
    if (this.state !== State.Handshaking && this.state !== State.Connecting) return;
    this.state = State.Failed;
    this.handshakeError = err;
    this.cancelTimer();
    this.destroyTls();
    // Without a raw transport yet, connectionMade aborts it when it comes.
    if (this.raw !== null && !this.rawGone()) this.raw.abort();
  }

  // ------------------------------------------------------------------ TLSSocket events

  private readonly onPlaintext = (data: Buffer): void => {
    this.toSink((sink) => sink.onData(data));
  };

  private readonly onPlaintextEnd = (): void => {
    this.peerEnded = true;
    if (this.state === State.ShuttingDown) this.maybeCloseRaw();
    else this.toSink((sink) => sink.onEof());
  };

  /** Our close_notify went out and the raw write side is shut (the TLSSocket's 'finish'). */
  private readonly onCloseNotifySent = (): void => {
    this.closeNotifySent = true;
    if (this.shutdownPending) {
      this.shutdownPending = false;
      this.toSink((sink) => sink.onShutdownDone(null));
    }
    this.maybeCloseRaw();
  };

  /** Shutting down, both close_notify seen: the raw transport closes (after what it still has queued). */
  private maybeCloseRaw(): void {
    if (this.state === State.ShuttingDown && this.closeNotifySent && this.peerEnded && !this.rawGone()) this.raw!.close();
  }

  private readonly onTlsError = (err: TlsError): void => {
    if (this.state === State.Handshaking || this.state === State.Connecting) {
      this.failHandshake(err);
      return;
    }
    if (this.state === State.Wrapped) {
      this.toSink((sink) => sink.onReadError(err));
      // The app transport aborts (abort() below); make sure the raw one goes too.
      if (!this.rawGone()) this.raw?.abort();
      return;
    }
    if (this.state === State.ShuttingDown && !this.rawGone()) {
      debugLog(`TLS error while shutting down ${this.raw}: ${formatValue(err)}`);
      this.raw?.abort();
    }
  };

  // ------------------------------------------------------------------ ciphertext out

  private sendCiphertext(chunks: Buffer[]): void {
    const raw = this.raw;
    if (raw === null || this.rawGone()) return;
    try {
      raw.writelines(chunks);
    } catch (err) {
      // The raw write side was shut by someone else (the transport handed to startTls).
      debugLog(`${raw}: ${formatValue(err)}`);
      raw.abort();
    }
  }

  private sendEof(): void {
    const raw = this.raw;
    if (raw !== null && !this.rawGone()) raw.writeEof();
  }

  private rawGone(): boolean {
    return this.state === State.Closed || this.raw === null || this.raw.isClosing();
  }

  // ------------------------------------------------------------------ StreamEndpoint (the app transport's)

  get fd(): number {
    return this.fdCache;
  }

  setSink(sink: StreamSink): void {
    this.sink = sink;
  }

  startReading(): void {
    this.appReading = true;
    if (!this.appStarted) {
      this.appStarted = true;
      this.tlsSocket?.resume();
    }
    this.syncRawReading();
  }

  stopReading(): void {
    this.appReading = false;
    this.syncRawReading();
  }

  write(chunks: Uint8Array[]): void {
    const socket = this.tlsSocket;
    this.writeInFlight = true;
    if (socket === null || socket.destroyed || this.state !== State.Wrapped) {
      this.loop.callSoon(() => this.writeDone(codedError("write after the TLS connection ended", "EPIPE")));
      return;
    }
    socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) socket.write(chunks[i]);
    socket.write(chunks[chunks.length - 1], (err?: Error | null) => this.writeDone(err ?? null));
    socket.uncork();
  }

  private writeDone(err: Error | null): void {
    if (!this.writeInFlight) return;
    this.writeInFlight = false;
    if (err === null && this.rawWritePaused) {
      this.heldWriteDone = true;
      return;
    }
    this.toSink((sink) => sink.onWriteDone(err));
  }

  /** writeEof: close_notify, then the raw write side shuts; reading goes on. */
  shutdownWrite(): void {
    const socket = this.tlsSocket;
    if (socket === null || socket.destroyed || this.state !== State.Wrapped || this.tlsEnded) {
      this.loop.callSoon(() => this.toSink((sink) => sink.onShutdownDone(null)));
      return;
    }
    this.tlsEnded = true;
    this.shutdownPending = true;
    socket.end();
  }

  /** The app transport drained and closes: close_notify, then the peer's (bounded wait), then the raw close. */
  close(): void {
    if (this.state !== State.Wrapped) {
      if (this.state < State.Wrapped) this.abort();
      return;
    }
    const socket = this.tlsSocket;
    if (socket === null || socket.destroyed) {
      this.closeNow();
      return;
    }
    this.state = State.ShuttingDown;
    this.syncRawReading();
    this.timer = this.loop.callLater(this.settings.shutdownTimeoutMs, this.onShutdownTimeout);
    // The peer's close_notify must be read even if the app had paused reading.
    socket.resume();
    if (!this.tlsEnded) {
      this.tlsEnded = true;
      socket.end();
    }
    this.maybeCloseRaw();
  }

  private readonly onShutdownTimeout = (): void => {
    this.timer = null;
    debugLog(`${this.raw}: no close_notify from the peer within ${this.settings.shutdownTimeoutMs} ms: aborting`);
    this.closeNow();
  };

  /** The app transport's abort (or a fatal error): the raw transport is aborted; onClosed follows its connectionLost. */
  abort(): void {
    if (this.state < State.Wrapped) {
      this.failHandshake(codedError("The connection was aborted during the TLS handshake", "ECONNABORTED"));
      return;
    }
    this.closeNow();
  }

  /** Closes without the TLS goodbye. */
  private closeNow(): void {
    this.cancelTimer();
    if (this.state === State.Wrapped) this.state = State.ShuttingDown;
    this.destroyTls();
    if (!this.rawGone()) this.raw!.abort();
  }

  sockname(): SockAddr | null {
    return (this.raw?.getExtraInfo("sockname") as SockAddr | undefined) ?? null;
  }

  peername(): SockAddr | null {
    return (this.raw?.getExtraInfo("peername") as SockAddr | undefined) ?? null;
  }

  setNoDelay(on: boolean): void {
    this.raw?._setNoDelay(on);
  }

  setKeepAlive(on: boolean, initialDelaySec: number): void {
    this.raw?._setKeepAlive(on, initialDelaySec);
  }

  // ------------------------------------------------------------------ helpers

  /** Raw reading: while the app wants data, and always while handshaking or shutting down. */
  private syncRawReading(): void {
    const raw = this.raw;
    if (raw === null || this.rawGone()) return;
    const want = this.state === State.Handshaking || this.state === State.ShuttingDown || (this.state === State.Wrapped && this.appReading);
    if (want) raw.resumeReading();
    else raw.pauseReading();
  }

  private toSink(call: (sink: StreamSink) => void): void {
    const sink = this.sink;
    if (sink === null || this.sinkClosed) return;
    call(sink);
    if (this.inRaw === 0 && !this.loop._inIteration) this.loop._runOnce();
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private destroyTls(): void {
    const socket = this.tlsSocket;
    if (socket !== null && !socket.destroyed) socket.destroy();
    if (this.pipe !== null && !this.pipe.destroyed) this.pipe.destroy();
  }

  toString(): string {
    return `<TlsLayer ${this.settings.serverSide ? "server" : "client"} over ${this.raw ?? "nothing yet"}>`;
  }
}

function isIpLiteral(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(":");
}
