// getaddrinfo()/getnameinfo() with the semantics of Python's socket module on glibc, over
// node:dns.lookup()/lookupService() (which call the system's getaddrinfo/getnameinfo).
// Null and numeric hosts, socket types and services are resolved here as glibc does,
// because dns.lookup() returns bare addresses (one per address, no socket types, no ports).
import * as dns from 'node:dns';
import { readFile } from 'node:fs/promises';
import { isIPv6, SocketAddress } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, type AddrInfo } from './events.js';
import { argRangeError, argTypeError } from "./validate.js";

// glibc's values.
export const AI_PASSIVE = 0x1;
export const AI_CANONNAME = 0x2;
export const AI_NUMERICHOST = 0x4;
export const AI_V4MAPPED = 0x8;
export const AI_ALL = 0x10;
export const AI_ADDRCONFIG = 0x20;
export const AI_NUMERICSERV = 0x400;
export const NI_NUMERICHOST = 1;
export const NI_NUMERICSERV = 2;
export const NI_NOFQDN = 4;
export const NI_NAMEREQD = 8;
export const NI_DGRAM = 16;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

const AI_KNOWN = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG | AI_NUMERICSERV;
const NI_KNOWN = NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM;

// glibc's gaih_inet_typeproto table, in its order. `protoAny`: any protocol goes with the
// type, as given. `noService`: a port cannot be given. `byDefault`: returned when neither
// type nor proto is given.
interface TypeProto {
  type: number;
  proto: number;
  name: string; // the protocol name of /etc/services
  protoAny?: boolean;
  noService?: boolean;
  byDefault?: boolean;
}
const TYPEPROTOS: readonly TypeProto[] = [
  { type: SOCK_STREAM, proto: IPPROTO_TCP, name: 'tcp', byDefault: true },
  { type: SOCK_DGRAM, proto: IPPROTO_UDP, name: 'udp', byDefault: true },
  { type: 6 /* SOCK_DCCP */, proto: 33, name: 'dccp' },
  { type: SOCK_DGRAM, proto: 136 /* IPPROTO_UDPLITE */, name: 'udplite' },
  { type: SOCK_STREAM, proto: 132 /* IPPROTO_SCTP */, name: 'sctp' },
  { type: 5 /* SOCK_SEQPACKET */, proto: 132, name: 'sctp' },
  { type: SOCK_RAW, proto: 0, name: 'raw', protoAny: true, noService: true, byDefault: true },
];

// libuv's error numbers, which Node puts in `errno` of dns errors.
const UV_ERRNO = {
  ENOTFOUND: -3008, // EAI_NONAME, under the name Node gives it
  EAI_ADDRFAMILY: -3000,
  EAI_BADFLAGS: -3002,
  EAI_SERVICE: -3010,
  EAI_SOCKTYPE: -3011,
} as const;

/** An error shaped like the ones node:dns raises. */
function dnsError(syscall: string, code: keyof typeof UV_ERRNO, hostname: string | null, why: string): Error {
  const err = new Error(`${syscall} ${code}${hostname === null ? '' : ` ${hostname}`}: ${why}`);
  return Object.assign(err, { errno: UV_ERRNO[code], code, syscall, ...(hostname === null ? {} : { hostname }) });
}

function checkInt(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number') throw argTypeError(`${what} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw argRangeError(`${what} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

// ---- numeric addresses ----

/** inet_aton(): 1 to 4 parts, each decimal, 0x-hex or 0-octal; the last fills the remaining bytes. */
function parseIPv4(s: string): string | null {
  const parts = s.split('.');
  if (parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    const m = /^(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))$/.exec(p);
    if (m === null) return null;
    nums.push(m[1] !== undefined ? parseInt(m[1], 16) : m[2] !== undefined ? parseInt(m[2] || '0', 8) : Number(m[3]));
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return null;
  let v = last;
  nums.forEach((n, i) => (v += n * 256 ** (3 - i)));
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** A numeric host in canonical form (a zone suffix kept as given), or null for a name. */
function parseNumericHost(host: string): { family: 4 | 6; address: string } | null {
  const v4 = parseIPv4(host);
  if (v4 !== null) return { family: 4, address: v4 };
  const [addr, zone] = host.split('%', 2) as [string, string | undefined];
  if (!isIPv6(addr)) return null;
  const canonical = new SocketAddress({ address: addr, family: 'ipv6' }).address;
  return { family: 6, address: zone === undefined ? canonical : `${canonical}%${zone}` };
}

/** The families with a configured non-loopback address, as AI_ADDRCONFIG counts them. */
function configuredFamilies(): { v4: boolean; v6: boolean } {
  const all = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal);
  return { v4: external.some((a) => a.family === 'IPv4'), v6: external.some((a) => a.family === 'IPv6') };
}

// ---- /etc files ----

function etcFile(name: string): string {
  return process.platform === 'win32'
    ? path.join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'drivers', 'etc', name)
    : path.join('/etc', name);
}

/** Lines of a hosts/services-format file: fields, comments stripped, blank lines dropped. */
function records(text: string): string[][] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .filter((fields) => fields[0] !== '');
}

// Used where the system has no services file.
const BUILTIN_SERVICES = `
echo 7/tcp
echo 7/udp
ftp-data 20/tcp
ftp 21/tcp
ssh 22/tcp
telnet 23/tcp
smtp 25/tcp mail
domain 53/tcp
domain 53/udp
http 80/tcp www
pop3 110/tcp
ntp 123/udp
imap2 143/tcp imap
snmp 161/udp
ldap 389/tcp
https 443/tcp
https 443/udp
submissions 465/tcp ssmtp smtps
submission 587/tcp
imaps 993/tcp
pop3s 995/tcp
`;

interface Services {
  port: Map<string, number>; // "name/proto" (aliases too) -> port; the first line wins, as in glibc
  name: Map<string, string>; // "port/proto" -> official name
}

function parseServices(text: string): Services {
  const s: Services = { port: new Map(), name: new Map() };
  for (const [name, portProto, ...aliases] of records(text)) {
    const m = /^(\d+)\/(\S+)$/.exec(portProto ?? '');
    if (m === null) continue;
    const port = Number(m[1]);
    const proto = m[2];
    if (port > 65535) continue;
    for (const n of [name, ...aliases]) if (!s.port.has(`${n}/${proto}`)) s.port.set(`${n}/${proto}`, port);
    if (!s.name.has(`${port}/${proto}`)) s.name.set(`${port}/${proto}`, name);
  }
  return s;
}

// Read once per process: the services database is static in practice.
let servicesLoaded: Promise<Services> | undefined;
function services(): Promise<Services> {
  servicesLoaded ??= readFile(etcFile('services'), 'latin1').then(parseServices, () => parseServices(BUILTIN_SERVICES));
  return servicesLoaded;
}

/**
 * The canonical name glibc reports for `host`. dns.lookup() does not return it; for a name
 * listed in the hosts file (consulted first under the usual nsswitch "hosts: files dns"),
 * it is the first name of the first line listing it, which is what glibc returns. For a
 * name resolved through DNS the CNAME target is not available, so the name is given as is.
 */
async function canonicalName(host: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(etcFile('hosts'), 'latin1');
  } catch {
    return host;
  }
  const wanted = host.toLowerCase();
  const line = records(text).find(([, ...names]) => names.some((n) => n.toLowerCase() === wanted));
  return line?.[1] ?? host;
}

// ---- getaddrinfo ----

interface SockKind {
  type: number;
  proto: number;
  port: number;
}

/** glibc's choice of (type, proto, port) triples for the request, or its EAI_* error. */
async function socketKinds(
  type: number,
  proto: number,
  port: number | string | null,
  flags: number,
  host: string | null,
): Promise<SockKind[]> {
  let only: TypeProto | undefined;
  if (type !== 0 || proto !== 0) {
    only = TYPEPROTOS.find(
      (t) => (type === 0 || type === t.type) && (proto === 0 || t.protoAny === true || proto === t.proto),
    );
    if (only === undefined) {
      throw type !== 0
        ? dnsError('getaddrinfo', 'EAI_SOCKTYPE', host, `socket type ${type} with protocol ${proto} is not supported`)
        : dnsError('getaddrinfo', 'EAI_SERVICE', host, `protocol ${proto} is not supported`);
    }
  }
  const kinds = (num: number, list: readonly TypeProto[]): SockKind[] =>
    list.map((t) => ({ type: t.type, proto: t.protoAny === true ? proto : t.proto, port: num }));

  if (port === null) return kinds(0, only ? [only] : TYPEPROTOS.filter((t) => t.byDefault));
  if (only?.noService === true) {
    throw dnsError('getaddrinfo', 'EAI_SERVICE', host, `a port cannot be given for socket type ${only.type}`);
  }
  let num: number | null = null;
  if (typeof port === 'number') num = port;
  else if (/^\s*\+?\d*$/.test(port)) {
    // strtoul(): leading blanks, a sign, decimal digits; "" is port 0.
    num = Number(port.trim() || '0');
    if (num > 65535) throw argRangeError(`port must be in 0..65535, got "${port}"`);
  }
  if (num !== null) return kinds(num, only ? [only] : TYPEPROTOS.filter((t) => t.byDefault));

  const name = port as string;
  if ((flags & AI_NUMERICSERV) !== 0) {
    throw dnsError('getaddrinfo', 'ENOTFOUND', host, `service "${name}" is not numeric (AI_NUMERICSERV)`);
  }
  const db = await services();
  const found: SockKind[] = [];
  for (const t of only ? [only] : TYPEPROTOS.filter((t) => t.noService !== true)) {
    const p = db.port.get(`${name}/${t.name}`);
    if (p !== undefined) found.push({ type: t.type, proto: t.proto, port: p });
  }
  if (found.length === 0) {
    throw dnsError('getaddrinfo', 'EAI_SERVICE', host, `service "${name}" is not known for the socket type`);
  }
  return found;
}

/** The addresses for `host`, in order. */
async function addresses(
  host: string | null,
  family: 0 | 4 | 6,
  flags: number,
): Promise<Array<{ family: 4 | 6; address: string }>> {
  const numeric = host === null ? null : parseNumericHost(host);
  if (host !== null && numeric === null) {
    if (host === '' || (flags & AI_NUMERICHOST) !== 0) {
      throw dnsError('getaddrinfo', 'ENOTFOUND', host, host === '' ? 'empty host name' : 'not a numeric address (AI_NUMERICHOST)');
    }
    const hints =
      ((flags & AI_ADDRCONFIG) !== 0 ? dns.ADDRCONFIG : 0) |
      ((flags & AI_V4MAPPED) !== 0 ? dns.V4MAPPED : 0) |
      ((flags & AI_ALL) !== 0 ? dns.ALL : 0);
    const found = await dns.promises.lookup(host, { family, all: true, verbatim: true, hints });
    return found.map((a) => ({ family: a.family as 4 | 6, address: a.address }));
  }

  // Null and numeric hosts are not looked up. AI_ADDRCONFIG narrows an unspecified family
  // when only one family has a non-loopback address.
  if (family === 0 && (flags & AI_ADDRCONFIG) !== 0) {
    const { v4, v6 } = configuredFamilies();
    if (v4 !== v6) family = v4 ? 4 : 6;
  }
  if (numeric === null) {
    // glibc's RFC 6724 sorting puts the IPv4 wildcard first (label match, rule 5) and the
    // IPv6 loopback first (precedence, rule 6).
    const passive = (flags & AI_PASSIVE) !== 0;
    const v4 = { family: 4 as const, address: passive ? '0.0.0.0' : '127.0.0.1' };
    const v6 = { family: 6 as const, address: passive ? '::' : '::1' };
    const both = passive ? [v4, v6] : [v6, v4];
    return both.filter((a) => family === 0 || a.family === family);
  }
  if (family === 0 || numeric.family === family) return [numeric];
  if (family === 6 && (flags & AI_V4MAPPED) !== 0) return [{ family: 6, address: `::ffff:${numeric.address}` }];
  throw dnsError('getaddrinfo', 'EAI_ADDRFAMILY', host, `not an IPv${family} address`);
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (
    typeof signal !== 'object' ||
    signal === null ||
    !('aborted' in signal) ||
    typeof (signal as AbortSignal).addEventListener !== 'function'
  ) {
    throw argTypeError('opts.signal must be an AbortSignal');
  }
  return signal as AbortSignal;
}

/** Settles as `work` does, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * socket.getaddrinfo(): one entry per address per socket type, in the resolver's order.
 * `type` 0 means SOCK_STREAM, SOCK_DGRAM and SOCK_RAW (for a service name, the types whose
 * protocol lists it in /etc/services); a `type` or `proto` selects one kind. A null host is
 * the loopback address, or the wildcard address with AI_PASSIVE. A port is a number, a
 * numeric string, a service name or null (0). Ports outside 0..65535 are a RangeError
 * (glibc would wrap them modulo 65536).
 */
export async function getaddrinfo(
  host: string | null,
  port: number | string | null,
  opts: { family?: 0 | 4 | 6; type?: number; proto?: number; flags?: number; signal?: AbortSignal } = {},
): Promise<AddrInfo[]> {
  if (host === undefined) host = null;
  if (port === undefined) port = null;
  if (host !== null && typeof host !== 'string') throw argTypeError(`host must be a string or null, got ${typeof host}`);
  if (port !== null && typeof port !== 'string') checkInt(port, 'port', 0, 65535);
  if (typeof opts !== 'object' || opts === null) throw argTypeError('opts must be an object');
  const { family = 0, type = 0, proto = 0, flags = 0 } = opts;
  if (family !== 0 && family !== 4 && family !== 6) throw argTypeError(`opts.family must be 0, 4 or 6, got ${String(family)}`, "ERR_INVALID_ARG_VALUE");
  checkInt(type, 'opts.type', 0, 2 ** 31 - 1);
  checkInt(proto, 'opts.proto', 0, 2 ** 31 - 1);
  checkInt(flags, 'opts.flags', 0, 2 ** 31 - 1);
  const signal = checkSignal(opts.signal);
  if (signal?.aborted) throw signal.reason;

  const work = (async () => {
    if ((flags & ~AI_KNOWN) !== 0 || ((flags & AI_CANONNAME) !== 0 && host === null)) {
      throw dnsError(
        'getaddrinfo',
        'EAI_BADFLAGS',
        host,
        (flags & ~AI_KNOWN) !== 0 ? `unknown flags 0x${(flags & ~AI_KNOWN).toString(16)}` : 'AI_CANONNAME needs a host',
      );
    }
    if (host === null && port === null) throw dnsError('getaddrinfo', 'ENOTFOUND', null, 'neither host nor port given');
    const kinds = await socketKinds(type, proto, port, flags, host);
    const addrs = await addresses(host, family, flags);
    let canon = '';
    if (host !== null && (flags & AI_CANONNAME) !== 0) {
      canon = parseNumericHost(host) !== null ? host : await canonicalName(host);
    }
    // With AI_CANONNAME only the first entry carries the name.
    return addrs.flatMap((a, i) =>
      kinds.map((k, j): AddrInfo => ({
        family: a.family,
        type: k.type,
        proto: k.proto,
        canonname: i === 0 && j === 0 ? canon : '',
        host: a.address,
        port: k.port,
      })),
    );
  })();
  return abortable(work, signal);
}

// ---- getnameinfo ----

// The callback form: dns.promises.lookupService() (Node 20) leaves `hostname` off its errors.
function lookupHostname(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    dns.lookupService(address, port, (err, hostname) => (err ? reject(err) : resolve(hostname)));
  });
}

/**
 * socket.getnameinfo(): [host name, service name] for a numeric address. The name comes
 * from dns.lookupService() (the system's resolver) unless NI_NUMERICHOST; with no name the
 * numeric address is returned, or ENOTFOUND under NI_NAMEREQD. The service is the
 * /etc/services name for the port under tcp (udp with NI_DGRAM), else the number.
 * NI_NOFQDN strips this host's domain (the part of os.hostname() after its first dot).
 */
export async function getnameinfo(addr: { host: string; port: number }, flags = 0): Promise<[string, string]> {
  if (typeof addr !== 'object' || addr === null) throw argTypeError('addr must be an object { host, port }');
  if (typeof addr.host !== 'string') throw argTypeError(`addr.host must be a string, got ${typeof addr.host}`);
  const port = checkInt(addr.port, 'addr.port', 0, 65535);
  checkInt(flags, 'flags', 0, 2 ** 31 - 1);
  if ((flags & ~NI_KNOWN) !== 0) throw argRangeError(`flags has unknown bits 0x${(flags & ~NI_KNOWN).toString(16)}`, "ERR_INVALID_ARG_VALUE");
  const numeric = parseNumericHost(addr.host);
  if (numeric === null) throw argTypeError(`addr.host must be a numeric IP address, got ${JSON.stringify(addr.host)}`, "ERR_INVALID_ARG_VALUE");

  let host = numeric.address;
  if ((flags & NI_NUMERICHOST) === 0) {
    try {
      host = await lookupHostname(numeric.address, port);
      const domain = os.hostname().split('.').slice(1).join('.');
      if ((flags & NI_NOFQDN) !== 0 && domain !== '' && host.endsWith(`.${domain}`)) {
        host = host.slice(0, -domain.length - 1);
      }
    } catch (err) {
      // Node asks for NI_NAMEREQD, so "no name" is ENOTFOUND; other failures stand.
      if ((err as NodeJS.ErrnoException).code !== 'ENOTFOUND' || (flags & NI_NAMEREQD) !== 0) throw err;
    }
  }
  let service = String(port);
  if ((flags & NI_NUMERICSERV) === 0) {
    service = (await services()).name.get(`${port}/${(flags & NI_DGRAM) !== 0 ? 'udp' : 'tcp'}`) ?? service;
  }
  return [host, service];
}
