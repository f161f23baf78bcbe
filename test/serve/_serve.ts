// Shared pieces of the serve suite: a served tree with the cases the rules name (small
// and large files, an index, symlinks in and out of the root), the real `curl` as client,
// a raw TCP client for what curl cannot send, and startServe on the test's loop.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { startServe, type AbstractEventLoop, type ServeHandle, type ServeOptions } from "ringloop";

export interface Tree {
  root: string;
  outside: string;
  files: Record<string, Buffer>;
  remove(): void;
}

/** Larger than the small-file memory cache: always sent by loop.sendfile. */
export const BIG = 3 * 1024 * 1024 + 17;

export function makeTree(): Tree {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "ringloop-serve-"));
  const root = path.join(base, "root");
  const outside = path.join(base, "outside");
  fs.mkdirSync(path.join(root, "sub"), { recursive: true });
  fs.mkdirSync(path.join(root, "noindex"));
  fs.mkdirSync(outside);
  const files: Record<string, Buffer> = {
    "a.txt": Buffer.from("hello, ringloop\n"),
    "small.bin": crypto.randomBytes(4096),
    "big.bin": crypto.randomBytes(BIG),
    "sub/index.html": Buffer.from("<h1>index</h1>\n"),
    "sp ace.css": Buffer.from("body{}\n"),
    "book.EPUB": Buffer.from("PK\x03\x04"),
  };
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(root, name), data);
  fs.writeFileSync(path.join(outside, "secret.txt"), "secret\n");
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(root, "escape.txt"));
  fs.symlinkSync(outside, path.join(root, "escapedir"));
  fs.symlinkSync("a.txt", path.join(root, "inside-link.txt"));
  return { root, outside, files, remove: () => fs.rmSync(base, { recursive: true, force: true }) };
}

export { sha256 } from "../streams/_streams.js";

export interface CurlResult {
  code: number;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  stderr: string;
}

let curlSeq = 0;

/** One request with the real curl; headers of the (last) response, lower-cased. */
export async function curl(url: string, args: string[] = []): Promise<CurlResult> {
  const tmp = path.join(os.tmpdir(), `ringloop-curl-${process.pid}-${curlSeq++}`);
  const bodyFile = `${tmp}.body`;
  const headFile = `${tmp}.head`;
  try {
    const { code, stdout, stderr } = await run("curl", ["-sS", "--max-time", "20", "-o", bodyFile, "-D", headFile, "-w", "%{http_code}", ...args, url]);
    const status = Number(stdout.toString());
    const headers: Record<string, string> = {};
    const headText = fs.existsSync(headFile) ? fs.readFileSync(headFile, "latin1") : "";
    const blocks = headText.split(/\r\n\r\n/).filter((b) => b.length > 0);
    for (const line of (blocks[blocks.length - 1] ?? "").split("\r\n").slice(1)) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    const body = fs.existsSync(bodyFile) ? fs.readFileSync(bodyFile) : Buffer.alloc(0);
    return { code, status, headers, body, stderr };
  } finally {
    fs.rmSync(bodyFile, { force: true });
    fs.rmSync(headFile, { force: true });
  }
}

/**
 * The environment for client programs: without LD_PRELOAD, which `npm run test:asan` sets
 * for node (the sanitizer runtime) and which makes curl hang. Node children keep it.
 */
function childEnv(cmd: string): NodeJS.ProcessEnv {
  if (cmd === process.execPath || process.env.LD_PRELOAD === undefined) return process.env;
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  return env;
}

export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: "buffer", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: childEnv(cmd) }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1;
      if (err !== null && code === -1) reject(err);
      else resolve({ code, stdout, stderr: stderr.toString() });
    });
  });
}

export interface Served {
  handle: ServeHandle;
  base: string;
  log: string[];
}

/** Runs `body` on the loop with a server on port 0 over `root`; closes it after. */
export async function withServer(loop: AbstractEventLoop, root: string, opts: ServeOptions, body: (s: Served) => Promise<void>): Promise<void> {
  const log: string[] = [];
  await loop.runUntilComplete(
    loop.createTask(async () => {
      const handle = await startServe(loop, { root, port: 0, logWriter: (text) => log.push(...text.split("\n").filter((l) => l !== "")), ...opts });
      try {
        await body({ handle, base: handle.url.replace(/\/$/, ""), log });
      } finally {
        await handle.close();
      }
    }),
  );
}

/**
 * A raw TCP exchange: writes `chunks` (with `gapMs` between them), then collects what the
 * server sends until it closes, or until `untilMs`. `end` half-closes after writing.
 */
export function rawExchange(port: number, chunks: (string | Buffer)[], opts: { gapMs?: number; untilMs?: number; end?: boolean } = {}): Promise<{ data: Buffer; closedByServer: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const sock = net.connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    let closedByServer = false;
    const timer = setTimeout(() => sock.destroy(), opts.untilMs ?? 10_000);
    sock.on("data", (d) => got.push(d));
    sock.on("end", () => {
      closedByServer = true;
      sock.end();
    });
    sock.on("error", (e) => {
      if ((e as NodeJS.ErrnoException).code !== "ECONNRESET") reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(got), closedByServer, ms: Date.now() - started });
    });
    sock.on("connect", async () => {
      for (const c of chunks) {
        if (sock.destroyed) return;
        sock.write(c);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      if (opts.end) sock.end();
    });
  });
}

/** Status codes of the responses in a raw byte stream, in order. */
export function statuses(data: Buffer): number[] {
  return [...data.toString("latin1").matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** The parts of a multipart/byteranges body: each part's Content-Range and bytes. */
export function multipartParts(contentType: string, body: Buffer): Array<{ range: string; type: string; data: Buffer }> {
  const boundary = /boundary=([^;\s]+)/.exec(contentType)?.[1];
  if (boundary === undefined) throw new Error(`no boundary in ${contentType}`);
  const text = body.toString("latin1");
  if (!text.endsWith(`\r\n--${boundary}--\r\n`)) throw new Error("no closing delimiter");
  const chunks = text.slice(0, -`\r\n--${boundary}--\r\n`.length).split(new RegExp(`(?:^|\\r\\n)--${boundary}\\r\\n`)).slice(1);
  return chunks.map((c) => {
    const end = c.indexOf("\r\n\r\n");
    const head = c.slice(0, end);
    return {
      range: /^Content-Range: (.*)$/im.exec(head)?.[1] ?? "",
      type: /^Content-Type: (.*)$/im.exec(head)?.[1] ?? "",
      data: Buffer.from(c.slice(end + 4), "latin1"),
    };
  });
}
