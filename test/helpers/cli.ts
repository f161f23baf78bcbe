// The `ringloop` CLI as a child process for tests: its first stdout line (the "listening on"
// line), its exit, its stderr, and a SIGKILL guard.
import { spawn, type ChildProcess } from "node:child_process";
import { fixture } from "./backends.js";

export const CLI = fixture("../../bin/ringloop.cjs");

export interface CliChild {
  child: ChildProcess;
  /** The first line printed on stdout (rejects if the process exits first). */
  firstLine: Promise<string>;
  /** The exit code. */
  exited: Promise<number | null>;
  stderr(): string;
  /** Clears the guard and kills the process if it still runs. */
  dispose(): void;
}

/** Runs `ringloop ...args`; killed with SIGKILL after `guardMs` whatever happens. */
export function startCli(args: string[], guardMs = 15_000): CliChild {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  const guard = setTimeout(() => child.kill("SIGKILL"), guardMs);
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
    child.once("close", () => reject(new Error(`exited before printing a line: ${err}`)));
  });
  firstLine.catch(() => {});
  return {
    child,
    firstLine,
    exited,
    stderr: () => err,
    dispose() {
      clearTimeout(guard);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
