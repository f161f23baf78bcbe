// `ringloop echo`: a TCP echo server on ringloop transports (the streams issue's demo and
// the server the perf/ echo benchmark can drive), or with --udp a UDP echo server on a
// datagram endpoint (each datagram sent back to its sender). Listens on 127.0.0.1:8007
// unless told otherwise (--port 0: an ephemeral port, the real one is printed); stops
// cleanly on SIGINT/SIGTERM: the server (endpoint) closes, the connections are closed, the
// loop ends.
import { policyFor } from "./policy.js";
import { Protocol, DatagramProtocol } from "./protocols.js";
import type { BaseEventLoop } from "./base-events.js";
import type { Transport, DatagramTransport } from "./transports.js";
import type { SockAddr } from "./events.js";

export const ECHO_USAGE = "usage: ringloop echo [--udp] [--host H] [--port P] [--backend uring|fallback]\n";

class Echo extends Protocol {
  private transport: Transport | null = null;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }
  override dataReceived(data: Buffer): void {
    this.transport!.write(data);
  }
}

class UdpEcho extends DatagramProtocol {
  private transport: DatagramTransport | null = null;
  override connectionMade(transport: DatagramTransport): void {
    this.transport = transport;
  }
  override datagramReceived(data: Buffer, addr: SockAddr): void {
    this.transport!.sendto(data, addr);
  }
}

interface EchoArgs {
  host: string;
  port: number;
  backend: "uring" | "fallback" | null;
  udp: boolean;
}

function formatAddr(name: SockAddr | null): string {
  return name === null ? "?" : typeof name === "string" ? name : `${name.family === 6 ? `[${name.host}]` : name.host}:${name.port}`;
}

function parseArgs(args: string[]): EchoArgs | string {
  const out: EchoArgs = { host: "127.0.0.1", port: 8007, backend: null, udp: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = args[i + 1];
    if (a === "--udp") {
      out.udp = true;
    } else if (a === "--host" || a === "--port" || a === "--backend") {
      if (value === undefined) return `option ${a} needs a value`;
      i++;
      if (a === "--host") out.host = value;
      else if (a === "--port") {
        const port = Number(value);
        if (!/^\d+$/.test(value) || port > 65535) return `--port must be an integer 0..65535, got "${value}"`;
        out.port = port;
      } else {
        if (value !== "uring" && value !== "fallback") return `--backend must be uring or fallback, got "${value}"`;
        out.backend = value;
      }
    } else {
      return `unknown option "${a}"`;
    }
  }
  return out;
}

export async function echo(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    process.stderr.write(`ringloop echo: ${parsed}\n${ECHO_USAGE}`);
    return 2;
  }
  const loop = policyFor(parsed.backend).newEventLoop() as BaseEventLoop;
  let stop: (() => void) | null = null;
  const onSignal = (): void => stop?.();
  try {
    await loop.runUntilComplete(
      loop.createTask(async () => {
        let stopServing: () => Promise<void>;
        let where: string;
        if (parsed.udp) {
          const [transport] = await loop.createDatagramEndpoint(() => new UdpEcho(), { localAddr: { host: parsed.host, port: parsed.port } });
          where = `udp ${formatAddr(transport.getExtraInfo("sockname") as SockAddr | null)}`;
          stopServing = async () => {
            const closed = loop.createFuture<void>();
            transport.setProtocol(Object.assign(new DatagramProtocol(), { connectionLost: () => closed.setResult(undefined) }));
            transport.close();
            await closed;
          };
        } else {
          const server = await loop.createServer(() => new Echo(), parsed.host, parsed.port);
          where = formatAddr(server.sockets[0].getsockname());
          stopServing = async () => {
            server.close();
            server.closeClients();
            await server.waitClosed();
          };
        }
        process.stdout.write(`ringloop echo listening on ${where} (backend ${loop.backend})\n`);
        const stopped = loop.createFuture<void>();
        stop = () => {
          if (!stopped.done()) stopped.setResult(undefined);
        };
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        await stopped;
        await stopServing();
      }),
    );
  } catch (err) {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`ringloop echo: ${e.message ?? String(err)}\n`);
    return 1;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (!loop.isRunning()) loop.close();
  }
  return 0;
}
