// Content-Type by file extension: a compact table of the common types (the `mime-types`
// package would cover more; it is not a dependency). Text types carry charset=utf-8.
// Unknown extensions are application/octet-stream, as in nginx's default_type.
import * as path from "node:path";

export const DEFAULT_TYPE = "application/octet-stream";

const UTF8 = "; charset=utf-8";

const TYPES: Record<string, string> = {
  html: "text/html" + UTF8,
  htm: "text/html" + UTF8,
  css: "text/css" + UTF8,
  js: "text/javascript" + UTF8,
  mjs: "text/javascript" + UTF8,
  cjs: "text/javascript" + UTF8,
  json: "application/json" + UTF8,
  map: "application/json" + UTF8,
  webmanifest: "application/manifest+json" + UTF8,
  txt: "text/plain" + UTF8,
  text: "text/plain" + UTF8,
  log: "text/plain" + UTF8,
  md: "text/markdown" + UTF8,
  csv: "text/csv" + UTF8,
  tsv: "text/tab-separated-values" + UTF8,
  xml: "application/xml" + UTF8,
  xhtml: "application/xhtml+xml" + UTF8,
  svg: "image/svg+xml",
  rss: "application/rss+xml" + UTF8,
  atom: "application/atom+xml" + UTF8,
  yaml: "application/yaml" + UTF8,
  yml: "application/yaml" + UTF8,
  wasm: "application/wasm",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  bz2: "application/x-bzip2",
  xz: "application/x-xz",
  zst: "application/zstd",
  "7z": "application/x-7z-compressed",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/x-icon",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  wav: "audio/wav",
  flac: "audio/flac",
  m4a: "audio/mp4",
  mp4: "video/mp4",
  m4v: "video/mp4",
  webm: "video/webm",
  ogv: "video/ogg",
  mov: "video/quicktime",
  avi: "video/x-msvideo",
  mkv: "video/x-matroska",
  iso: "application/x-iso9660-image",
  bin: DEFAULT_TYPE,
};

/** The Content-Type for a file path (by its last extension, case-insensitive). */
export function contentType(filePath: string): string {
  const ext = path.extname(filePath).slice(1).toLowerCase();
  return TYPES[ext] ?? DEFAULT_TYPE;
}
