// The ciphertext side of a tls.TLSSocket, in memory (Node's memory BIO): the TLSSocket
// writes records into it and they go to `send` (the raw transport); the TLS layer pushes
// the records the raw transport received, and the TLSSocket reads them.
//
// Rules:
//   - A write completes at once: the raw transport copies what it is given, and its own
//     flow control (pauseWriting) is what holds the application's writes (layer.ts).
//   - end() from the TLSSocket (after its close_notify) becomes `sendEnd` (the raw writeEof).
//   - destroy() never touches the raw transport: the TLS layer alone decides its fate.
import { Duplex } from "node:stream";

export class CiphertextPipe extends Duplex {
  constructor(
    private readonly send: (chunks: Buffer[]) => void,
    private readonly sendEnd: () => void,
  ) {
    super({ allowHalfOpen: true, autoDestroy: false, decodeStrings: true });
  }

  override _read(): void {
    // Records are pushed by the TLS layer as the raw transport receives them.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send([chunk]);
    callback();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.send(chunks.map((c) => c.chunk));
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendEnd();
    callback();
  }
}
