// Directory listings (--list) for a directory URL ("/dir/") without an index.html, as
// HTML or, when the client's Accept prefers it, JSON.
//
// Rules: entries are what the directory holds now (fs.promises, off the loop's thread),
// following symlinks; entries whose target is outside the root, is neither a regular file
// nor a directory, or cannot be stat'ed are left out, as are dotfiles unless dotfiles is
// "allow" (a root ".well-known" is listed). Directories first, then files, each by name in
// code-unit order. Names are HTML-escaped in text and percent-encoded in links.
import * as fs from "node:fs";
import * as path from "node:path";
import { hiddenName, inside } from "./resolve.js";
import type { DotfilesMode } from "./options.js";

export interface ListEntry {
  name: string;
  type: "directory" | "file";
  /** Bytes (0 for directories). */
  size: number;
  /** ISO 8601 modification time. */
  mtime: string;
}

/** Stats done at once while listing a directory. */
const STAT_BATCH = 64;

async function describe(root: string, dir: string, name: string): Promise<ListEntry | null> {
  try {
    const full = path.join(dir, name);
    const real = await fs.promises.realpath(full);
    if (!inside(root, real)) return null;
    const st = await fs.promises.stat(real);
    if (!st.isDirectory() && !st.isFile()) return null;
    return { name, type: st.isDirectory() ? "directory" : "file", size: st.isFile() ? st.size : 0, mtime: st.mtime.toISOString() };
  } catch {
    return null;
  }
}

/** The visible entries of directory `dir` (a realpath inside `root`), sorted. */
export async function readListing(root: string, dir: string, dotfiles: DotfilesMode): Promise<ListEntry[]> {
  const atRoot = dir === root;
  const names = (await fs.promises.readdir(dir)).filter((n) => dotfiles === "allow" || !hiddenName(n, atRoot));
  const out: ListEntry[] = [];
  for (let i = 0; i < names.length; i += STAT_BATCH) {
    for (const e of await Promise.all(names.slice(i, i + STAT_BATCH).map((n) => describe(root, dir, n)))) if (e !== null) out.push(e);
  }
  return out.sort((a, b) => (a.type !== b.type ? (a.type === "directory" ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** True when the Accept value ranks application/json above text/html. */
export function wantsJson(accept: string | null): boolean {
  if (accept === null) return false;
  let json = 0;
  let html = 0;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";").map((x) => x.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2)) || 0;
    if (type === "application/json") json = Math.max(json, q);
    else if (type === "text/html") html = Math.max(html, q);
  }
  return json > html;
}

export function renderJson(entries: ListEntry[]): string {
  return JSON.stringify(entries) + "\n";
}

/** The HTML page listing `urlPath` (a decoded, normalised directory path ending in "/"). */
export function renderHtml(urlPath: string, entries: ListEntry[]): string {
  const title = `Index of ${escapeHtml(urlPath)}`;
  const rows: string[] = [];
  if (urlPath !== "/") rows.push(`<tr><td><a href="../">../</a></td><td></td><td></td></tr>`);
  for (const e of entries) {
    const href = encodeURIComponent(e.name) + (e.type === "directory" ? "/" : "");
    const label = escapeHtml(e.name) + (e.type === "directory" ? "/" : "");
    rows.push(`<tr><td><a href="${href}">${label}</a></td><td>${e.type === "directory" ? "-" : e.size}</td><td>${e.mtime}</td></tr>`);
  }
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif}td{padding:0 1em 0 0}td:nth-child(2){text-align:right}</style></head>
<body><h1>${title}</h1>
<table><thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table></body></html>
`;
}
