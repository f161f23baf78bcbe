// The public surface: exactly the names of ../shared/API.md (and a few documented extras).
// Delivered so far: the loop core, policies, futures/tasks, executors, DNS, protocol base
// classes and transport types, streams (Server, the stream transport), Socket and socket().
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
  type AbstractEventLoop,
  type Callback,
  type ExceptionContext,
  type ExceptionHandler,
  type TaskFactory,
} from "./events.js";
export { BaseEventLoop } from "./base-events.js";
export { UringEventLoop, type UringLoopOptions } from "./uring/loop.js";
export { FallbackEventLoop } from "../fallback/loop.js";
export { Future, type DoneCallback } from "./futures.js";
export { Task, type TaskCoro } from "./tasks.js";
export {
  CancelledError,
  InvalidStateError,
  TimeoutError,
  SendfileNotAvailableError,
  IncompleteReadError,
  NotImplementedError,
} from "./exceptions.js";
export { InlineExecutor, WorkerPoolExecutor, type Executor, type WorkerTask } from "./executor.js";
export type { AddrInfo } from "./dns.js";
export { BaseProtocol, Protocol, BufferedProtocol, DatagramProtocol, SubprocessProtocol, type Address } from "./protocols.js";
export { PIPE, DEVNULL, STDOUT } from "./transports.js";
export type { BaseTransport, ReadTransport, WriteTransport, Transport, DatagramTransport, SubprocessTransport } from "./transports.js";
export type { Backend, SockAddr } from "./proactor.js";
export { Server, type ProtocolFactory } from "./server.js";
export type { StreamTransport } from "./transports/stream.js";
export type { TransportSocket } from "./transports/socket.js";
export { Socket, socket, type SockAddrInput, type SocketFamily, type SocketType, type SocketOption, type SocketOptionValue, type Linger } from "./socket.js";
export type { SendfileSource, SendfileOptions } from "./sendfile-source.js";
export type { CreateConnectionOptions, CreateServerOptions, CreateUnixServerOptions } from "./streams.js";
export * as fs from "./fs.js";
export { startServe, type ServeHandle, type ServeOptions } from "./serve/server.js";
