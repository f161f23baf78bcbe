// Default connection cap and open-file cache size from the process's open-file limit
// (RLIMIT_NOFILE, the soft one), so that a full server still has descriptors to accept
// with, open files and make splice pipes instead of failing accept() with EMFILE.
//
// Rule: of the limit, the descriptors open now and FD_RESERVE more (rings, eventfds,
// worker threads' own loops, the connection being refused) are kept aside, per server
// sharing the process (--workers) PER_SERVER_RESERVE too; the rest is split evenly between
// the servers. Of a server's share, a quarter (at most cacheMaxEntries) is for the
// open-file cache and half of what remains for connections: each connection counts two,
// its socket and room for what its response may open (a file evicted from the cache while
// it is sent, a splice pipe end).
import * as fs from "node:fs";
import { execFileSync } from "node:child_process";

export const FD_RESERVE = 16;
export const PER_SERVER_RESERVE = 16;
export const CACHE_ENTRIES_MAX = 1024;

/** The soft RLIMIT_NOFILE: /proc/self/limits, else `ulimit -n` in a child shell; Infinity when unlimited. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(fs.readFileSync("/proc/self/limits", "utf8"));
    if (m !== null) return m[1] === "unlimited" ? Infinity : Number(m[1]);
  } catch {
    // not Linux's procfs: ask a shell
  }
  const out = execFileSync("/bin/sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
  return out === "unlimited" ? Infinity : Number(out);
}

/** Descriptors this process has open now. */
export function openFdCount(): number {
  try {
    return fs.readdirSync("/proc/self/fd").length;
  } catch {
    return 32;
  }
}

export interface FdBudget {
  maxConnections: number;
  cacheMaxEntries: number;
}

/** Per-server defaults for `servers` servers in one process with `limit` descriptors, `open` open now. */
export function fdBudget(limit: number, open: number, servers: number, cacheMaxEntries = CACHE_ENTRIES_MAX): FdBudget {
  const free = Math.min(limit, 1 << 30) - open - FD_RESERVE - (servers - 1) * PER_SERVER_RESERVE;
  const share = Math.max(0, Math.floor(free / servers));
  const cache = Math.max(1, Math.min(cacheMaxEntries, Math.floor(share / 4)));
  return { maxConnections: Math.max(1, Math.floor((share - cache) / 2)), cacheMaxEntries: cache };
}
