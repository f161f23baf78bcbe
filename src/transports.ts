// Transport interfaces (asyncio transports.py). The implementations are written once over
// the Proactor seam, one file per transport kind in src/transports/ (stream.ts: TCP and
// Unix streams).
import type { BaseProtocol } from "./protocols.js";
import type { SockAddrInput } from "./events.js";

export interface BaseTransport {
  close(): void;
  isClosing(): boolean;
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  setProtocol(protocol: BaseProtocol): void;
  getProtocol(): BaseProtocol;
}

export interface ReadTransport extends BaseTransport {
  isReading(): boolean;
  pauseReading(): void;
  resumeReading(): void;
}

export interface WriteTransport extends BaseTransport {
  write(data: Uint8Array): void;
  writelines(list: Iterable<Uint8Array>): void;
  canWriteEof(): boolean;
  writeEof(): void;
  abort(): void;
  getWriteBufferSize(): number;
  getWriteBufferLimits(): [low: number, high: number];
  setWriteBufferLimits(high?: number, low?: number): void;
}

export interface Transport extends ReadTransport, WriteTransport {}

export interface DatagramTransport extends BaseTransport {
  sendto(data: Uint8Array, addr?: SockAddrInput): void;
  abort(): void;
  getWriteBufferSize(): number;
}

export interface SubprocessTransport extends BaseTransport {
  getPid(): number | undefined;
  getPipeTransport(fd: number): ReadTransport | WriteTransport | null;
  getReturncode(): number | null;
  kill(): void;
  sendSignal(signal: NodeJS.Signals | number): void;
  terminate(): void;
}

/** asyncio.subprocess stdio constants. */
export const PIPE = -1;
export const STDOUT = -2;
export const DEVNULL = -3;
