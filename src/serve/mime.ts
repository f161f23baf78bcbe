// Content-Type by file extension, from the `mime-types` package (mime-db). Types whose
// mime-db entry names a charset (text/*, JSON, ...) carry it ("; charset=utf-8").
// Unknown extensions are application/octet-stream, as in nginx's default_type.
import * as path from "node:path";
import * as mimeTypes from "mime-types";

export const DEFAULT_TYPE = "application/octet-stream";

/** Extension -> Content-Type, filled on first use of each extension (a per-request lookup). */
const byExtension = new Map<string, string>();
/** Bound on the memo: extensions come from file names in the served tree. */
const MEMO_LIMIT = 4096;

/** The Content-Type for a file path (by its last extension, case-insensitive). */
export function contentType(filePath: string): string {
  const ext = path.extname(filePath).slice(1).toLowerCase();
  let type = byExtension.get(ext);
  if (type === undefined) {
    type = (ext !== "" && mimeTypes.contentType(ext)) || DEFAULT_TYPE;
    if (byExtension.size < MEMO_LIMIT) byExtension.set(ext, type);
  }
  return type;
}
