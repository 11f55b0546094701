/**
 * What Redis does when it is full, read from INFO memory on every master: with an evicting
 * `maxmemory-policy` it deletes keys, accepted jobs and a queue's fencing counter included, and
 * says nothing; with `noeviction` it refuses writes ("OOM command not allowed"). Troupe refuses
 * the first at start (unless allowed) and turns the second into a typed error.
 */
import { scanTargets } from './redis-factory.js';
import type { RedisClient } from './connection.js';
import { ErrorCode, TroupeError } from './errors.js';

export interface NodeMemory {
  /** host:port of the master. */
  node: string;
  policy: string;
  /** Bytes; 0 = no limit. */
  maxmemory: number;
  used: number;
}

function field(info: string, name: string): string | undefined {
  const match = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

export async function readMemory(client: RedisClient): Promise<NodeMemory[]> {
  return Promise.all(
    scanTargets(client).map(async (node) => {
      const info = await node.info('memory');
      return {
        node: `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`,
        policy: field(info, 'maxmemory_policy') ?? 'noeviction',
        maxmemory: Number(field(info, 'maxmemory') ?? 0),
        used: Number(field(info, 'used_memory') ?? 0),
      };
    }),
  );
}

/** Nodes that would delete keys when full. A policy set while maxmemory is 0 takes effect the moment a limit is set, so it counts too. */
export function evictingNodes(nodes: readonly NodeMemory[]): NodeMemory[] {
  return nodes.filter((n) => n.policy !== 'noeviction');
}

const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;

/** One sentence naming each evicting node's policy and limit. */
export function describeEviction(nodes: readonly NodeMemory[]): string {
  return nodes
    .map((n) => `${n.node} has maxmemory-policy ${n.policy} (maxmemory ${n.maxmemory > 0 ? mb(n.maxmemory) : '0: no limit yet'})`)
    .join('; ');
}

/** The fix, said once wherever the risk is reported. */
export const EVICTION_FIX =
  'when memory runs out Redis will delete accepted jobs and queue counters without a trace; set "maxmemory-policy noeviction" (CONFIG SET maxmemory-policy noeviction, and in redis.conf)';

/** Nodes at their limit under noeviction: writes are refused. */
export function fullNodes(nodes: readonly NodeMemory[]): NodeMemory[] {
  return nodes.filter((n) => n.maxmemory > 0 && n.used >= n.maxmemory);
}

export function isOutOfMemoryReply(err: unknown): boolean {
  return err instanceof Error && /^OOM\b/.test(err.message);
}

/** Redis refused a write because it is full (maxmemory reached with noeviction). Nothing was stored. */
export class RedisOutOfMemoryError extends TroupeError {
  override name = 'RedisOutOfMemoryError';
  constructor(what: string, options?: { cause?: unknown }) {
    super(
      ErrorCode.RedisOutOfMemory,
      `Redis is out of memory (maxmemory reached): ${what} was not stored. Free memory (shorter retention: keepCompleted/keepDead options, "troupe dlq purge"), raise maxmemory, or add memory; keep maxmemory-policy noeviction so Redis refuses writes instead of deleting jobs`,
      options,
    );
  }
}
