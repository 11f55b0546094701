/**
 * Where the check happens. A URL's host is checked before any request: an IP literal (which
 * Node connects to without a lookup) and a metadata host name are refused here. Any other name
 * gets a `lookup` for the request's socket that resolves it and refuses the connection when an
 * address it resolved to is refused, so the addresses checked are the ones connected to (no
 * check-then-connect gap a DNS rebinding could use). Callers check every redirect hop again.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { DestinationRefusedError } from './errors.js';
import { allowsName, describeRefusal, normaliseHost, refusedAddress, refusedName, type NetPolicy } from './policy.js';

/** dns.lookup's callback form, as net.connect calls it (with `all: true` when it races families). */
export type LookupFunction = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/** What a request needs to honour the policy: the lookup for its socket (none for IP literals and hosts allowed by name). */
export interface Hop {
  lookup?: LookupFunction;
}

export interface NetGuard {
  policy: NetPolicy;
  /** Resolves names; dns.lookup unless a test gives a stand-in. */
  resolve?: (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;
}

function defaultResolve(hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void): void {
  dnsLookup(hostname, options, callback);
}

/**
 * Checks one hop's URL; throws DestinationRefusedError (before any connection) for a refused
 * literal or name. `what` starts the message: "GET https://…", "http: executor …".
 */
export function checkHop(guard: NetGuard, url: URL, what: string): Hop {
  const { policy } = guard;
  const host = normaliseHost(url.hostname);
  const refuse = (refusal: NonNullable<ReturnType<typeof refusedName>>): never => {
    throw new DestinationRefusedError(describeRefusal(refusal, what), refusal, url.href);
  };
  if (isIP(host)) {
    const refusal = refusedAddress(policy, host, host);
    if (refusal) refuse(refusal);
    return {};
  }
  const byName = refusedName(policy, host);
  if (byName) refuse(byName);
  if (allowsName(policy, host)) return guard.resolve ? { lookup: plainLookup(guard.resolve) } : {};
  return { lookup: guardedLookup(guard, what, url.href) };
}

/** A lookup through the guard's resolver without checks, for hosts allowed by name (a test's stand-in DNS). */
function plainLookup(resolve: NonNullable<NetGuard['resolve']>): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0]?.address ?? '', addresses[0]?.family);
    });
  };
}

/** A lookup that hands net.connect only addresses the policy allows, or fails the connection. */
export function guardedLookup(guard: NetGuard, what: string, url?: string): LookupFunction {
  const resolve = guard.resolve ?? defaultResolve;
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const { address } of addresses) {
        const refusal = refusedAddress(guard.policy, hostname, address);
        // One refused address refuses the name: a mix of public and private answers is what a
        // rebinding attempt looks like, and picking the public one would hide it.
        if (refusal) return callback(new DestinationRefusedError(describeRefusal(refusal, what), refusal, url), []);
      }
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} resolved to no address`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/** The DestinationRefusedError in `err` or its causes (a socket error wraps nothing, but fetch-like layers might). */
export function refusalIn(err: unknown): DestinationRefusedError | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && typeof cur === 'object' && cur !== null; depth++) {
    if (cur instanceof DestinationRefusedError) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}
