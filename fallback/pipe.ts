// Pipes on the fallback backend (the Proactor's adoptPipe, src/proactor.ts "pipes"): a
// node:net Socket over the fd (libuv opens it as a pipe handle and sets O_NONBLOCK), or a
// tty stream for a terminal, served by FallbackStreamEndpoint as a socket is. Readable or
// writable only, as the mode says. Another character device (/dev/null...) has no libuv
// stream handle: NotImplementedError (the io_uring backend reads and writes those).
// libuv cannot watch a write-only pipe for its reader going away (a read start on it fails
// with ENOTCONN), so a write pipe learns that from EPIPE at its next write.
// Pipe handles are unref'd: while the loop runs the proactor keeps Node alive, and a pipe of
// an idle loop must not (as on io_uring).
import * as net from "node:net";
import * as tty from "node:tty";
import type { PipeMode, StreamEndpoint } from "../src/proactor.js";
import { NotImplementedError } from "../src/exceptions.js";
import { FallbackStreamEndpoint, type FallbackHost } from "./stream.js";

const NO_NAMES = { sockname: null, peername: null };

/** The endpoint of a pipe Node already has a Socket for (a child's stdio); the Socket is the endpoint's from now on. */
export function pipeEndpoint(socket: net.Socket, host: FallbackHost): StreamEndpoint {
  socket.unref();
  return new FallbackStreamEndpoint(socket, host, NO_NAMES);
}

/** Takes ownership of `fd` (libuv closes it with the Socket). */
export function adoptPipe(fd: number, mode: PipeMode, host: FallbackHost): StreamEndpoint {
  let socket: net.Socket;
  if (tty.isatty(fd)) {
    socket = mode === "read" ? new tty.ReadStream(fd) : new tty.WriteStream(fd);
  } else {
    try {
      socket = new net.Socket({ fd, readable: mode === "read", writable: mode === "write", allowHalfOpen: true });
    } catch (err) {
      if ((err as { code?: string }).code !== "ERR_INVALID_FD_TYPE") throw err;
      throw new NotImplementedError(`the fallback backend (libuv) has no stream handle for fd ${fd} (a character device that is not a terminal); use the io_uring backend`);
    }
  }
  return pipeEndpoint(socket, host);
}
