// The public surface: exactly the names of ../shared/API.md (and a few documented extras).
// Delivered so far: the loop core, policies, futures/tasks, executors, DNS, protocol base
// classes and transport types, streams (Server, the stream transport), datagrams (the
// datagram transport), Socket and socket().
export { getRunningLoop } from "./running.js";
export {
  getEventLoop,
  setEventLoop,
  newEventLoop,
  getEventLoopPolicy,
  setEventLoopPolicy,
  backendReport,
  DefaultEventLoopPolicy,
  UringEventLoopPolicy,
  FallbackEventLoopPolicy,
  type BackendReport,
  type BackendCheck,
} from "./policy.js";
export { run, type RunOptions } from "./runner.js";
export {
  AbstractEventLoopPolicy,
  Handle,
  TimerHandle,
  SOCK_STREAM,
  SOCK_DGRAM,
  type AbstractEventLoop,
  type AbstractFuture,
  type AbstractTask,
  type AbstractServer,
  type AbstractSocket,
  type SocketView,
  type AddrInfo,
  type Callback,
  type ExceptionContext,
  type ExceptionHandler,
  type Executor,
  type LoopMetrics,
  type UringMetrics,
  type TaskCoro,
  type TaskFactory,
  type SockAddr,
  type SockAddrInput,
  type SockAddrInput as Address,
  type SocketFamily,
  type SocketType,
  type SocketOption,
  type SocketOptionValue,
  type Linger,
  type CreateConnectionOptions,
  type CreateServerOptions,
  type CreateUnixConnectionOptions,
  type CreateUnixServerOptions,
  type ConnectAcceptedSocketOptions,
  type CreateDatagramEndpointOptions,
  type StartTlsOptions,
  type TlsOptions,
  type TlsTimeoutOptions,
  type SendfileSource,
  type SendfileOptions,
  type PipeSource,
  type SubprocessOptions,
  type SubprocessStdio,
  type SockOptions,
  type SockSendfileOptions,
} from "./events.js";
export { BaseEventLoop } from "./base-events.js";
export { UringEventLoop, type UringLoopOptions } from "./uring/loop.js";
export { FallbackEventLoop } from "../fallback/loop.js";
export { Future, type DoneCallback } from "./futures.js";
export { Task } from "./tasks.js";
export {
  CancelledError,
  InvalidStateError,
  TimeoutError,
  SendfileNotAvailableError,
  IncompleteReadError,
  NotImplementedError,
} from "./exceptions.js";
export { InlineExecutor, WorkerPoolExecutor, type WorkerTask } from "./executor.js";
export { BaseProtocol, Protocol, BufferedProtocol, DatagramProtocol, SubprocessProtocol } from "./protocols.js";
export { PIPE, DEVNULL, STDOUT } from "./transports.js";
export type { BaseTransport, ReadTransport, WriteTransport, Transport, DatagramTransport, SubprocessTransport } from "./transports.js";
export type { Backend } from "./proactor.js";
export { Server, type ProtocolFactory } from "./server.js";
export type { StreamTransport } from "./transports/stream.js";
export type { DatagramTransportImpl } from "./transports/datagram.js";
export type { TransportSocket } from "./transports/socket.js";
export type { SubprocessInfo } from "./transports/subprocess.js";
export { Socket, socket } from "./socket.js";
export * as fs from "./fs.js";
export { TransportDuplex, type TransportDuplexOptions } from "./duplex/transport-duplex.js";
export { DuplexProtocol, toDuplex, feedNodeServer, connectDuplex, type ConnectDuplexOptions } from "./duplex/protocol.js";
export { startServe, type ServeHandle, type ServeOptions } from "./serve/server.js";
