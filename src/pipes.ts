// loop.connectReadPipe / connectWritePipe (asyncio unix_events connect_read_pipe /
// connect_write_pipe), written once over the Proactor seam (adoptPipe). A pipe transport IS
// the stream transport with a pipe kind (transports/stream.ts: READ_PIPE_KIND,
// WRITE_PIPE_KIND): the same flow control, pauseReading, writeEof and close rules.
//
// `pipe`: an fd, or a Node stream that has one (process.stdin/stdout/stderr, a net.Socket, a
// tty stream, an opened fs stream). Accepted kinds are asyncio's: a pipe or FIFO, a socket,
// a character device; anything else is a TypeError naming the argument.
//
// Ownership (asyncio: the transport takes the pipe and closes it on close):
//   - an fd: the transport owns it from now on and closes it on close.
//   - a Node stream: the transport works on a duplicate of the stream's fd (F_DUPFD_CLOEXEC;
//     where the addon did not load, a reopen of /dev/fd/N, which works for pipes, FIFOs and
//     terminals), closed on close, and takes the stream out of use: a read pipe destroys it
//     at once, so that Node reads the pipe no more (the bytes it had read and not yet
//     delivered reach the protocol first; a read an fs stream still has in flight is lost
//     with it); a write pipe destroys it when the transport closes. Destroying a stream
//     closes its own fd, except fds 0..2, which Node never closes (as Python keeps the fds
//     of sys.stdin/stdout): the other end sees EOF only when every fd on it is closed.
// The protocol factory runs before anything is taken: if it throws, the pipe stays as it was.
import * as fs from "node:fs";
import type { Proactor, PipeMode } from "./proactor.js";
import { StreamTransport, READ_PIPE_KIND, WRITE_PIPE_KIND, type TransportLoop, type TransportOwner } from "./transports/stream.js";
import { describeType, validateCallback, argRangeError, argTypeError } from "./validate.js";
import { check, nativeFds } from "./addon.js";

export interface PipeLoop extends TransportLoop {
  readonly _proactor: Proactor;
}

interface NodeStreamLike {
  fd?: unknown;
  _handle?: { fd?: unknown } | null;
  destroy?(): void;
  pause?(): void;
  readableLength?: number;
  readableBuffer?: Iterable<unknown>;
  readableEncoding?: BufferEncoding | null;
}

/** The fd of `pipe` (checked to be a pipe, socket or character device), and the stream it came from. */
function pipeFd(pipe: unknown): { fd: number; stream: NodeStreamLike | null } {
  let fd: unknown = pipe;
  let stream: NodeStreamLike | null = null;
  if (pipe !== null && typeof pipe === "object") {
    stream = pipe as NodeStreamLike;
    fd = typeof stream.fd === "number" ? stream.fd : stream._handle?.fd;
    if (typeof fd !== "number" || fd < 0) {
      throw argTypeError(`The "pipe" argument must be an fd or a Node stream with an fd; this ${describeType(pipe)} has none (yet: an fs stream has one after its 'open' event)`);
    }
  } else if (typeof fd !== "number" || !Number.isInteger(fd)) {
    throw argTypeError(`The "pipe" argument must be an fd (an integer) or a Node stream with an fd. Received ${describeType(pipe)}`);
  } else if (fd < 0) {
    throw argRangeError(`The "pipe" argument must be an fd >= 0. Received ${fd}`);
  }
  const st = fs.fstatSync(fd as number);
  if (!st.isFIFO() && !st.isSocket() && !st.isCharacterDevice()) {
    throw argTypeError(`The "pipe" argument must be a pipe, a FIFO, a socket or a character device; fd ${fd as number} is not`, "ERR_INVALID_ARG_VALUE");
  }
  return { fd: fd as number, stream };
}

/** A new fd for the same open file (see Ownership in the header). */
function duplicate(fd: number, mode: PipeMode): number {
  const native = nativeFds();
  if (native !== null) return check(native.dup(fd), "dup");
  return fs.openSync(`/dev/fd/${fd}`, mode === "read" ? "r" : "w");
}

/** The bytes a readable stream has read and not delivered. */
function bufferedBytes(stream: NodeStreamLike): Buffer[] {
  if (!(stream.readableLength! > 0) || stream.readableBuffer === undefined) return [];
  const out: Buffer[] = [];
  for (const chunk of stream.readableBuffer) {
    out.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), stream.readableEncoding ?? "utf8"));
  }
  return out;
}

/** Destroys the Node stream a write pipe took over once the transport has closed. */
class StreamReleaser implements TransportOwner {
  constructor(private readonly stream: NodeStreamLike) {}
  _attach(): void {}
  _detach(): void {
    this.stream.destroy?.();
  }
}

async function connectPipe(loop: PipeLoop, protocolFactory: unknown, pipe: unknown, mode: PipeMode): Promise<[StreamTransport, unknown]> {
  validateCallback(protocolFactory, "protocolFactory");
  const { fd, stream } = pipeFd(pipe);
  const protocol = (protocolFactory as () => unknown)();
  if (protocol === null || typeof protocol !== "object") throw argTypeError(`protocolFactory() must return a protocol object. Received ${describeType(protocol)}`, "ERR_INVALID_RETURN_VALUE");
  let owned = fd;
  let held: Buffer[] = [];
  if (stream !== null) {
    owned = duplicate(fd, mode);
    if (mode === "read") {
      stream.pause?.();
      held = bufferedBytes(stream);
      stream.destroy?.();
    }
  }
  let endpoint;
  try {
    endpoint = loop._proactor.adoptPipe(owned, mode);
  } catch (err) {
    if (owned !== fd) fs.closeSync(owned);
    throw err;
  }
  const owner = stream !== null && mode === "write" ? new StreamReleaser(stream) : null;
  const transport = new StreamTransport(loop, endpoint, protocol, { pipe }, owner, true, mode === "read" ? READ_PIPE_KIND : WRITE_PIPE_KIND, held);
  // The transport scheduled connectionMade with callSoon; this callback runs after it.
  await new Promise<void>((resolve) => loop.callSoon(resolve));
  return [transport, protocol];
}

export function connectReadPipe(loop: PipeLoop, protocolFactory: unknown, pipe: unknown): Promise<[StreamTransport, unknown]> {
  return connectPipe(loop, protocolFactory, pipe, "read");
}

export function connectWritePipe(loop: PipeLoop, protocolFactory: unknown, pipe: unknown): Promise<[StreamTransport, unknown]> {
  return connectPipe(loop, protocolFactory, pipe, "write");
}
