/**
 * Which executor gets the next job. Each executor's health is learnt from GET <base>/health
 * (2 s timeout by default) and trusted for a short while; an executor that fails a check or a
 * request is skipped, with a back-off that doubles up to a cap, and checked again once its
 * back-off has passed. Among healthy executors the one with the fewest jobs in flight wins,
 * ties going round-robin.
 *
 * When no executor is usable, every executor is checked once more, back-off or not: back-off
 * exists to prefer healthy peers, and with none left it would only fail a job (and spend one
 * of its attempts) on an executor that may have come back a moment ago.
 *
 * An executor the network policy refuses is not "down": the refusal (DestinationRefusedError)
 * fails the job, since no health check will ever reach it.
 */
import { refusalIn, type NetGuard } from '../../net-guard/index.js';

/** The network guard for requests to one executor (its origin decides: see guard.ts). */
export type GuardFor = (base: string) => NetGuard;
import { healthy } from './post.js';

export interface ExecutorPoolOptions {
  healthTimeoutMs: number;
  /** How long a good health answer is trusted; 0 checks before every job. */
  healthTtlMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  now?: () => number;
}

export const EXECUTOR_POOL_DEFAULTS: Readonly<ExecutorPoolOptions> = Object.freeze({
  healthTimeoutMs: 2000,
  healthTtlMs: 1000,
  backoffMinMs: 1000,
  backoffMaxMs: 30_000,
});

interface ExecutorState {
  healthy: boolean;
  checkedAt: number;
  /** Unhealthy executors are skipped until then. */
  retryAt: number;
  failures: number;
  inFlight: number;
  lastProblem: string;
}

export interface Lease {
  base: string;
  /** Marks the executor down after a failed request (network error, hang). */
  markDown(problem: string): void;
  release(): void;
}

export class ExecutorPool {
  private readonly states = new Map<string, ExecutorState>();
  private readonly options: ExecutorPoolOptions;
  private readonly now: () => number;
  private turn = 0;

  constructor(options: Partial<ExecutorPoolOptions> = {}) {
    this.options = { ...EXECUTOR_POOL_DEFAULTS, ...options };
    this.now = options.now ?? Date.now;
  }

  /** A healthy executor of `bases`, leased until release(); undefined with the reasons when none is. */
  async acquire(bases: readonly string[], exclude: ReadonlySet<string>, guard: GuardFor, signal?: AbortSignal): Promise<Lease | { problems: string[] }> {
    const candidates = bases.filter((b) => !exclude.has(b));
    const now = this.now();
    const usable = candidates.filter((b) => this.state(b).retryAt <= now);
    await this.checkStale(usable, guard, signal);
    let healthy = usable.filter((b) => this.state(b).healthy);
    if (healthy.length === 0) {
      const waiting = candidates.filter((b) => !usable.includes(b));
      await this.check(waiting, guard, signal);
      healthy = waiting.filter((b) => this.state(b).healthy);
    }
    if (healthy.length === 0) return { problems: candidates.map((b) => `${b}: ${this.state(b).lastProblem || 'not checked'}`) };
    const base = this.pick(healthy);
    const state = this.state(base);
    state.inFlight += 1;
    let released = false;
    return {
      base,
      markDown: (problem) => this.down(base, problem),
      release: () => {
        if (!released) state.inFlight -= 1;
        released = true;
      },
    };
  }

  /** For tests and diagnostics: what the pool believes about each executor. */
  snapshot(): Record<string, { healthy: boolean; inFlight: number; failures: number; retryAt: number }> {
    const out: Record<string, { healthy: boolean; inFlight: number; failures: number; retryAt: number }> = {};
    for (const [base, s] of this.states) out[base] = { healthy: s.healthy, inFlight: s.inFlight, failures: s.failures, retryAt: s.retryAt };
    return out;
  }

  private pick(healthy: string[]): string {
    const least = Math.min(...healthy.map((b) => this.state(b).inFlight));
    const tied = healthy.filter((b) => this.state(b).inFlight === least);
    this.turn = (this.turn + 1) % 1_000_000;
    return tied[this.turn % tied.length]!;
  }

  private state(base: string): ExecutorState {
    let s = this.states.get(base);
    if (!s) this.states.set(base, (s = { healthy: false, checkedAt: -Infinity, retryAt: 0, failures: 0, inFlight: 0, lastProblem: '' }));
    return s;
  }

  private async checkStale(bases: string[], guard: GuardFor, signal?: AbortSignal): Promise<void> {
    const now = this.now();
    await this.check(
      bases.filter((b) => {
        const s = this.state(b);
        return !s.healthy || now - s.checkedAt >= this.options.healthTtlMs;
      }),
      guard,
      signal,
    );
  }

  private async check(bases: string[], guard: GuardFor, signal?: AbortSignal): Promise<void> {
    await Promise.all(bases.map((b) => this.checkOne(b, guard, signal)));
    signal?.throwIfAborted();
  }

  private async checkOne(base: string, guard: GuardFor, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.options.healthTimeoutMs);
    const url = `${base}/health`;
    try {
      const answer = await healthy(url, signal ? AbortSignal.any([signal, timeout]) : timeout, guard(base));
      if (answer.ok) return this.up(base);
      this.down(base, `GET /health answered ${answer.status}`);
    } catch (err) {
      if (signal?.aborted) return;
      const refused = refusalIn(err);
      if (refused) throw refused;
      const why = timeout.aborted ? `GET /health did not answer within ${this.options.healthTimeoutMs} ms` : `GET /health failed (${describeNetworkError(err)})`;
      this.down(base, why);
    }
  }

  private up(base: string): void {
    const s = this.state(base);
    s.healthy = true;
    s.checkedAt = this.now();
    s.failures = 0;
    s.retryAt = 0;
    s.lastProblem = '';
  }

  private down(base: string, problem: string): void {
    const s = this.state(base);
    const now = this.now();
    s.healthy = false;
    s.checkedAt = now;
    s.failures += 1;
    const backoff = Math.min(this.options.backoffMaxMs, this.options.backoffMinMs * 2 ** Math.min(s.failures - 1, 20));
    s.retryAt = now + backoff;
    s.lastProblem = `${problem}; skipped until ${new Date(s.retryAt).toISOString()}`;
  }
}

export function describeNetworkError(err: unknown): string {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && typeof cur === 'object' && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}
