// Socket addresses as raw struct sockaddr bytes, written and read in JS so a datagram costs
// no native call: the send arena gets the destination (ops/sendto.cc), the multishot
// RECVMSG buffers carry the source (ops/recvmsg.cc). Linux layouts, little-endian host:
//   sockaddr_in   16 B: u16 AF_INET (2), u16 port (big-endian), 4 B address, 8 B zero
//   sockaddr_in6  28 B: u16 AF_INET6 (10), u16 port (BE), u32 flowinfo, 16 B address, u32 scope_id
//   sockaddr_un  <=110 B: u16 AF_UNIX (1), the path + NUL, or "\0name" without a NUL
// Strings are the ones native/sockaddr.cc gives (inet_ntop's forms, no scope id) so an
// address received here equals the same peer's getpeername(). Host strings are cached
// both ways (bounded maps: the hot path of an echo sees few peers).
import type { SockAddr } from "../events.js";

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
/** Largest sockaddr written (sockaddr_un). */
export const SOCKADDR_MAX = 110;
const CACHE_MAX = 4096;

const v4Text = new Map<number, string>();
const v4Bytes = new Map<string, number>();
const v6Bytes = new Map<string, Uint8Array>();

function cacheSet<K, V>(m: Map<K, V>, k: K, v: V): V {
  if (m.size >= CACHE_MAX) m.clear();
  m.set(k, v);
  return v;
}

/** Writes `addr` (resolved: an IP literal with family, or a path) at buf[off]; returns its length. */
export function writeSockAddr(addr: SockAddr, buf: Buffer, off: number): number {
  if (typeof addr === "string") {
    const abstract = addr.charCodeAt(0) === 0;
    buf.writeUInt16LE(AF_UNIX, off);
    const n = buf.write(addr, off + 2, "utf8");
    if (abstract) return 2 + n;
    buf[off + 2 + n] = 0;
    return 3 + n;
  }
  if (addr.family === 4) {
    // Byte by byte: Buffer's write* helpers validate every argument (measurable per datagram).
    let ip = v4Bytes.get(addr.host);
    if (ip === undefined) ip = cacheSet(v4Bytes, addr.host, parseV4(addr.host));
    const port = addr.port;
    buf[off] = AF_INET;
    buf[off + 1] = 0;
    buf[off + 2] = port >>> 8;
    buf[off + 3] = port & 255;
    buf[off + 4] = ip >>> 24;
    buf[off + 5] = (ip >>> 16) & 255;
    buf[off + 6] = (ip >>> 8) & 255;
    buf[off + 7] = ip & 255;
    for (let i = 8; i < 16; i++) buf[off + i] = 0;
    return 16;
  }
  const pct = addr.host.indexOf("%");
  const host = pct < 0 ? addr.host : addr.host.slice(0, pct);
  let bytes = v6Bytes.get(host);
  if (bytes === undefined) bytes = cacheSet(v6Bytes, host, parseV6(host));
  buf.writeUInt16LE(AF_INET6, off);
  buf.writeUInt16BE(addr.port, off + 2);
  buf.writeUInt32LE(0, off + 4);
  buf.set(bytes, off + 8);
  // A numeric scope ("fe80::1%2") is the interface index; a name gets 0, as native/sockaddr.cc does.
  const scope = pct < 0 ? 0 : Number(addr.host.slice(pct + 1));
  buf.writeUInt32LE(Number.isInteger(scope) && scope >= 0 ? scope : 0, off + 24);
  return 28;
}

/** The address in buf[off, off + len) (as native/sockaddr.cc reads it); null for none or an unknown family. */
export function readSockAddr(buf: Buffer, off: number, len: number): SockAddr | null {
  if (len < 2) return null;
  const family = buf[off] | (buf[off + 1] << 8);
  if (family === AF_INET && len >= 16) {
    const ip = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
    let host = v4Text.get(ip);
    if (host === undefined) host = cacheSet(v4Text, ip, `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`);
    return { host, port: (buf[off + 2] << 8) | buf[off + 3], family: 4 };
  }
  if (family === AF_INET6 && len >= 24) {
    return { host: formatV6(buf, off + 8), port: buf.readUInt16BE(off + 2), family: 6 };
  }
  if (family === AF_UNIX) {
    let end = off + len;
    if (len > 2 && buf[off + 2] !== 0) {
      const nul = buf.indexOf(0, off + 2);
      if (nul >= 0 && nul < end) end = nul;
    }
    return buf.toString("utf8", off + 2, end);
  }
  return null;
}

function parseV4(host: string): number {
  const p = host.split(".");
  return ((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0;
}

/** 16 bytes of an IPv6 literal (checked by the caller with net.isIP). */
function parseV6(host: string): Uint8Array {
  const out = new Uint8Array(16);
  let words: number[] = [];
  let tailV4: number | null = null;
  const lastColon = host.lastIndexOf(":");
  let text = host;
  if (host.indexOf(".", lastColon) >= 0) {
    tailV4 = parseV4(host.slice(lastColon + 1));
    text = host.slice(0, lastColon + 1) + "0:0";
  }
  const dbl = text.indexOf("::");
  const part = (s: string): number[] => (s === "" ? [] : s.split(":").map((w) => parseInt(w, 16)));
  if (dbl < 0) words = part(text);
  else {
    const head = part(text.slice(0, dbl));
    const tail = part(text.slice(dbl + 2));
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  for (let i = 0; i < 8; i++) {
    out[2 * i] = (words[i] >>> 8) & 255;
    out[2 * i + 1] = words[i] & 255;
  }
  if (tailV4 !== null) {
    out[12] = tailV4 >>> 24;
    out[13] = (tailV4 >>> 16) & 255;
    out[14] = (tailV4 >>> 8) & 255;
    out[15] = tailV4 & 255;
  }
  return out;
}

/** glibc inet_ntop(AF_INET6): the longest run (>= 2) of zero words as "::" (the first on a tie), IPv4 tails for ::ffff:0:0/96 and ::/96. */
function formatV6(buf: Buffer, off: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(buf.readUInt16BE(off + 2 * i));
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ":";
      continue;
    }
    if (i !== 0) s += ":";
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += `${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
      break;
    }
    s += w[i].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ":";
  return s;
}
