// Content codings (RFC 9110 8.4, 12.5.3): which of the codings a file is available in the
// client accepts, and which types are worth compressing.
//
// Accept-Encoding: "br;q=1, gzip;q=0.5", "*" (any coding not listed), "x-gzip" = gzip; a
// coding with q=0 is refused. The highest q wins; on a tie brotli (smaller) before gzip.
// No Accept-Encoding, or nothing acceptable: identity.

export type Encoding = "br" | "gzip";

/** Preference on equal q. */
export const ENCODINGS: readonly Encoding[] = ["br", "gzip"];

/** The file name suffix of a precompressed sibling. */
export const SUFFIX: Record<Encoding, string> = { br: ".br", gzip: ".gz" };

/** The best of `available` (in ENCODINGS order) the Accept-Encoding value allows, or null for identity. */
export function pickEncoding(acceptEncoding: string, available: readonly Encoding[]): Encoding | null {
  const q: Record<string, number> = {};
  for (const part of acceptEncoding.split(",")) {
    const [rawName, ...params] = part.split(";");
    let name = rawName.trim().toLowerCase();
    if (name === "") continue;
    if (name === "x-gzip") name = "gzip";
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m !== null) weight = Number(m[1]);
    }
    if (!Number.isFinite(weight)) weight = 0;
    q[name] = Math.max(q[name] ?? 0, weight);
  }
  let best: Encoding | null = null;
  let bestQ = 0;
  for (const enc of available) {
    const w = q[enc] ?? q["*"] ?? 0;
    if (w > bestQ) {
      best = enc;
      bestQ = w;
    }
  }
  return best;
}

const COMPRESSIBLE_APPLICATION = new Set([
  "javascript", "ecmascript", "x-javascript", "json", "xml", "wasm", "rtf", "x-sh", "x-tex",
  "vnd.ms-fontobject", "x-font-ttf", "x-font-otf", "manifest+json", "graphql", "sql", "x-ndjson",
]);

/** True for types that compress well: text, JSON/XML and their +json/+xml kin, SVG, wasm, uncompressed fonts. */
export function compressibleType(contentType: string): boolean {
  const semi = contentType.indexOf(";");
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  const slash = type.indexOf("/");
  const top = type.slice(0, slash);
  const sub = type.slice(slash + 1);
  if (top === "text") return true;
  if (sub.endsWith("+json") || sub.endsWith("+xml")) return true;
  if (top === "application") return COMPRESSIBLE_APPLICATION.has(sub);
  if (top === "font") return sub === "ttf" || sub === "otf";
  return type === "image/x-icon" || type === "image/vnd.microsoft.icon" || type === "image/bmp";
}
