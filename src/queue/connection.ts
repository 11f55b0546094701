import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { createRedisWith, type ClientBehaviour, type RedisClient, type RedisConnectionSpec } from './redis-factory.js';

export {
  DEFAULT_WAIT_TIMEOUT_MS, durabilityOf, scanEveryMaster, scanTargets, tlsOptions, toSpec, RedisTlsFileError,
  type ClientBehaviour, type RedisClient, type RedisConnectionSpec, type RedisTlsFiles,
} from './redis-factory.js';

/** A Redis URL in any form, a connection spec, ioredis options, or a client to share. */
export type ConnectionOption = string | RedisConnectionSpec | RedisOptions | RedisClient;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function isRedisClient(value: unknown): value is RedisClient {
  return value instanceof Redis || value instanceof Cluster;
}

export function isConnectionSpec(value: unknown): value is RedisConnectionSpec {
  return typeof value === 'object' && value !== null && !isRedisClient(value) && typeof (value as { url?: unknown }).url === 'string';
}

/** Opens a client for any topology (see redis-factory.ts). */
export function createRedis(option: string | RedisConnectionSpec, behaviour: ClientBehaviour = {}): RedisClient {
  return createRedisWith({ Redis, Cluster }, option, behaviour);
}

const WARN_EVERY_MS = 30_000;
/** The code of those warnings (process.emitWarning's `code`). */
export const REDIS_CONNECTION_WARNING = 'TROUPE_REDIS_CONNECTION';

/**
 * ioredis prints "Unhandled error event" for every failed reconnect of a client nobody listens
 * to. A client we open reports connection trouble as one process warning per 30 s instead; it
 * reconnects by itself, and calls made meanwhile fail or wait as ioredis's options say.
 */
function reportConnectionErrors<T extends RedisClient>(client: T): T {
  let lastWarning = 0;
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastWarning < WARN_EVERY_MS) return;
    lastWarning = now;
    // The code lets a supervisor's logger tell these apart (src/supervisor/logger.ts) without reading the text.
    process.emitWarning(`troupe: Redis connection error (reconnecting): ${err.message}`, { code: REDIS_CONNECTION_WARNING });
  });
  return client;
}

/** Returns a client and whether we own it (and so must close it). */
export function connect(option: ConnectionOption | undefined): { client: RedisClient; owned: boolean } {
  if (isRedisClient(option)) return { client: option, owned: false };
  if (option === undefined) return { client: reportConnectionErrors(createRedis(DEFAULT_REDIS_URL)), owned: true };
  if (typeof option === 'string' || isConnectionSpec(option)) return { client: reportConnectionErrors(createRedis(option)), owned: true };
  return { client: reportConnectionErrors(new Redis(option)), owned: true };
}

/**
 * Blocking reads (BLPOP, XREAD BLOCK) hold their connection, so they get one of their own.
 * No per-request retry limit: a blocked call is expected to outlive reconnects.
 */
export function duplicateForBlocking(client: RedisClient): RedisClient {
  if (client instanceof Cluster) return reportConnectionErrors(client.duplicate([], { redisOptions: { ...client.options.redisOptions, maxRetriesPerRequest: null } }));
  return reportConnectionErrors(client.duplicate({ maxRetriesPerRequest: null }));
}

