/**
 * IP addresses as numbers, for range checks. IPv4 is a 32-bit value, IPv6 a 128-bit BigInt;
 * an IPv6 address that carries an IPv4 address (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d,
 * the deprecated compatible ::a.b.c.d) is judged as that IPv4 address, since that is where a
 * connection to it ends up.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  /** IPv4: 0..2^32-1; IPv6: 0..2^128-1. */
  value: bigint;
}

export function parseIPv4(text: string): bigint | undefined {
  if (!isIPv4(text)) return undefined;
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

export function parseIPv6(text: string): bigint | undefined {
  if (!isIPv6(text)) return undefined;
  let body = text;
  // A zone id (fe80::1%eth0) names the interface, not a different address.
  const zone = body.indexOf('%');
  if (zone >= 0) body = body.slice(0, zone);
  let tail: bigint[] = [];
  const lastColon = body.lastIndexOf(':');
  const last = body.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIPv4(last);
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    body = body.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = body.includes('::') ? body.split('::') : [body, undefined];
  const groups = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = groups(rest);
  const missing = 8 - left.length - right.length;
  const all = rest === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right];
  if (all.length !== 8) return undefined;
  let value = 0n;
  for (const g of all) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (tail.length === 2) value = (value & ~0xffffffffn) | (tail[0]! << 16n) | tail[1]!;
  return value;
}

const V4_IN_V6: ReadonlyArray<{ prefix: bigint; bits: number }> = [
  { prefix: 0xffffn << 32n, bits: 96 }, // ::ffff:0:0/96, IPv4-mapped
  { prefix: 0x64ff9bn << 96n, bits: 96 }, // 64:ff9b::/96, NAT64
];

/** The address `text` as a number, unwrapping IPv4 carried in IPv6; undefined when it is not an IP address. */
export function parseIp(text: string): IpAddress | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = parseIPv4(bare);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(bare);
  if (v6 === undefined) return undefined;
  for (const { prefix, bits } of V4_IN_V6) {
    if (v6 >> BigInt(128 - bits) === prefix >> BigInt(128 - bits)) return { family: 4, value: v6 & 0xffffffffn };
  }
  // ::a.b.c.d (IPv4-compatible, deprecated), but not :: and ::1, which are IPv6's own.
  if (v6 >> 32n === 0n && v6 > 1n) return { family: 4, value: v6 };
  return { family: 6, value: v6 };
}

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
  /** As written in the table or the allow-list, for messages. */
  text: string;
}

/** `10.0.0.0/8`, `fd00::/8`, or a single address (a /32 or /128); undefined when it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addressText = slash >= 0 ? text.slice(0, slash) : text;
  const address = parseIp(addressText);
  if (!address) return undefined;
  // A written IPv6 prefix over an IPv4-carrying address (::ffff:10.0.0.0/104) counts from the IPv4 part.
  const written6 = parseIPv6(addressText.replace(/^\[|\]$/g, '')) !== undefined;
  const width = address.family === 4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const raw = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(raw)) return undefined;
    bits = Number(raw);
    if (written6 && address.family === 4) bits -= 96;
    if (bits < 0 || bits > width) return undefined;
  }
  const shift = BigInt(width - bits);
  return { family: address.family, base: (address.value >> shift) << shift, bits, text };
}

export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.family !== address.family) return false;
  const shift = BigInt((cidr.family === 4 ? 32 : 128) - cidr.bits);
  return address.value >> shift === cidr.base >> shift;
}

/** The address as text, IPv4-carrying IPv6 shown as its IPv4 address. */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((address.value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((address.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}
