/**
 * The destinations a job may not reach unless the operator allows them: the machine itself, the
 * networks behind it, and the cloud metadata services that hand out credentials. Each range has
 * a name, which is also the allow-list word that opens it (`--allow-hosts loopback`).
 */
import { parseCidr, type Cidr } from './address.js';

export const RANGE_NAMES = ['metadata', 'unspecified', 'loopback', 'private', 'link-local', 'unique-local', 'cgnat'] as const;
export type RangeName = (typeof RANGE_NAMES)[number];

export interface RefusedRange {
  name: RangeName;
  cidrs: Cidr[];
  what: string;
}

function cidrs(...texts: string[]): Cidr[] {
  return texts.map((t) => {
    const c = parseCidr(t);
    if (!c) throw new Error(`bad range in the table: ${t}`);
    return c;
  });
}

/**
 * Checked in this order, so an address is reported under its most specific name: the AWS,
 * Azure and GCP metadata address 169.254.169.254 is `metadata`, not `link-local`, and opening
 * link-local does not open it.
 */
export const REFUSED_RANGES: readonly RefusedRange[] = [
  {
    name: 'metadata',
    // AWS/Azure/GCP/OpenStack; AWS over IPv6 (Nitro); Alibaba Cloud (inside CGNAT space).
    cidrs: cidrs('169.254.169.254/32', 'fd00:ec2::254/128', '100.100.100.200/32'),
    what: 'a cloud metadata service address',
  },
  // 0.0.0.0 and :: reach the local machine on Linux.
  { name: 'unspecified', cidrs: cidrs('0.0.0.0/8', '::/128'), what: '"this host" (unspecified)' },
  { name: 'loopback', cidrs: cidrs('127.0.0.0/8', '::1/128'), what: 'loopback' },
  { name: 'private', cidrs: cidrs('10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'), what: 'private (RFC 1918)' },
  { name: 'link-local', cidrs: cidrs('169.254.0.0/16', 'fe80::/10'), what: 'link-local' },
  { name: 'unique-local', cidrs: cidrs('fc00::/7'), what: 'unique-local IPv6' },
  { name: 'cgnat', cidrs: cidrs('100.64.0.0/10'), what: 'carrier-grade NAT (shared address space)' },
];

/** Host names of metadata services, refused before any DNS query is made. */
export const METADATA_HOSTS: readonly string[] = ['metadata.google.internal', 'metadata.goog'];
