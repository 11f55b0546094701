import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
// Types only: threads load ioredis lazily and hand it in (createRedisWith), so a thread that
// never opens a connection never loads it.
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { CodedError, type CodedErrorOptions } from '../errors.js';
import { parseRedisUrl, RedisErrorCode, RedisUrlError, type ParsedRedisUrl } from './redis-url.js';

export type RedisClient = Redis | Cluster;
/** The two client classes, from an ioredis module loaded by the caller. */
export interface IoRedis {
  Redis: typeof Redis;
  Cluster: typeof Cluster;
}

/** Files and names for TLS to a private or self-signed CA (paths, so the spec stays serialisable). */
export interface RedisTlsFiles {
  /** PEM file of the CA that signed the server's certificate. */
  caFile?: string;
  /** Client certificate and key (PEM), for servers that require mutual TLS. */
  certFile?: string;
  keyFile?: string;
  /** Name to check the server's certificate against when it differs from the host in the URL. */
  serverName?: string;
}

/**
 * Everything needed to open a connection, as plain data: a supervisor hands it to its threads
 * and to child processes, so it holds file paths, never file contents or sockets.
 */
export interface RedisConnectionSpec {
  /** Any form parseRedisUrl reads (standalone, cluster seeds, sentinels). */
  url: string;
  tls?: RedisTlsFiles;
  /** Sentinels' own credentials, when they differ from the data nodes'. */
  sentinelUsername?: string;
  sentinelPassword?: string;
  /**
   * Durability: after each enqueue and outcome write, wait until this many replicas have it
   * (Redis WAIT). 0 = acknowledge on the master's word, Redis's default.
   */
  waitReplicas?: number;
  /** Longest that wait may take before the write is reported as not replicated. */
  waitTimeoutMs?: number;
}

export class RedisTlsFileError extends CodedError<typeof RedisErrorCode.TlsFile> {
  override name = 'RedisTlsFileError';
  constructor(message: string, options?: CodedErrorOptions) {
    super(RedisErrorCode.TlsFile, message, options);
  }
}

function readPem(path: string, what: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const why = err instanceof Error && 'code' in err && err.code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err);
    throw new RedisTlsFileError(`cannot read the ${what} ${path} (${flag}): ${why}; give the path of a PEM file`);
  }
}

/** node:tls options for the spec, or undefined when the URL is not TLS and no TLS file is given. */
export function tlsOptions(spec: RedisConnectionSpec, parsed: ParsedRedisUrl): TlsOptions | undefined {
  const files = spec.tls ?? {};
  const anyFile = files.caFile !== undefined || files.certFile !== undefined || files.keyFile !== undefined || files.serverName !== undefined;
  if (!parsed.tls) {
    if (anyFile) throw new RedisUrlError('TLS settings were given but the URL is not TLS: use rediss:// (or rediss+cluster://, rediss+sentinel://)');
    return undefined;
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new RedisUrlError('mutual TLS needs both a client certificate and its key: give --redis-tls-cert and --redis-tls-key together');
  }
  const options: TlsOptions = {};
  if (files.caFile !== undefined) options.ca = readPem(files.caFile, 'CA certificate', '--redis-tls-ca');
  if (files.certFile !== undefined) options.cert = readPem(files.certFile, 'client certificate', '--redis-tls-cert');
  if (files.keyFile !== undefined) options.key = readPem(files.keyFile, 'client key', '--redis-tls-key');
  if (files.serverName !== undefined) options.servername = files.serverName;
  return options;
}

/** How a connection should behave; each role of a client picks its own (see callers). */
export interface ClientBehaviour {
  /** Retries of one command across reconnects (null = wait for the reconnect, however long). */
  maxRetriesPerRequest?: number | null;
  lazyConnect?: boolean;
  connectTimeout?: number;
  enableOfflineQueue?: boolean;
  /** Delay before reconnect attempt N, or null to give up (standalone and sentinel: per client; cluster: per cluster). */
  retryStrategy?: (times: number) => number | null;
}

/** Wait for replicas after writes that must survive a failover (Redis WAIT; see docs/operations.md). */
export interface Durability {
  replicas: number;
  timeoutMs: number;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 1_000;

/** The spec's durability setting, or undefined when it is off. */
export function durabilityOf(spec: RedisConnectionSpec): Durability | undefined {
  const replicas = spec.waitReplicas ?? 0;
  return replicas > 0 ? { replicas, timeoutMs: spec.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS } : undefined;
}

export function toSpec(option: string | RedisConnectionSpec): RedisConnectionSpec {
  return typeof option === 'string' ? { url: option } : option;
}

/** Opens a client for any topology with the given ioredis module. Throws RedisUrlError / RedisTlsFileError before connecting. */
export function createRedisWith(lib: IoRedis, option: string | RedisConnectionSpec, behaviour: ClientBehaviour = {}): RedisClient {
  const spec = toSpec(option);
  const parsed = parseRedisUrl(spec.url);
  const tls = tlsOptions(spec, parsed);
  const auth: RedisOptions = {};
  if (parsed.username !== undefined) auth.username = parsed.username;
  if (parsed.password !== undefined) auth.password = parsed.password;
  const common: RedisOptions = { ...auth };
  if (behaviour.maxRetriesPerRequest !== undefined) common.maxRetriesPerRequest = behaviour.maxRetriesPerRequest;
  if (behaviour.connectTimeout !== undefined) common.connectTimeout = behaviour.connectTimeout;
  if (tls) common.tls = tls;

  if (parsed.topology === 'cluster') {
    const { retryStrategy, enableOfflineQueue, lazyConnect } = behaviour;
    const options: ClusterOptions = {
      redisOptions: common,
      // Always write to and read from masters: a replica may lag, and leases need the latest state.
      scaleReads: 'master',
      // After a failover the old master's slots move; refresh often enough to follow them quickly.
      slotsRefreshInterval: 2_000,
      slotsRefreshTimeout: 2_000,
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 200,
      maxRedirections: 32,
    };
    if (retryStrategy) options.clusterRetryStrategy = retryStrategy;
    if (enableOfflineQueue !== undefined) options.enableOfflineQueue = enableOfflineQueue;
    if (lazyConnect !== undefined) options.lazyConnect = lazyConnect;
    return new lib.Cluster(parsed.nodes, options);
  }

  const options: RedisOptions = { ...common, db: parsed.db };
  if (behaviour.lazyConnect !== undefined) options.lazyConnect = behaviour.lazyConnect;
  if (behaviour.enableOfflineQueue !== undefined) options.enableOfflineQueue = behaviour.enableOfflineQueue;
  if (behaviour.retryStrategy) options.retryStrategy = behaviour.retryStrategy;
  if (parsed.topology === 'sentinel') {
    options.sentinels = parsed.nodes;
    options.name = parsed.masterName!;
    if (spec.sentinelUsername !== undefined) options.sentinelUsername = spec.sentinelUsername;
    if (spec.sentinelPassword !== undefined) options.sentinelPassword = spec.sentinelPassword;
    if (tls) {
      options.enableTLSForSentinelMode = true;
      options.sentinelTLS = tls;
    }
    // Sentinels are asked again on every reconnect, so a failover is followed without a restart.
    options.sentinelRetryStrategy = (times) => (behaviour.retryStrategy ? behaviour.retryStrategy(times) : Math.min(100 * times, 2_000));
    return new lib.Redis(options);
  }
  options.host = parsed.nodes[0]!.host;
  options.port = parsed.nodes[0]!.port;
  return new lib.Redis(options);
}

/** The masters of a cluster, or the one server otherwise: where key scans must run. */
export function scanTargets(client: RedisClient): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
}

/**
 * Every key matching `pattern`, in batches, on every master (SCAN on a Cluster client would
 * reach one random node only). Keys seen twice during a resharding are passed twice: callers
 * act idempotently.
 */
export async function scanEveryMaster(client: RedisClient, pattern: string, onBatch: (keys: string[]) => Promise<void>, options: { count?: number; signal?: AbortSignal } = {}): Promise<void> {
  const count = options.count ?? 1000;
  for (const node of scanTargets(client)) {
    let cursor = '0';
    do {
      if (options.signal?.aborted) return;
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) await onBatch(keys);
    } while (cursor !== '0');
  }
}
