// loop.subprocessExec / subprocessShell (asyncio base_events subprocess_exec /
// subprocess_shell), written once over the Proactor seam (spawnChild): argument checks,
// the request, and the subprocess transport (transports/subprocess.ts).
//
// stdio (opts.stdin / stdout / stderr), asyncio's values and defaults:
//   undefined   PIPE (asyncio's default): a pipe transport per fd (getPipeTransport(fd))
//   PIPE, DEVNULL, STDOUT (stderr only: into whatever stdout is), an fd >= 0 of ours (the
//   child gets a copy; ours stays open and ours), null (inherited as it is).
// The child gets fds 0..2 (asyncio's close_fds; on the fallback, libuv also passes on fds we hold
// without FD_CLOEXEC) and every signal's default
// disposition. `env` (default process.env) is the whole environment of the child; the
// program is looked up in ITS PATH (as Python and libuv do). `cwd` is checked first: a
// missing or non-directory cwd rejects with ENOENT / ENOTDIR, syscall "chdir", path cwd.
// A program that cannot be started rejects with Node's spawn error (code ENOENT, syscall
// "spawn <program>", path, spawnargs). Bad arguments are TypeError / RangeError naming them.
// The protocol factory runs first (asyncio): if it throws, nothing is started.
// subprocessShell runs `/bin/sh -c cmd`.
import * as fs from "node:fs";
import type { ChildStdio, Proactor } from "./proactor.js";
import { PIPE, STDOUT, DEVNULL, type SubprocessTransport } from "./transports.js";
import type { SubprocessOptions } from "./events.js";
import { describeType, validateCallback, argRangeError, argTypeError } from "./validate.js";
import { systemError, errno } from "./system-error.js";
import { BaseSubprocessTransport } from "./transports/subprocess.js";
import type { TransportLoop } from "./transports/stream.js";

export interface SubprocessLoop extends TransportLoop {
  readonly _proactor: Proactor;
}

const SHELL = "/bin/sh";
const STDIO_NAMES = ["stdin", "stdout", "stderr"] as const;

function checkString(value: unknown, name: string, allowEmpty: boolean): asserts value is string {
  if (typeof value !== "string") throw argTypeError(`The "${name}" argument must be a string. Received ${describeType(value)}`);
  if (!allowEmpty && value.length === 0) throw argRangeError(`The "${name}" argument must not be empty`, "ERR_INVALID_ARG_VALUE");
  if (value.includes("\0")) throw argRangeError(`The "${name}" argument must not contain null bytes`);
}

function stdioOf(value: unknown, fd: 0 | 1 | 2): ChildStdio {
  const name = `opts.${STDIO_NAMES[fd]}`;
  if (value === undefined || value === PIPE) return "pipe";
  if (value === null) return "inherit";
  if (value === DEVNULL) return "devnull";
  if (value === STDOUT) {
    if (fd !== 2) throw argRangeError(`The "${name}" option cannot be STDOUT (only stderr can go into stdout)`);
    return "stdout";
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw argTypeError(`The "${name}" option must be PIPE, DEVNULL, ${fd === 2 ? "STDOUT, " : ""}an fd or null. Received ${describeType(value)}`);
  }
  if (value < 0) throw argRangeError(`The "${name}" option must be PIPE, DEVNULL, ${fd === 2 ? "STDOUT, " : ""}an fd >= 0 or null. Received ${value}`);
  return value;
}

function envOf(env: unknown): string[] {
  if (env !== undefined && env !== null && (typeof env !== "object" || Array.isArray(env))) {
    throw argTypeError(`The "opts.env" option must be an object of strings. Received ${describeType(env)}`);
  }
  const source = (env ?? process.env) as Record<string, unknown>;
  const out: string[] = [];
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value === undefined) continue;
    if (typeof value !== "string") throw argTypeError(`The "opts.env.${key}" option must be a string. Received ${describeType(value)}`);
    if (key.length === 0 || key.includes("=") || key.includes("\0") || value.includes("\0")) {
      throw argRangeError(`The "opts.env" option must not hold a name with "=" or an empty name, nor null bytes. Received "${key}"`);
    }
    out.push(`${key}=${value}`);
  }
  return out;
}

/** A cwd that does not exist or is not a directory fails here, naming it (see the header). */
function checkCwd(cwd: unknown): string | null {
  if (cwd === undefined || cwd === null) return null;
  checkString(cwd, "opts.cwd", false);
  let st: fs.Stats;
  try {
    st = fs.statSync(cwd);
  } catch (err) {
    throw systemError((err as { errno?: number }).errno ?? errno.ENOENT, "chdir", { path: cwd });
  }
  if (!st.isDirectory()) throw systemError(errno.ENOTDIR, "chdir", { path: cwd });
  return cwd;
}

async function start(loop: SubprocessLoop, protocolFactory: unknown, file: string, argv: string[], optsIn: unknown): Promise<[SubprocessTransport, unknown]> {
  if (optsIn !== undefined && (optsIn === null || typeof optsIn !== "object")) {
    throw argTypeError(`The "opts" argument must be an object. Received ${describeType(optsIn)}`);
  }
  const opts = (optsIn ?? {}) as SubprocessOptions;
  const stdio: [ChildStdio, ChildStdio, ChildStdio] = [stdioOf(opts.stdin, 0), stdioOf(opts.stdout, 1), stdioOf(opts.stderr, 2)];
  const env = envOf(opts.env);
  const cwd = checkCwd(opts.cwd);
  const protocol = (protocolFactory as () => unknown)();
  if (protocol === null || typeof protocol !== "object") throw argTypeError(`protocolFactory() must return a protocol object. Received ${describeType(protocol)}`, "ERR_INVALID_RETURN_VALUE");
  const child = await loop._proactor.spawnChild({ file, argv, env, cwd, stdio });
  const transport = new BaseSubprocessTransport(loop, child, protocol as BaseSubprocessTransport["_protocol"], argv);
  // The transport scheduled connectionMade with callSoon; this callback runs after it.
  await new Promise<void>((resolve) => loop.callSoon(resolve));
  return [transport, protocol];
}

export async function subprocessExec(loop: SubprocessLoop, protocolFactory: unknown, program: unknown, args: unknown, opts?: unknown): Promise<[SubprocessTransport, unknown]> {
  validateCallback(protocolFactory, "protocolFactory");
  checkString(program, "program", false);
  let list: string[] = [];
  if (args !== undefined && args !== null) {
    if (!Array.isArray(args)) throw argTypeError(`The "args" argument must be an array of strings. Received ${describeType(args)}`);
    args.forEach((a, i) => checkString(a, `args[${i}]`, true));
    list = args as string[];
  }
  return start(loop, protocolFactory, program, [program, ...list], opts);
}

export async function subprocessShell(loop: SubprocessLoop, protocolFactory: unknown, cmd: unknown, opts?: unknown): Promise<[SubprocessTransport, unknown]> {
  validateCallback(protocolFactory, "protocolFactory");
  checkString(cmd, "cmd", true);
  return start(loop, protocolFactory, SHELL, [SHELL, "-c", cmd], opts);
}
