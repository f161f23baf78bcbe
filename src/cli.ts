// The `ringloop` command. Subcommands: doctor, echo (cli-echo.ts), serve (cli-serve.ts).
import { backendReport, uringAvailability, NEEDED_OPCODES } from "./policy.js";
import { loadAddon } from "./addon.js";
import { echo } from "./cli-echo.js";
import { serve } from "./cli-serve.js";

const USAGE = `usage: ringloop <command> [options]

commands:
  doctor [--json]   kernel, whether io_uring works here (and if not, why), ring flags,
                    opcodes, and the backend the default policy picks
  echo [--udp] [--host H] [--port P] [--backend uring|fallback]
                    TCP echo server on ringloop transports, or with --udp a UDP echo
                    server on a datagram endpoint (default 127.0.0.1:8007; --port 0
                    picks a free port); stops on SIGINT/SIGTERM
  serve [DIR] [-p PORT] [--host H] [-w N] [--list] [--spa] [--cors] [--compress] ...
                    static HTTP/1.1 file server (default 127.0.0.1:8080, DIR = the current
                    directory, bodies by loop.sendfile); "ringloop serve --help" lists
                    every option; stops gracefully on SIGINT/SIGTERM
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "doctor":
      return doctor(rest);
    case "echo":
      return echo(rest);
    case "serve":
      return serve(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`ringloop: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

function doctor(args: string[]): number {
  for (const a of args) {
    if (a !== "--json") {
      process.stderr.write(`ringloop doctor: unknown option "${a}"\n`);
      return 2;
    }
  }
  const report = backendReport();
  const avail = uringAvailability();
  const addon = loadAddon();
  if (args.includes("--json")) {
    process.stdout.write(JSON.stringify({ ...report, uring: { usable: avail.ok, reason: avail.reason, flags: avail.flags, opcodes: avail.opcodes, neededOpcodes: NEEDED_OPCODES }, addon: addon.path }, null, 2) + "\n");
    return 0;
  }
  const lines: string[] = [];
  lines.push(`kernel:          ${report.kernel}`);
  lines.push(`io_uring:        ${avail.ok ? "works" : "unusable"} (${avail.reason})`);
  lines.push(`ring flags:      ${avail.ok ? avail.flags.join(" | ") || "none" : "-"}`);
  const supported = Object.entries(avail.opcodes).filter(([, ok]) => ok).map(([op]) => op);
  lines.push(`opcodes:         ${avail.ok ? `${supported.length} supported by this kernel` : "-"}`);
  lines.push(`needed opcodes:  ${NEEDED_OPCODES.map((op) => `${op} ${avail.opcodes[op] ? "yes" : "NO"}`).join(", ")}`);
  lines.push(`backend:         ${report.backend} (${report.reason})`);
  lines.push("checks:");
  for (const c of report.checks) lines.push(`  [${c.ok ? "ok" : "FAIL"}] ${c.name}: ${c.detail}`);
  if (avail.ok && supported.length > 0) lines.push(`supported:       ${supported.join(" ")}`);
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}
