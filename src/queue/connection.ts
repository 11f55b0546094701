import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;
/** A Redis URL (redis:// or rediss://), ioredis options, or a client to share. */
export type ConnectionOption = string | RedisOptions | RedisClient;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function isRedisClient(value: unknown): value is RedisClient {
  return value instanceof Redis || value instanceof Cluster;
}

const WARN_EVERY_MS = 30_000;

/**
 * ioredis prints "Unhandled error event" for every failed reconnect of a client nobody listens
 * to. A client we open reports connection trouble as one process warning per 30 s instead; it
 * reconnects by itself, and calls made meanwhile fail or wait as ioredis's options say.
 */
function reportConnectionErrors(client: Redis): Redis {
  let lastWarning = 0;
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastWarning < WARN_EVERY_MS) return;
    lastWarning = now;
    process.emitWarning(`troupe: Redis connection error (reconnecting): ${err.message}`);
  });
  return client;
}

/** Returns a client and whether we own it (and so must close it). */
export function connect(option: ConnectionOption | undefined): { client: RedisClient; owned: boolean } {
  if (isRedisClient(option)) return { client: option, owned: false };
  if (option === undefined) return { client: reportConnectionErrors(new Redis(DEFAULT_REDIS_URL)), owned: true };
  if (typeof option === 'string') return { client: reportConnectionErrors(new Redis(option)), owned: true };
  return { client: reportConnectionErrors(new Redis(option)), owned: true };
}

/**
 * Blocking reads (BLPOP, XREAD BLOCK) hold their connection, so they get one of their own.
 * No per-request retry limit: a blocked call is expected to outlive reconnects.
 */
export function duplicateForBlocking(client: RedisClient): RedisClient {
  if (client instanceof Cluster) return client.duplicate();
  return reportConnectionErrors(client.duplicate({ maxRetriesPerRequest: null }));
}
