// `ringloop serve [DIR]`: the static file server (src/serve/) from the command line.
// Prints "ringloop serve: URL (backend B, N workers) serving DIR" once listening; stops
// gracefully on SIGINT/SIGTERM (in-flight responses finish), prints its totals on stderr
// ("stopped after R requests on C connections", per worker with --workers) and exits 0; a
// second signal during that wait exits 1 at once.
//
// Arguments are parsed by node:util parseArgs (--opt value, --opt=value, short flags,
// "--" before a DIR starting with "-"). A usage error (unknown option, missing or bad
// value) exits 2 with one line naming the flag, then the usage; a server that cannot start
// exits 1.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { runServe, type BackendChoice, type ServeTotals } from "./serve/run.js";
import type { ServeSnapshot } from "./serve/server.js";
import { startWorkers } from "./serve/workers.js";
import { DEFAULTS, resolveOptions, type ServeOptions } from "./serve/options.js";
import { fdBudget, openFileLimit, openFdCount } from "./serve/fd-budget.js";

export const SERVE_USAGE = `usage: ringloop serve [DIR] [options]
  DIR                      directory to serve (default: the current directory)
  --host H                 address to listen on (default ${DEFAULTS.host})
  -p, --port P             port (default ${DEFAULTS.port}; 0 picks a free one)
  -w, --workers N          N threads, each with its own loop and ring, SO_REUSEPORT (default 1)
  --backend uring|fallback loop backend (default: what the default policy picks)
  -q, --quiet              no access log
  --dotfiles MODE          paths with a segment starting with ".": ignore (404, default),
                           deny (403) or allow (serve); /.well-known/ is always served
  --list                   list directories without index.html (HTML, or JSON by Accept)
  --spa                    answer a missing path without an extension with /index.html
  --cache-control VALUE    Cache-Control of file responses, e.g. "no-cache"
  --max-age S              the same as --cache-control "public, max-age=S"
  --cors                   Access-Control-Allow-Origin: * and answers to preflight OPTIONS
  --header "Name: value"   add a field to every response (repeatable)
  --no-precompressed       ignore FILE.br / FILE.gz beside FILE (served by Accept-Encoding by default)
  --compress               brotli/gzip compressible files on the fly (cached in memory)
  --compress-max-size N    largest file compressed on the fly (default ${DEFAULTS.compressMaxBytes} bytes)
  --max-connections N      connections at once; past it the one idle longest is closed, or
                           the new one refused (default: from the open-file limit)
  --no-memory-cache        do not keep small files in memory (bodies always by sendfile)
  --idle-timeout MS        close keep-alive connections idle this long (default ${DEFAULTS.idleTimeoutMs})
  --header-timeout MS      a request head must be complete this long after the accept or its
                           first byte, else 408 (default ${DEFAULTS.headerTimeoutMs})
  --max-request-line N     414 beyond (default ${DEFAULTS.maxRequestLine} bytes)
  --max-header-bytes N     431 beyond (default ${DEFAULTS.maxHeaderBytes} bytes)
  --cache-valid MS         re-check cached files after this long (default ${DEFAULTS.cacheValidMs})
  --tls-cert FILE          HTTPS: PEM certificate (chain); needs --tls-key. Bodies then go
  --tls-key FILE           through the TLS layer (read + write): no sendfile
  --stats S                every S seconds one line on stderr: "ringloop serve: stats {json}"
                           (requests, connections, open connections, ops in flight, the
                           loop's ring metrics per worker), and a last one after the stop
  -h, --help               this text
  -v, --version            the ringloop version
`;

/** The flags; `option` is the ServeOptions key a value goes to (numbers parsed first). */
const FLAGS = {
  host: { type: "string", option: "host" },
  port: { type: "string", short: "p", option: "port", int: true },
  workers: { type: "string", short: "w", int: true },
  backend: { type: "string" },
  quiet: { type: "boolean", short: "q", option: "quiet" },
  dotfiles: { type: "string", option: "dotfiles" },
  list: { type: "boolean", option: "list" },
  spa: { type: "boolean", option: "spa" },
  "cache-control": { type: "string", option: "cacheControl" },
  "max-age": { type: "string", option: "maxAge", int: true },
  cors: { type: "boolean", option: "cors" },
  header: { type: "string", multiple: true, option: "headers" },
  "no-precompressed": { type: "boolean" },
  compress: { type: "boolean", option: "compress" },
  "compress-max-size": { type: "string", option: "compressMaxBytes", int: true },
  "max-connections": { type: "string", option: "maxConnections", int: true },
  "no-memory-cache": { type: "boolean" },
  "idle-timeout": { type: "string", option: "idleTimeoutMs", int: true },
  "header-timeout": { type: "string", option: "headerTimeoutMs", int: true },
  "max-request-line": { type: "string", option: "maxRequestLine", int: true },
  "max-header-bytes": { type: "string", option: "maxHeaderBytes", int: true },
  "cache-valid": { type: "string", option: "cacheValidMs", int: true },
  "tls-cert": { type: "string", option: "tlsCert" },
  "tls-key": { type: "string", option: "tlsKey" },
  stats: { type: "string", int: true },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const satisfies Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; option?: keyof ServeOptions; int?: boolean }>;

type FlagName = keyof typeof FLAGS;

/** The flag that sets a ServeOptions key (for errors the options check raises). */
function flagFor(option: string): string {
  if (option === "root") return "DIR";
  if (option === "bodyCache") return "--no-memory-cache";
  if (option === "precompressed") return "--no-precompressed";
  const entry = Object.entries(FLAGS).find(([, f]) => "option" in f && f.option === option);
  return entry === undefined ? `options.${option}` : `--${entry[0]}`;
}

/** Option keys a rule's text may name (replaced by their flags). */
const OPTION_WORDS = new RegExp(`\\b(${Object.values(FLAGS).flatMap((f) => ("option" in f ? [f.option] : [])).join("|")})\\b`, "g");

class UsageError extends Error {}

interface ServeArgs {
  options: ServeOptions;
  /** --stats: seconds between stats lines, 0 = none. */
  statsSecs: number;
  workers: number;
  backend: BackendChoice;
  help: boolean;
  version: boolean;
}

function parseServeArgs(args: string[]): ServeArgs {
  const { tokens } = parseArgs({ args, options: FLAGS, strict: false, allowPositionals: true, tokens: true });
  const values: Partial<Record<FlagName, string | boolean | string[]>> = {};
  const positionals: string[] = [];
  for (const tok of tokens) {
    if (tok.kind === "positional") positionals.push(tok.value);
    if (tok.kind !== "option") continue;
    const flag = FLAGS[tok.name as FlagName] as { type: string; multiple?: boolean } | undefined;
    if (flag === undefined) throw new UsageError(`unknown option "${tok.rawName}"`);
    if (flag.type === "boolean") {
      if (tok.value !== undefined) throw new UsageError(`option ${tok.rawName} takes no value`);
      values[tok.name as FlagName] = true;
      continue;
    }
    if (tok.value === undefined || (!tok.inlineValue && tok.value.startsWith("-") && tok.value !== "-")) {
      throw new UsageError(`option ${tok.rawName} needs a value${tok.value === undefined ? "" : ` (got "${tok.value}"; write ${tok.rawName}=${tok.value} to pass it)`}`);
    }
    if (flag.multiple) ((values[tok.name as FlagName] ??= []) as string[]).push(tok.value);
    else values[tok.name as FlagName] = tok.value;
  }
  if (positionals.length > 1) throw new UsageError(`more than one directory given ("${positionals[0]}", "${positionals[1]}")`);
  const out: ServeArgs = { options: {}, statsSecs: 0, workers: 1, backend: null, help: values.help === true, version: values.version === true };
  const options = out.options as Record<string, unknown>;
  if (positionals.length === 1) options.root = positionals[0];
  for (const [name, value] of Object.entries(values) as Array<[FlagName, string | boolean | string[]]>) {
    const flag = FLAGS[name] as { option?: string; int?: boolean };
    if (flag.int === true && !/^\d+$/.test(value as string)) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
    const v = flag.int === true ? Number(value) : value;
    if (name === "header") options.headers = (value as string[]).map(splitHeader);
    else if (flag.option !== undefined) options[flag.option] = v;
  }
  if (values["no-memory-cache"] === true) out.options.bodyCache = false;
  if (values["no-precompressed"] === true) out.options.precompressed = false;
  if (values.backend !== undefined) {
    if (values.backend !== "uring" && values.backend !== "fallback") throw new UsageError(`--backend must be uring or fallback, got "${values.backend}"`);
    out.backend = values.backend;
  }
  if (values.stats !== undefined) {
    out.statsSecs = Number(values.stats);
    if (out.statsSecs < 1 || out.statsSecs > 86400) throw new UsageError(`--stats must be 1..86400 seconds, got ${values.stats}`);
  }
  if (values.workers !== undefined) {
    out.workers = Number(values.workers);
    if (out.workers < 1 || out.workers > 256) throw new UsageError(`--workers must be 1..256, got ${values.workers}`);
  }
  try {
    resolveOptions(out.options);
  } catch (err) {
    const e = err as Error & { option?: string; rule?: string; received?: string };
    if (e.option === undefined) throw err;
    const rule = e.rule!.replace(OPTION_WORDS, (word) => flagFor(word));
    throw new UsageError(`${flagFor(e.option)} ${rule}, got ${e.received}`);
  }
  return out;
}

/** "Name: value" -> [name, value]. */
function splitHeader(s: string): [string, string] {
  const colon = s.indexOf(":");
  if (colon <= 0) throw new UsageError(`--header must be "Name: value", got "${s}"`);
  return [s.slice(0, colon).trim(), s.slice(colon + 1)];
}

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../package.json"), "utf8")) as { version: string };
  return pkg.version;
}

/**
 * Options for each of `workers` servers: they share this process's descriptors, so the
 * connection limit (given: split evenly; else from the open-file limit) and the open-file
 * cache are divided between them.
 */
function perWorker(options: ServeOptions, workers: number): ServeOptions {
  const budget = fdBudget(openFileLimit(), openFdCount(), workers, options.cacheMaxEntries);
  return {
    ...options,
    maxConnections: options.maxConnections !== undefined ? Math.ceil(options.maxConnections / workers) : budget.maxConnections,
    cacheMaxEntries: options.cacheMaxEntries ?? budget.cacheMaxEntries,
  };
}

function banner(url: string, backend: string, workers: number, root: string): string {
  return `ringloop serve: ${url} (backend ${backend}, ${workers} worker${workers === 1 ? "" : "s"}) serving ${root}\n`;
}

export async function serve(args: string[]): Promise<number> {
  let parsed: ServeArgs;
  try {
    parsed = parseServeArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`ringloop serve: ${err.message}\n${SERVE_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (parsed.version) {
    process.stdout.write(`ringloop ${packageVersion()}\n`);
    return 0;
  }
  let stop: (() => void) | null = null;
  let stopRequested = false;
  // First signal: graceful stop. A second one while that is still waiting: stop now.
  const onSignal = (): void => {
    if (stopRequested) {
      process.stderr.write("ringloop serve: second signal, stopping without waiting for responses in flight\n");
      process.exit(1);
    }
    stopRequested = true;
    stop?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let statsTimer: NodeJS.Timeout | null = null;
  const everyStats = (take: () => ServeSnapshot[] | Promise<ServeSnapshot[]>): void => {
    if (parsed.statsSecs === 0) return;
    statsTimer = setInterval(() => {
      void Promise.resolve(take()).then((snaps) => process.stderr.write(statsLine(snaps)));
    }, parsed.statsSecs * 1000);
    statsTimer.unref();
  };
  try {
    if (parsed.workers === 1) {
      const totals = await runServe(parsed.backend, parsed.options, (h, s) => {
        stop = s;
        process.stdout.write(banner(h.url, h.backend, 1, h.root));
        everyStats(() => [h.snapshot()]);
        if (stopRequested) s();
      });
      if (statsTimer !== null) clearInterval(statsTimer);
      if (parsed.statsSecs > 0) process.stderr.write(statsLine([totals.final]));
      process.stderr.write(stoppedLine([totals]));
    } else {
      const pool = await startWorkers(parsed.workers, parsed.backend, perWorker(parsed.options, parsed.workers));
      process.stdout.write(banner(pool.ready.url, pool.ready.backend, parsed.workers, pool.ready.root));
      everyStats(() => pool.snapshots());
      const stopped = new Promise<null>((resolve) => {
        stop = () => resolve(null);
        if (stopRequested) resolve(null);
      });
      const failure = await Promise.race([stopped, pool.failed]);
      if (statsTimer !== null) clearInterval(statsTimer);
      const totals = await pool.stop();
      if (failure !== null) throw failure;
      if (parsed.statsSecs > 0) process.stderr.write(statsLine(totals.map((t) => t.final)));
      process.stderr.write(stoppedLine(totals));
    }
  } catch (err) {
    const e = err as { message?: string };
    process.stderr.write(`ringloop serve: ${e.message ?? String(err)}\n`);
    return 1;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
  return 0;
}

/**
 * "ringloop serve: stats {json}" (stderr, one line): the workers' counts summed, and each
 * worker's loop metrics (`metrics`, one entry per worker).
 */
function statsLine(snaps: ServeSnapshot[]): string {
  const sum = (key: "requests" | "connections" | "openConnections" | "refused" | "sending" | "opsInFlight"): number => snaps.reduce((n, s) => n + s[key], 0);
  const line = {
    requests: sum("requests"),
    connections: sum("connections"),
    openConnections: sum("openConnections"),
    refused: sum("refused"),
    sending: sum("sending"),
    opsInFlight: sum("opsInFlight"),
    metrics: snaps.map((s) => s.metrics),
  };
  return `ringloop serve: stats ${JSON.stringify(line)}\n`;
}

/** "ringloop serve: stopped after R requests on C connections (per worker: r1, r2)" (stderr). */
function stoppedLine(totals: ServeTotals[]): string {
  const requests = totals.reduce((n, t) => n + t.requests, 0);
  const connections = totals.reduce((n, t) => n + t.connections, 0);
  const refused = totals.reduce((n, t) => n + t.refused, 0);
  const perWorker = totals.length > 1 ? ` (requests per worker: ${totals.map((t) => t.requests).join(", ")})` : "";
  const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`;
  const refusedPart = refused > 0 ? `; ${plural(refused, "connection")} refused at --max-connections` : "";
  return `ringloop serve: stopped after ${plural(requests, "request")} on ${plural(connections, "connection")}${perWorker}${refusedPart}\n`;
}
