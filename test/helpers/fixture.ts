import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { Queue } from '../../src/index.js';
import { startPrivateRedis, type PrivateRedis } from './redis-server.js';

export interface RedisFixture {
  /** The file's own redis-server (set once `before` ran). */
  readonly redis: PrivateRedis;
  /** A plain client to it, for seeding and assertions. */
  readonly client: Redis;
  /** Registers teardown (supervisors, queues): run newest first, before Redis stops. */
  cleanup(...fns: Array<() => Promise<void> | void>): void;
  /** Runs the registered teardown now (between tests that share the server). */
  runCleanup(): Promise<void>;
  /** A Queue on this server, closed with the rest of the teardown. */
  openQueue(name: string): Queue;
}

/**
 * A private redis-server for one test file: started before its tests, and after them every
 * registered teardown runs, then the server is stopped and its directory removed.
 */
export function usePrivateRedis(): RedisFixture {
  let redis: PrivateRedis | undefined;
  let client: Redis | undefined;
  const teardown: Array<() => Promise<void> | void> = [];
  const runCleanup = async () => {
    for (const fn of teardown.splice(0).reverse()) await fn();
  };
  before(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
  });
  after(async () => {
    await runCleanup();
    client?.disconnect();
    await redis?.destroy();
  });
  return {
    get redis() {
      if (!redis) throw new Error('usePrivateRedis: the server starts in before(); use it inside tests');
      return redis;
    },
    get client() {
      if (!client) throw new Error('usePrivateRedis: the client opens in before(); use it inside tests');
      return client;
    },
    cleanup: (...fns) => void teardown.push(...fns),
    runCleanup,
    openQueue: (name) => {
      if (!redis) throw new Error('usePrivateRedis: the server starts in before(); open queues inside tests');
      const queue = new Queue(name, { connection: redis.url });
      teardown.push(() => queue.close());
      return queue;
    },
  };
}
