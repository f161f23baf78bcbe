// Request target -> file under the served directory.
//
// Rules (what is refused and how):
// - The target is origin-form ("/path?query") or absolute-form ("http://host/path");
//   anything else -> 400. The query is ignored.
// - Percent-decoding happens ONCE, before the path is split, so "%2f", "%2e%2e" and
//   "..%2f" are ordinary "/" and ".." afterwards and get the same checks. Malformed
//   escapes or invalid UTF-8 -> 400; a NUL byte -> 400.
// - "." segments and empty segments are dropped; ".." removes the previous segment; a
//   ".." that would climb above the root -> 403 (refused, not hidden: the request is an
//   attack or a client bug, and the log says so).
// - The path found must still be inside the root after following symlinks (realpath);
//   a symlink leading outside -> 403; a symlink inside is served.
// - A directory without a trailing slash -> 301 to "path/"; with one -> its index.html,
//   or, when there is none, the directory itself (listed with --list, else 404). Not a
//   regular file (fifo, device, socket) -> 403.
// - Missing -> 404; not readable (EACCES/EPERM) -> 403.
// - Dot segments ("/.env", "/.git/config", "/a/.hidden/b") are decided by the dotfiles
//   mode before any of this (hiddenPath); "/.well-known/..." is never hidden, the RFC 8615
//   place for public metadata, though dot segments below it are.
import * as fs from "node:fs";

export type PathResult = { ok: true; path: string } | { ok: false; status: number; reason: string };

export type Resolved =
  | { kind: "file"; fsPath: string; stat: fs.Stats }
  | { kind: "directory"; fsPath: string }
  | { kind: "redirect"; location: string }
  | { kind: "error"; status: number; reason: string };

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

/** Decoded, normalised URL path of a request target ("/a/b/" keeps its trailing slash). */
export function targetPath(target: string): PathResult {
  let raw = target;
  if (raw.charCodeAt(0) !== 47 /* / */) {
    const m = ABSOLUTE_FORM.exec(raw);
    if (m === null) return { ok: false, status: 400, reason: "request target is not a path" };
    raw = raw.slice(m[0].length) || "/";
    if (raw.charCodeAt(0) !== 47) raw = "/" + raw;
  }
  const q = raw.search(/[?#]/);
  if (q >= 0) raw = raw.slice(0, q);
  let decoded: string;
  try {
    decoded = raw.includes("%") ? decodeURIComponent(raw) : raw;
  } catch {
    return { ok: false, status: 400, reason: "bad percent-encoding" };
  }
  if (decoded.includes("\0")) return { ok: false, status: 400, reason: "NUL in path" };
  const parts = decoded.split("/");
  const out: string[] = [];
  for (const seg of parts) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) return { ok: false, status: 403, reason: "path climbs above the root" };
      out.pop();
    } else {
      out.push(seg);
    }
  }
  const last = parts[parts.length - 1];
  const dirForm = out.length > 0 && (last === "" || last === "." || last === "..");
  return { ok: true, path: "/" + out.join("/") + (dirForm ? "/" : "") };
}

/** True when a segment of the normalised URL path starts with "." (a leading ".well-known" excepted). */
export function hiddenPath(urlPath: string): boolean {
  if (!urlPath.includes("/.")) return false;
  const segments = urlPath.split("/");
  for (let i = 1; i < segments.length; i++) {
    if (segments[i].charCodeAt(0) === 46 && !(i === 1 && segments[i] === ".well-known")) return true;
  }
  return false;
}

/** True when a directory entry is hidden in a listing (`atRoot`: the served root's own). */
export function hiddenName(name: string, atRoot: boolean): boolean {
  return name.charCodeAt(0) === 46 && !(atRoot && name === ".well-known");
}

/** The regular file at `fsPath` (following symlinks) when it is inside `root`, else null. */
export function resolveSibling(root: string, fsPath: string): { fsPath: string; stat: fs.Stats } | null {
  let real: string;
  let stat: fs.Stats;
  try {
    real = fs.realpathSync.native(fsPath);
    stat = fs.statSync(real);
  } catch {
    return null;
  }
  return inside(root, real) && stat.isFile() ? { fsPath: real, stat } : null;
}

function statError(err: unknown, what: string): Resolved {
  const code = (err as { code?: string }).code;
  if (code === "EACCES" || code === "EPERM") return { kind: "error", status: 403, reason: `${what}: permission denied` };
  return { kind: "error", status: 404, reason: `${what}: ${code ?? "not found"}` };
}

/** True when the realpath `real` is `root` or below it. */
export function inside(root: string, real: string): boolean {
  return real === root || real.startsWith(root === "/" ? "/" : root + "/");
}

/** The file a normalised URL path names under `root` (itself a realpath). */
export function resolvePath(root: string, urlPath: string): Resolved {
  const full = root === "/" ? urlPath : root + urlPath;
  let real: string;
  let stat: fs.Stats;
  try {
    real = fs.realpathSync.native(full);
    stat = fs.statSync(real);
  } catch (err) {
    return statError(err, urlPath);
  }
  if (!inside(root, real)) return { kind: "error", status: 403, reason: `${urlPath}: symlink leads outside the root` };
  if (stat.isDirectory()) {
    if (!urlPath.endsWith("/")) return { kind: "redirect", location: urlPath.split("/").map(encodeURIComponent).join("/") + "/" };
    const index = real + (real.endsWith("/") ? "" : "/") + "index.html";
    const dir = real;
    try {
      real = fs.realpathSync.native(index);
      stat = fs.statSync(real);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return { kind: "directory", fsPath: dir };
      return statError(err, urlPath + "index.html");
    }
    if (!inside(root, real)) return { kind: "error", status: 403, reason: `${urlPath}index.html: symlink leads outside the root` };
  }
  if (!stat.isFile()) return { kind: "error", status: 403, reason: `${urlPath}: not a regular file` };
  return { kind: "file", fsPath: real, stat };
}
