import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;
/** A Redis URL (redis:// or rediss://), ioredis options, or a client to share. */
export type ConnectionOption = string | RedisOptions | RedisClient;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function isRedisClient(value: unknown): value is RedisClient {
  return value instanceof Redis || value instanceof Cluster;
}

/** Returns a client and whether we own it (and so must close it). */
export function connect(option: ConnectionOption | undefined): { client: RedisClient; owned: boolean } {
  if (isRedisClient(option)) return { client: option, owned: false };
  if (option === undefined) return { client: new Redis(DEFAULT_REDIS_URL), owned: true };
  if (typeof option === 'string') return { client: new Redis(option), owned: true };
  return { client: new Redis(option), owned: true };
}

/**
 * Blocking reads (BLPOP, XREAD BLOCK) hold their connection, so they get one of their own.
 * No per-request retry limit: a blocked call is expected to outlive reconnects.
 */
export function duplicateForBlocking(client: RedisClient): RedisClient {
  if (client instanceof Cluster) return client.duplicate();
  return client.duplicate({ maxRetriesPerRequest: null });
}
