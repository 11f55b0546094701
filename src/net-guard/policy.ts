/**
 * The allow-list (`--allow-hosts`, TROUPE_ALLOW_HOSTS, config "allowHosts") and the decision it
 * makes for each destination. Entries:
 *   - a range name: loopback, private, link-local, unique-local, cgnat, unspecified, metadata;
 *   - an IP address (10.0.0.5, ::1) or a CIDR range (10.0.0.0/8, fd00::/8);
 *   - a host name (executor.internal), or every name under a domain (*.svc.cluster.local):
 *     a host allowed by name is reached whatever it resolves to (it is the operator's own);
 *   - `*`: every destination (the guard is off).
 * A metadata address is opened only by `metadata` or by naming that very address: a CIDR that
 * happens to contain it (169.254.0.0/16) does not open it.
 */
import { cidrContains, parseCidr, parseIp, type Cidr, type IpAddress } from './address.js';
import type { Refusal } from './errors.js';
import { METADATA_HOSTS, RANGE_NAMES, REFUSED_RANGES, type RangeName } from './ranges.js';

export interface NetPolicy {
  /** The entries as given, for messages. */
  entries: readonly string[];
  allowAll: boolean;
  ranges: ReadonlySet<RangeName>;
  cidrs: readonly Cidr[];
  names: ReadonlySet<string>;
  /** From `*.example.com`: `.example.com`. */
  suffixes: readonly string[];
}

export const ALLOW_HOSTS_HINT = '--allow-hosts (TROUPE_ALLOW_HOSTS, config "allowHosts")';

const HOST_NAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** A host name as compared: lower case, without the root's trailing dot. */
export function normaliseHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase().replace(/\.$/, '');
}

/** Parses the allow-list; throws an Error naming the first bad entry and the accepted forms. */
export function parseAllowList(entries: readonly string[]): NetPolicy {
  const ranges = new Set<RangeName>();
  const cidrs: Cidr[] = [];
  const names = new Set<string>();
  const suffixes: string[] = [];
  let allowAll = false;
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') {
      allowAll = true;
    } else if ((RANGE_NAMES as readonly string[]).includes(entry)) {
      ranges.add(entry as RangeName);
    } else if (/^[0-9a-f:.[\]]+(\/\d+)?$/.test(entry) && (entry.includes(':') || /^[\d.]+(\/\d+)?$/.test(entry))) {
      const cidr = parseCidr(entry);
      if (!cidr) {
        throw new Error(`allowHosts: ${JSON.stringify(raw)} is not a valid IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)`);
      }
      cidrs.push({ ...cidr, text: raw.trim() });
    } else if (HOST_NAME.test(entry.replace(/\.$/, ''))) {
      const name = entry.replace(/\.$/, '');
      if (name.startsWith('*.')) suffixes.push(name.slice(1));
      else names.add(name);
    } else {
      throw new Error(
        `allowHosts: ${JSON.stringify(raw)} is not a host name (executor.internal, *.svc.cluster.local), an IP address, ` +
          `a CIDR range (10.0.0.0/8), "*" or a range name (${RANGE_NAMES.join(', ')})`,
      );
    }
  }
  return { entries: entries.map((e) => e.trim()).filter((e) => e !== ''), allowAll, ranges, cidrs, names, suffixes };
}

/** The policy with these hosts also allowed by name or address (the operator's own executors). */
export function withHosts(policy: NetPolicy, hosts: readonly string[]): NetPolicy {
  if (hosts.length === 0) return policy;
  const extra = parseAllowList(hosts.map(normaliseHost));
  return {
    entries: policy.entries,
    allowAll: policy.allowAll,
    ranges: policy.ranges,
    cidrs: [...policy.cidrs, ...extra.cidrs],
    names: new Set([...policy.names, ...extra.names]),
    suffixes: policy.suffixes,
  };
}

export function allowsName(policy: NetPolicy, host: string): boolean {
  const name = normaliseHost(host);
  return policy.allowAll || policy.names.has(name) || policy.suffixes.some((s) => name.endsWith(s));
}

/** Why `host` may not be asked of DNS at all (a metadata service's name), or undefined. */
export function refusedName(policy: NetPolicy, host: string): Refusal | undefined {
  const name = normaliseHost(host);
  if (!METADATA_HOSTS.includes(name) || policy.ranges.has('metadata') || allowsName(policy, name)) return undefined;
  return { host, address: name, range: 'metadata', cidr: name };
}

function exactly(cidr: Cidr, address: IpAddress): boolean {
  return cidr.bits === (cidr.family === 4 ? 32 : 128) && cidrContains(cidr, address);
}

/** Why a connection to `addressText` is refused, or undefined when it is allowed. */
export function refusedAddress(policy: NetPolicy, host: string, addressText: string): Refusal | undefined {
  if (policy.allowAll) return undefined;
  const address = parseIp(addressText);
  // Not an address Node would connect to; refuse rather than guess.
  if (!address) return { host, address: addressText, range: 'unparseable', cidr: addressText };
  for (const range of REFUSED_RANGES) {
    const within = range.cidrs.find((c) => cidrContains(c, address));
    if (!within) continue;
    const opened =
      policy.ranges.has(range.name) ||
      (range.name === 'metadata' ? policy.cidrs.some((c) => exactly(c, address)) : policy.cidrs.some((c) => cidrContains(c, address)));
    return opened ? undefined : { host, address: addressText, range: range.name, cidr: within.text };
  }
  return undefined;
}

/** The sentence a refusal is reported with: what, where, and how to open it. */
export function describeRefusal(refusal: Refusal, what: string): string {
  const range = REFUSED_RANGES.find((r) => r.name === refusal.range);
  const where =
    refusal.range === 'unparseable'
      ? `${refusal.address}, which is not an IP address`
      : refusal.cidr === refusal.address
        ? `${refusal.address} (${range?.what ?? refusal.range})`
        : `${refusal.address} (${range?.what ?? refusal.range} range ${refusal.cidr})`;
  const resolved = refusal.host !== refusal.address && normaliseHost(refusal.host) !== refusal.address ? ` (${refusal.host} resolves to it)` : '';
  const openWith = refusal.range === 'metadata' ? `metadata or ${refusal.address}` : `${refusal.address}, ${refusal.cidr} or ${refusal.range}`;
  return (
    `${what}: refused to connect to ${where}${resolved}; jobs may not reach loopback, private, link-local, ` +
    `unique-local or cloud metadata addresses unless the supervisor allows them: ${ALLOW_HOSTS_HINT}, e.g. ${openWith}`
  );
}
