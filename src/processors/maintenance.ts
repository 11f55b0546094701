/**
 * The built-in `maintenance` processor, scheduled daily by default (the `maintenance` schedule).
 * Finished jobs are trimmed by the transition that finishes them; what nothing else removes
 * piles up when a queue goes quiet or a supervisor dies. This removes it and reports what it
 * removed:
 * - completed and dead jobs past their own retention (keepCompleted / keepDead: age and count),
 *   and finished-set entries whose job hash is gone;
 * - dedupe entries nothing will expire: cached results that lost their TTL after their job's
 *   resultTtlMs, and in-flight markers whose job is gone or finished (Redis expires the rest,
 *   and scanning makes it drop already-expired ones at once);
 * - supervisor registry entries whose heartbeat is long gone.
 *
 * It runs in a worker thread and opens its own connection to the supervisor's Redis
 * (ThreadInit.redisUrl). ioredis is loaded only when a maintenance job runs, so threads that
 * never run one do not pay for it at start.
 */
import { workerData } from 'node:worker_threads';
import { ANY_QUEUE_KEYS, queueKeys, queueOfKey, REGISTRY_KEYS } from '../queue/keys.js';
import { createRedisWith, scanEveryMaster, type RedisClient, type RedisConnectionSpec } from '../queue/redis-factory.js';
import { LuaRunner, ScriptSet } from '../queue/scripts.js';
import { UnrecoverableError, type Processor, type ProcessorLogger } from './contract.js';
import { MAINTENANCE_PROCESSOR, MAINTENANCE_SPEC } from './maintenance-spec.js';

export { MAINTENANCE_PROCESSOR };

/**
 * Registry key names as src/supervisor/registry.ts spells them: code that runs in a thread may
 * not import the supervisor, so they come from the queue's keys.ts and a test checks that both agree.
 */
export const REGISTRY_INDEX_KEY = REGISTRY_KEYS.index;
export const registryEntryKey = REGISTRY_KEYS.entry;

export interface MaintenanceInput {
  /** Queues to sweep (default: every queue found in Redis). */
  queues?: string[];
  /** A registry entry whose last heartbeat is older than this is removed (default 1 hour). */
  supervisorGoneMs?: number;
  /** Count what would be removed without removing it. */
  dryRun?: boolean;
}

export interface QueueSweep {
  completed: number;
  dead: number;
  dedupe: number;
}

export interface MaintenanceReport {
  queues: Record<string, QueueSweep>;
  supervisors: number;
  removed: number;
  dryRun: boolean;
  tookMs: number;
}

const DEFAULT_SUPERVISOR_GONE_MS = 3_600_000;
const WINDOW = 500;
const SCAN_COUNT = 1000;
const SWEEPS = ['sweep-finished', 'sweep-dedupe'] as const;
type SweepScript = (typeof SWEEPS)[number];
const SCRIPTS = new ScriptSet(new URL('./lua/', import.meta.url), SWEEPS);

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('maintenance aborted');
}

/** Every master of a cluster is scanned: a queue's keys live on the master that owns its slot. */
async function scanKeys(client: RedisClient, pattern: string, onBatch: (keys: string[]) => Promise<void>, signal?: AbortSignal): Promise<void> {
  aborted(signal);
  await scanEveryMaster(client, pattern, onBatch, { count: SCAN_COUNT, ...(signal ? { signal } : {}) });
  aborted(signal);
}

async function findQueues(client: RedisClient, signal?: AbortSignal): Promise<string[]> {
  const names = new Set<string>();
  for (const pattern of [ANY_QUEUE_KEYS.completed, ANY_QUEUE_KEYS.dead]) {
    await scanKeys(client, pattern, async (keys) => {
      for (const key of keys) {
        const name = queueOfKey(key);
        if (name) names.add(name);
      }
    }, signal);
  }
  return [...names].sort();
}

async function sweepFinished(scripts: LuaRunner<SweepScript>, queue: string, state: 'completed' | 'dead', now: number, dry: boolean, signal?: AbortSignal): Promise<number> {
  const keys = queueKeys(queue);
  let removed = 0;
  for (let start = 0; start >= 0; ) {
    aborted(signal);
    const [count, next] = (await scripts.run('sweep-finished', [keys[state]], [keys.prefix, now, start, WINDOW, state === 'completed' ? 'Completed' : 'Dead', dry ? '1' : '0'])) as [number, number];
    removed += count;
    start = next;
  }
  return removed;
}

async function sweepDedupe(client: RedisClient, scripts: LuaRunner<SweepScript>, queues: ReadonlySet<string> | undefined, report: Record<string, QueueSweep>, now: number, dry: boolean, signal?: AbortSignal): Promise<void> {
  const patterns = queues ? [...queues].map((q) => queueKeys(q).dedupe('*')) : [ANY_QUEUE_KEYS.dedupe('*')];
  for (const pattern of patterns) {
    await scanKeys(client, pattern, async (keys) => {
      // One script call per queue: its keys share the queue's slot.
      const byQueue = new Map<string, string[]>();
      for (const key of keys) {
        const name = queueOfKey(key);
        if (name) byQueue.set(name, [...(byQueue.get(name) ?? []), key]);
      }
      for (const [name, list] of byQueue) {
        const dropped = Number(await scripts.run('sweep-dedupe', list, [queueKeys(name).prefix, now, dry ? '1' : '0']));
        report[name] ??= { completed: 0, dead: 0, dedupe: 0 };
        report[name].dedupe += dropped;
      }
    }, signal);
  }
}

async function sweepRegistry(client: RedisClient, now: number, goneMs: number, dry: boolean): Promise<number> {
  const entries = await client.zrange(REGISTRY_INDEX_KEY, '0', '-1', 'WITHSCORES');
  const gone: string[] = [];
  for (let i = 0; i < entries.length; i += 2) {
    const id = entries[i]!;
    const heartbeatAt = Number(entries[i + 1]);
    if (heartbeatAt < now - goneMs || (await client.exists(registryEntryKey(id))) === 0) gone.push(id);
  }
  if (!dry && gone.length > 0) {
    await client.multi().zrem(REGISTRY_INDEX_KEY, ...gone).del(...gone.map(registryEntryKey)).exec();
  }
  return gone.length;
}

/** The sweep itself, on a given connection (the processor opens one; tests pass theirs). */
export async function runMaintenance(client: RedisClient, input: MaintenanceInput = {}, options: { now?: number; signal?: AbortSignal; log?: ProcessorLogger } = {}): Promise<MaintenanceReport> {
  const started = Date.now();
  const now = options.now ?? started;
  const dry = input.dryRun === true;
  const only = input.queues ? new Set(input.queues) : undefined;
  const queues = input.queues ?? (await findQueues(client, options.signal));
  const scripts = new LuaRunner(client, SCRIPTS);
  const report: Record<string, QueueSweep> = {};
  for (const queue of queues) {
    const completed = await sweepFinished(scripts, queue, 'completed', now, dry, options.signal);
    const dead = await sweepFinished(scripts, queue, 'dead', now, dry, options.signal);
    report[queue] = { completed, dead, dedupe: 0 };
  }
  await sweepDedupe(client, scripts, only, report, now, dry, options.signal);
  const supervisors = await sweepRegistry(client, now, input.supervisorGoneMs ?? DEFAULT_SUPERVISOR_GONE_MS, dry);
  const removed = supervisors + Object.values(report).reduce((sum, q) => sum + q.completed + q.dead + q.dedupe, 0);
  // Queues with nothing removed would only make the report longer.
  for (const [name, sweep] of Object.entries(report)) if (sweep.completed + sweep.dead + sweep.dedupe === 0) delete report[name];
  const result = { queues: report, supervisors, removed, dryRun: dry, tookMs: Date.now() - started };
  options.log?.info(`maintenance ${dry ? 'would remove' : 'removed'} ${removed} item(s)`, { ...result, queuesSwept: queues.length });
  return result;
}


export const maintenance: Processor<MaintenanceInput | null, MaintenanceReport> = {
  ...MAINTENANCE_SPEC,
  async run(input, ctx) {
    const spec = (workerData as { redis?: RedisConnectionSpec } | null | undefined)?.redis;
    if (typeof spec?.url !== 'string') {
      throw new UnrecoverableError('maintenance: this thread was not given the Redis connection; run maintenance jobs on a supervisor (troupe supervise)');
    }
    // ioredis is loaded only when a maintenance job runs: threads that never run one don't pay for it.
    const client = createRedisWith(await import('ioredis'), spec, { maxRetriesPerRequest: 3, lazyConnect: true });
    let lastError: Error | undefined;
    // Commands reject with the same error; the event would only repeat it.
    client.on('error', (err: Error) => (lastError = err));
    try {
      await client.connect();
      return await runMaintenance(client, input ?? {}, { signal: ctx.signal, log: ctx.log });
    } catch (err) {
      if (lastError && err instanceof Error && !err.message.includes(lastError.message)) err.message += ` (connection: ${lastError.message})`;
      throw err;
    } finally {
      client.disconnect();
    }
  },
};
