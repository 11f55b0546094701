import { redisWatchOf } from './redis-watch.js';
import type { ServiceContext, SupervisorStatus } from './service.js';

/** A loop this late cannot be trusted to renew leases on time (default heartbeat 5 s, lease 30 s). */
export const LOOP_LAG_LIMIT_MS = 1000;
/** A Redis that takes longer than this to answer PING counts as unreachable. */
export const REDIS_PING_TIMEOUT_MS = 1000;

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface HealthReport {
  status: 'ok' | 'unhealthy';
  /** One sentence per failed check; empty when healthy. */
  reasons: string[];
  checks: {
    eventLoop: CheckResult & { lagMs: number };
    redis: CheckResult & { latencyMs?: number };
    pool: CheckResult & { threads: number };
    /** Redis's eviction policy and fill level (maxmemory), and whether outcomes are being written. */
    memory: CheckResult;
  };
}

/**
 * Unhealthy when Redis is full (writes refused), when outcomes cannot be written, or when an
 * evicting policy appeared that was not allowed at start; an allowed evicting policy is reported
 * but healthy (the operator accepted it). The policy is read again on every check.
 */
async function checkMemory(ctx: ServiceContext, status: SupervisorStatus): Promise<CheckResult> {
  const report = (await ctx.refreshMemory?.()) ?? status.redisMemory;
  const problems: string[] = [];
  const notes: string[] = [];
  if (report?.full) problems.push(`out of memory: ${report.full}; leasing stops until writes succeed`);
  if (report?.eviction) (report.evictionAllowed ? notes : problems).push(`may delete jobs: ${report.eviction}${report.evictionAllowed ? ' (allowed by --allow-evicting-redis)' : ''}`);
  const writes = status.outcomeWrites;
  if (writes.failingSince !== undefined) {
    problems.push(`${writes.unwritten} outcome(s) not written for ${Math.round((Date.now() - writes.failingSince) / 1000)} s: ${writes.cause}`);
  }
  if (problems.length > 0) return { ok: false, detail: problems.concat(notes).join('; ') };
  if (notes.length > 0) return { ok: true, detail: notes.join('; ') };
  return { ok: true, detail: report ? `maxmemory-policy ${[...new Set(report.nodes.map((n) => n.policy))].join(', ')}` : 'not read (INFO refused)' };
}

/** The supervisor's own account of Redis (RedisWatch), when it has one: waiting at start, or an outage. */
function watchedOutage(ctx: ServiceContext, now: number): string | undefined {
  const state = redisWatchOf(ctx.redis)?.reachability;
  if (!state || state.reachable) return undefined;
  const forS = state.since === undefined ? '' : ` for ${Math.round((now - state.since) / 1000)} s`;
  if (state.starting) {
    const next = state.nextAttemptAt === undefined ? '' : `; next attempt in ${Math.max(0, Math.round((state.nextAttemptAt - now) / 1000))} s`;
    return `not reached yet (waiting${forS}): ${state.cause ?? 'no answer'}${next}`;
  }
  return `not answering${forS}: ${state.cause ?? 'no answer'}`;
}

async function checkRedis(ctx: ServiceContext): Promise<CheckResult & { latencyMs?: number }> {
  const outage = watchedOutage(ctx, Date.now());
  if (outage) return { ok: false, detail: outage };
  // A connection that is down answers at once from its state; PING would only queue behind
  // the reconnect (the supervisor's connection waits for Redis instead of failing calls).
  if (ctx.redis.status !== 'ready') return { ok: false, detail: `connection is ${ctx.redis.status}` };
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  // The timer gives way to I/O once before it counts: after the loop was held (a flood of
  // requests, a long GC), the timer and the PONG are both due, timers run first, and a Redis
  // that answered in time would be reported as not answering (503). setImmediate runs after the
  // poll phase has read the reply.
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => setImmediate(() => resolve('timeout')), REDIS_PING_TIMEOUT_MS)));
  try {
    const answer = await Promise.race([ctx.redis.ping(), timeout]);
    if (answer === 'timeout') return { ok: false, detail: `no answer to PING within ${REDIS_PING_TIMEOUT_MS} ms` };
    return { ok: true, detail: 'PONG', latencyMs: Date.now() - t0 };
  } catch (err) {
    return { ok: false, detail: `PING failed: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness: the event loop keeps time, Redis answers, and the pool has threads. */
export async function checkHealth(ctx: ServiceContext, loopLagMs: number): Promise<HealthReport> {
  const status = ctx.status();
  const eventLoop = {
    ok: loopLagMs <= LOOP_LAG_LIMIT_MS,
    detail: `worst recent lag ${Math.round(loopLagMs)} ms (limit ${LOOP_LAG_LIMIT_MS} ms)`,
    lagMs: Math.round(loopLagMs),
  };
  const redis = await checkRedis(ctx);
  const threads = status.threads.total;
  const pool = { ok: threads > 0, detail: threads > 0 ? `${threads} threads (${status.threads.busy} busy)` : 'no worker threads', threads };
  const memory = redis.ok ? await checkMemory(ctx, status) : { ok: true, detail: 'not checked: Redis is not answering' };
  const reasons: string[] = [];
  if (!eventLoop.ok) reasons.push(`event loop: ${eventLoop.detail}`);
  if (!redis.ok) reasons.push(`redis: ${redis.detail}`);
  if (!pool.ok) reasons.push(`pool: ${pool.detail}`);
  if (!memory.ok) reasons.push(`redis memory: ${memory.detail}`);
  return { status: reasons.length === 0 ? 'ok' : 'unhealthy', reasons, checks: { eventLoop, redis, pool, memory } };
}
