// `ringloop serve [DIR]`: the static file server (src/serve/) from the command line.
// Prints "ringloop serve: URL (backend B, N workers) serving DIR" once listening; stops
// gracefully on SIGINT/SIGTERM (in-flight responses finish), prints its totals on stderr
// ("stopped after R requests on C connections", per worker with --workers) and exits 0; a
// second signal during that wait exits 1 at once.
import { runServe, type BackendChoice, type ServeTotals } from "./serve/run.js";
import { startWorkers } from "./serve/workers.js";
import { DEFAULTS, type ServeOptions } from "./serve/options.js";

export const SERVE_USAGE = `usage: ringloop serve [DIR] [options]
  DIR                      directory to serve (default: the current directory)
  --host H                 address to listen on (default ${DEFAULTS.host})
  --port P                 port (default ${DEFAULTS.port}; 0 picks a free one)
  --workers N              N threads, each with its own loop and ring, SO_REUSEPORT (default 1)
  --backend uring|fallback loop backend (default: what the default policy picks)
  --quiet                  no access log
  --no-memory-cache        do not keep small files in memory (bodies always by sendfile)
  --idle-timeout MS        close keep-alive connections idle this long (default ${DEFAULTS.idleTimeoutMs})
  --header-timeout MS      408 when a request head takes longer (default ${DEFAULTS.headerTimeoutMs})
  --max-request-line N     414 beyond (default ${DEFAULTS.maxRequestLine} bytes)
  --max-header-bytes N     431 beyond (default ${DEFAULTS.maxHeaderBytes} bytes)
  --cache-valid MS         re-check cached files after this long (default ${DEFAULTS.cacheValidMs})
  --tls-cert FILE          HTTPS: PEM certificate (chain); needs --tls-key. Bodies then go
  --tls-key FILE           through the TLS layer (read + write): no sendfile
`;

interface ServeArgs {
  options: ServeOptions;
  workers: number;
  backend: BackendChoice;
}

const PATHS: Record<string, "tlsCert" | "tlsKey"> = { "--tls-cert": "tlsCert", "--tls-key": "tlsKey" };

const NUMERIC: Record<string, keyof ServeOptions> = {
  "--port": "port",
  "--idle-timeout": "idleTimeoutMs",
  "--header-timeout": "headerTimeoutMs",
  "--max-request-line": "maxRequestLine",
  "--max-header-bytes": "maxHeaderBytes",
  "--cache-valid": "cacheValidMs",
};

function parseArgs(args: string[]): ServeArgs | string {
  const options: ServeOptions = {};
  const out: ServeArgs = { options, workers: 1, backend: null };
  let dir: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--quiet") options.quiet = true;
    else if (a === "--no-memory-cache") options.bodyCache = false;
    else if (a in PATHS) {
      const value = args[++i];
      if (value === undefined) return `option ${a} needs a value`;
      options[PATHS[a]] = value;
    }
    else if (a === "--host" || a === "--backend" || a === "--workers" || a in NUMERIC) {
      const value = args[++i];
      if (value === undefined) return `option ${a} needs a value`;
      if (a === "--host") options.host = value;
      else if (a === "--backend") {
        if (value !== "uring" && value !== "fallback") return `--backend must be uring or fallback, got "${value}"`;
        out.backend = value;
      } else {
        if (!/^\d+$/.test(value)) return `${a} must be a non-negative integer, got "${value}"`;
        const n = Number(value);
        if (a === "--workers") {
          if (n < 1 || n > 256) return `--workers must be 1..256, got ${value}`;
          out.workers = n;
        } else {
          if (a === "--port" && n > 65535) return `--port must be 0..65535, got ${value}`;
          (options as Record<string, unknown>)[NUMERIC[a]] = n;
        }
      }
    } else if (a.startsWith("-") && a !== "-") {
      return `unknown option "${a}"`;
    } else if (dir === null) {
      dir = a;
    } else {
      return `more than one directory given ("${dir}", "${a}")`;
    }
  }
  if (dir !== null) options.root = dir;
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) return "--tls-cert and --tls-key go together";
  return out;
}

function banner(url: string, backend: string, workers: number, root: string): string {
  return `ringloop serve: ${url} (backend ${backend}, ${workers} worker${workers === 1 ? "" : "s"}) serving ${root}\n`;
}

export async function serve(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    process.stderr.write(`ringloop serve: ${parsed}\n${SERVE_USAGE}`);
    return 2;
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
  try {
    if (parsed.workers === 1) {
      const totals = await runServe(parsed.backend, parsed.options, (h, s) => {
        stop = s;
        process.stdout.write(banner(h.url, h.backend, 1, h.root));
        if (stopRequested) s();
      });
      process.stderr.write(stoppedLine([totals]));
    } else {
      const pool = await startWorkers(parsed.workers, parsed.backend, parsed.options);
      process.stdout.write(banner(pool.ready.url, pool.ready.backend, parsed.workers, pool.ready.root));
      const stopped = new Promise<null>((resolve) => {
        stop = () => resolve(null);
        if (stopRequested) resolve(null);
      });
      const failure = await Promise.race([stopped, pool.failed]);
      const totals = await pool.stop();
      if (failure !== null) throw failure;
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

/** "ringloop serve: stopped after R requests on C connections (per worker: r1, r2)" (stderr). */
function stoppedLine(totals: ServeTotals[]): string {
  const requests = totals.reduce((n, t) => n + t.requests, 0);
  const connections = totals.reduce((n, t) => n + t.connections, 0);
  const perWorker = totals.length > 1 ? ` (requests per worker: ${totals.map((t) => t.requests).join(", ")})` : "";
  const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`;
  return `ringloop serve: stopped after ${plural(requests, "request")} on ${plural(connections, "connection")}${perWorker}\n`;
}
