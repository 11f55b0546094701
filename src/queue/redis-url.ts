/**
 * The Redis URL forms Troupe reads, parsed by hand: WHATWG `URL` cannot hold a comma-separated
 * host list, and ioredis reads only the single-host form.
 *
 *   redis://[user:pass@]host:port[/db]                      standalone (rediss:// for TLS)
 *   redis+cluster://[user:pass@]host1:port1,host2:port2      seed nodes of a Redis Cluster
 *   redis+sentinel://[user:pass@]s1:port1,s2:port2/MASTER[/db]  sentinels and the master's name
 *
 * The password in a sentinel URL is the data nodes' password; sentinels that need their own are
 * given it apart (sentinelPassword), as ioredis does.
 */

import { CodedError, type CodedErrorOptions, type CodeOf } from '../errors.js';

export type RedisTopology = 'standalone' | 'cluster' | 'sentinel';

export interface RedisAddress {
  host: string;
  port: number;
}

export interface ParsedRedisUrl {
  topology: RedisTopology;
  tls: boolean;
  /** One for standalone; seeds for a cluster; sentinels for sentinel. */
  nodes: RedisAddress[];
  username?: string;
  password?: string;
  db: number;
  /** Sentinel only: the monitored master's name. */
  masterName?: string;
}

/**
 * Codes of the Redis connection errors: a bad URL (RedisUrlError) or TLS file (RedisTlsFileError,
 * redis-factory.ts), no Redis to use (RedisUnavailableError, supervisor/local-redis.ts; the
 * admin CLI's RedisUnreachableError, cli/redis-option.ts).
 */
export const RedisErrorCode = {
  InvalidUrl: 'INVALID_REDIS_URL',
  TlsFile: 'REDIS_TLS_FILE',
  Unavailable: 'REDIS_UNAVAILABLE',
  Unreachable: 'REDIS_UNREACHABLE',
} as const;
export type RedisErrorCode = CodeOf<typeof RedisErrorCode>;

export class RedisUrlError extends CodedError<typeof RedisErrorCode.InvalidUrl> {
  override name = 'RedisUrlError';
  constructor(message: string, options?: CodedErrorOptions) {
    super(RedisErrorCode.InvalidUrl, message, options);
  }
}

const FORMS =
  'redis://[USER:PASSWORD@]HOST:PORT[/DB], redis+cluster://HOST1:PORT1,HOST2:PORT2 or redis+sentinel://S1:PORT1,S2:PORT2/MASTER_NAME (rediss… for TLS)';

const SCHEMES: Record<string, { topology: RedisTopology; tls: boolean }> = {
  redis: { topology: 'standalone', tls: false },
  rediss: { topology: 'standalone', tls: true },
  'redis+cluster': { topology: 'cluster', tls: false },
  'rediss+cluster': { topology: 'cluster', tls: true },
  'redis+sentinel': { topology: 'sentinel', tls: false },
  'rediss+sentinel': { topology: 'sentinel', tls: true },
};

const DEFAULT_PORT: Record<RedisTopology, number> = { standalone: 6379, cluster: 6379, sentinel: 26379 };

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RedisUrlError(`the ${what} in the Redis URL is not valid percent-encoding; encode special characters (e.g. @ as %40)`);
  }
}

function parseAddress(text: string, topology: RedisTopology): RedisAddress {
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(text);
  const plain = /^([^:[\]]+)(?::(\d*))?$/.exec(text);
  const match = bracketed ?? plain;
  if (!match || match[1] === undefined || match[1] === '') {
    throw new RedisUrlError(`"${text}" is not HOST:PORT (IPv6 as [ADDR]:PORT); the forms are ${FORMS}`);
  }
  const port = match[2] === undefined || match[2] === '' ? DEFAULT_PORT[topology] : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RedisUrlError(`port of "${text}" must be 1 to 65535`);
  return { host: match[1], port };
}

function parseDb(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new RedisUrlError(`database "${text}" must be a number (e.g. /0)`);
  return Number(text);
}

export function parseRedisUrl(url: string): ParsedRedisUrl {
  const match = /^([a-z+]+):\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?([?#].*)?$/i.exec(url);
  if (!match) throw new RedisUrlError(`is not a Redis URL; the forms are ${FORMS}`);
  const [, rawScheme, userinfo, hostList, path, query] = match as unknown as [string, string, string | undefined, string, string | undefined, string | undefined];
  const scheme = SCHEMES[rawScheme.toLowerCase()];
  if (!scheme) throw new RedisUrlError(`unknown scheme "${rawScheme}://"; the forms are ${FORMS}`);
  if (query) throw new RedisUrlError(`URL options after "?" are not read; give TLS and sentinel settings as their own flags (--redis-tls-ca, --redis-sentinel-password, …)`);
  const { topology, tls } = scheme;
  const hosts = hostList.split(',').filter((h) => h !== '');
  if (hosts.length === 0) throw new RedisUrlError(`no host in the Redis URL; the forms are ${FORMS}`);
  if (topology === 'standalone' && hosts.length > 1) {
    throw new RedisUrlError(`${rawScheme}:// takes one host; for several, use ${tls ? 'rediss' : 'redis'}+cluster:// (Redis Cluster seeds) or ${tls ? 'rediss' : 'redis'}+sentinel://…/MASTER_NAME`);
  }
  const parsed: ParsedRedisUrl = { topology, tls, nodes: hosts.map((h) => parseAddress(h, topology)), db: 0 };
  if (userinfo !== undefined && userinfo !== '') {
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    const pass = colon === -1 ? undefined : userinfo.slice(colon + 1);
    // redis://:pass@host is the common password-only form (the default user).
    if (user !== '') parsed.username = decode(user, 'user name');
    if (pass !== undefined && pass !== '') parsed.password = decode(pass, 'password');
    // A lone "secret@" is a password in ioredis's reading; keep that.
    if (colon === -1) {
      delete parsed.username;
      parsed.password = decode(user, 'password');
    }
  }
  const segments = (path ?? '').split('/').filter((s) => s !== '');
  if (topology === 'standalone') {
    if (segments.length > 1) throw new RedisUrlError(`path "${path}" must be one database number (e.g. /0)`);
    if (segments[0] !== undefined) parsed.db = parseDb(segments[0]);
  } else if (topology === 'cluster') {
    if (segments.length > 0 && !(segments.length === 1 && segments[0] === '0')) {
      throw new RedisUrlError('a Redis Cluster has only database 0: drop the path after the hosts');
    }
  } else {
    if (segments[0] === undefined) throw new RedisUrlError(`a sentinel URL ends with the master's name, e.g. redis+sentinel://127.0.0.1:26379/mymaster`);
    if (segments.length > 2) throw new RedisUrlError(`path "${path}" must be /MASTER_NAME or /MASTER_NAME/DB`);
    parsed.masterName = decode(segments[0], 'master name');
    if (segments[1] !== undefined) parsed.db = parseDb(segments[1]);
  }
  return parsed;
}

/** The URL with its password replaced by ***, also when it does not parse (never echo a secret). */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/]*)@/i, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    if (colon === -1) return `${scheme}***@`;
    return `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

/** Short description for logs and status: "cluster (3 seeds, TLS)". */
export function describeTopology(parsed: ParsedRedisUrl): string {
  const tls = parsed.tls ? ', TLS' : '';
  if (parsed.topology === 'cluster') return `cluster (${parsed.nodes.length} seed${parsed.nodes.length === 1 ? '' : 's'}${tls})`;
  if (parsed.topology === 'sentinel') return `sentinel master "${parsed.masterName}" (${parsed.nodes.length} sentinel${parsed.nodes.length === 1 ? '' : 's'}${tls})`;
  return `standalone${tls ? ' (TLS)' : ''}`;
}
