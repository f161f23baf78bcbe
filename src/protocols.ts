// Protocol base classes (asyncio protocols.py). Users extend them and override what they
// need; every method has asyncio's default behaviour (do nothing, or for eofReceived
// return nothing so the transport closes itself).
import type { BaseTransport, DatagramTransport, SubprocessTransport } from "./transports.js";
import type { SockAddr } from "./events.js";

export class BaseProtocol {
  connectionMade(_transport: BaseTransport): void {}
  connectionLost(_exc: Error | null): void {}
  pauseWriting(): void {}
  resumeWriting(): void {}
}

export class Protocol extends BaseProtocol {
  dataReceived(_data: Buffer): void {}
  /** Return true to keep the write side open after the peer's EOF. */
  eofReceived(): boolean | void {}
}

export class BufferedProtocol extends BaseProtocol {
  /** Memory the next read goes into; at least one byte. */
  getBuffer(sizeHint: number): Uint8Array {
    return Buffer.allocUnsafe(sizeHint > 0 ? sizeHint : 65536);
  }
  bufferUpdated(_nbytes: number): void {}
  eofReceived(): boolean | void {}
}

export class DatagramProtocol extends BaseProtocol {
  override connectionMade(_transport: DatagramTransport): void {}
  datagramReceived(_data: Buffer, _addr: SockAddr): void {}
  errorReceived(_exc: Error): void {}
}

export class SubprocessProtocol extends BaseProtocol {
  override connectionMade(_transport: SubprocessTransport): void {}
  pipeDataReceived(_fd: number, _data: Buffer): void {}
  pipeConnectionLost(_fd: number, _exc: Error | null): void {}
  processExited(): void {}
}
