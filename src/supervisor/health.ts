import type { ServiceContext } from './service.js';

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
  checks: { eventLoop: CheckResult & { lagMs: number }; redis: CheckResult & { latencyMs?: number }; pool: CheckResult & { threads: number } };
}

async function checkRedis(ctx: ServiceContext): Promise<CheckResult & { latencyMs?: number }> {
  // A connection that is down answers at once from its state; PING would only queue behind
  // the reconnect (the supervisor's connection waits for Redis instead of failing calls).
  if (ctx.redis.status !== 'ready') return { ok: false, detail: `connection is ${ctx.redis.status}` };
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), REDIS_PING_TIMEOUT_MS)));
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
  const reasons: string[] = [];
  if (!eventLoop.ok) reasons.push(`event loop: ${eventLoop.detail}`);
  if (!redis.ok) reasons.push(`redis: ${redis.detail}`);
  if (!pool.ok) reasons.push(`pool: ${pool.detail}`);
  return { status: reasons.length === 0 ? 'ok' : 'unhealthy', reasons, checks: { eventLoop, redis, pool } };
}
