import type { Redis } from 'ioredis';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { QUEUE_NAME_PATTERN } from '../../queue/keys.js';
import { Queue, type QueueCounts } from '../../queue/queue.js';
import { formatAge, formatTable, print, printJson, type JsonArgs } from '../output.js';
import { checkQueueName, withAdminOptions, withRedis, type RedisArgs } from '../redis-option.js';

interface StatsArgs extends RedisArgs, JsonArgs {
  queue?: string;
}

/**
 * A queue exists in Redis only through its keys, and any of these may be the only one left
 * (meta holds pauses; the rest hold jobs). Job keys are not matched: there can be millions.
 */
const QUEUE_KEY_SUFFIXES = ['meta', 'pending:*', 'delayed', 'active', 'completed', 'dead'];
/** Cross-queue keys (the supervisor registry) share the troupe:{...} shape but are no queue. */
const NOT_QUEUES = new Set(['registry']);
const PREFIX = 'troupe:{';

export async function discoverQueues(client: Redis, suffixes = QUEUE_KEY_SUFFIXES): Promise<string[]> {
  const names = new Set<string>();
  for (const suffix of suffixes) {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${PREFIX}*}:${suffix}`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const name = key.slice(PREFIX.length, key.indexOf('}', PREFIX.length));
        if (!NOT_QUEUES.has(name) && QUEUE_NAME_PATTERN.test(name)) names.add(name);
      }
    } while (cursor !== '0');
  }
  return [...names].sort();
}

export interface QueueStats {
  counts: Pick<QueueCounts, 'pending' | 'delayed' | 'active' | 'completed' | 'dead'>;
  byPriority: QueueCounts['byPriority'];
  paused: boolean;
  resourcePause: QueueCounts['resourcePause'];
}

export async function queueStats(client: Redis, name: string): Promise<QueueStats> {
  const queue = new Queue(name, { connection: client });
  try {
    const { pending, delayed, active, completed, dead, byPriority, paused, resourcePause } = await queue.counts();
    return { counts: { pending, delayed, active, completed, dead }, byPriority, paused, resourcePause };
  } finally {
    await queue.close();
  }
}

/** A few queues at a time: one round trip each, without flooding Redis when there are thousands. */
export async function statsFor(client: Redis, names: string[]): Promise<Record<string, QueueStats>> {
  const out: Record<string, QueueStats> = {};
  for (let i = 0; i < names.length; i += 32) {
    const chunk = names.slice(i, i + 32);
    const stats = await Promise.all(chunk.map((name) => queueStats(client, name)));
    chunk.forEach((name, j) => (out[name] = stats[j]!));
  }
  return out;
}

export function pauseText(s: Pick<QueueStats, 'paused' | 'resourcePause'>, now = Date.now()): string {
  const parts: string[] = [];
  if (s.paused) parts.push('paused by operator');
  if (s.resourcePause) parts.push(`resource pause until ${formatAge(s.resourcePause.until, now)}${s.resourcePause.reason ? ` (${s.resourcePause.reason})` : ''}`);
  return parts.join('; ');
}

const HEADERS = ['QUEUE', 'PENDING', 'DELAYED', 'ACTIVE', 'COMPLETED', 'DEAD', 'PAUSE'];

function printStats(all: Record<string, QueueStats>): void {
  const now = Date.now();
  const rows = Object.entries(all).map(([name, s]) => [name, s.counts.pending, s.counts.delayed, s.counts.active, s.counts.completed, s.counts.dead, pauseText(s, now)]);
  print(formatTable(HEADERS, rows));
}

export const statsCommand: CommandModule<object, StatsArgs> = {
  command: 'stats',
  describe: 'Count the jobs in each state, for one queue or for every queue in Redis',
  builder: (yargs: Argv) =>
    withAdminOptions(yargs.option('queue', { alias: 'q', type: 'string', requiresArg: true, describe: 'one queue (default: every queue found in Redis)' }))
      .example([
        ['$0 stats', 'a row per queue: pending, delayed, active, completed, dead, and any pause'],
        ['$0 stats --queue default', 'one queue, with pending jobs split by priority'],
        ['$0 stats --queue default --json', '{queue, counts: {pending, delayed, active, completed, dead}, byPriority, paused, resourcePause}'],
      ]) as unknown as Argv<StatsArgs>,
  handler: async (argv: ArgumentsCamelCase<StatsArgs>) => {
    const one = argv.queue === undefined ? undefined : checkQueueName(argv.queue, '--queue');
    await withRedis(argv, async (client) => {
      if (one !== undefined) {
        const s = await queueStats(client, one);
        if (argv.json) return printJson({ queue: one, ...s });
        printStats({ [one]: s });
        const { critical, high, normal, low } = s.byPriority;
        print(`pending by priority: critical ${critical}, high ${high}, normal ${normal}, low ${low}`);
        return;
      }
      const all = await statsFor(client, await discoverQueues(client));
      if (argv.json) return printJson({ queues: all });
      if (Object.keys(all).length === 0) return print('no queues found in this Redis (a queue appears once a job is enqueued)');
      printStats(all);
    });
  },
};
