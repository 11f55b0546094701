import type { BackoffPolicy } from './options.js';

/**
 * Delay before retry number `attempt` (1 = the retry after the first failed run).
 * `random` is injected so tests can pin jitter; it must return a value in [0, 1).
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const n = Math.max(1, attempt);
  if (Array.isArray(policy)) return policy[Math.min(n, policy.length) - 1] ?? 0;
  if (policy.type === 'fixed') return policy.ms;
  const exact = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** (n - 1));
  if (policy.jitter === 0) return Math.round(exact);
  return Math.round(exact * (1 - policy.jitter * random()));
}

/**
 * Back-off as stored on the job: short text (e.g. `exp:1000:3600000:2:0.2`) rather than JSON, so a
 * small job's hash keeps every value under Redis's 64-byte limit for its compact hash encoding.
 */
export function encodeBackoff(policy: BackoffPolicy): string {
  if (Array.isArray(policy)) return `list:${policy.join(',')}`;
  if (policy.type === 'fixed') return `fixed:${policy.ms}`;
  return `exp:${policy.initialMs}:${policy.maxMs}:${policy.multiplier}:${policy.jitter}`;
}

/**
 * Leasing decodes every job's back-off, and most jobs of a queue share a handful of policies:
 * decoded ones are kept (frozen, so a shared policy cannot be changed through one job).
 */
const decoded = new Map<string, BackoffPolicy>();
const MAX_DECODED = 256;
const NO_BACKOFF: BackoffPolicy = Object.freeze([0]) as unknown as BackoffPolicy;

export function decodeBackoff(text: string | undefined): BackoffPolicy {
  if (!text) return NO_BACKOFF;
  let policy = decoded.get(text);
  if (policy === undefined) {
    policy = Object.freeze(parseBackoff(text)) as BackoffPolicy;
    if (decoded.size >= MAX_DECODED) decoded.clear();
    decoded.set(text, policy);
  }
  return policy;
}

/** Throws on text no version of Troupe wrote (a hand-edited or damaged hash). */
function parseBackoff(text: string): BackoffPolicy {
  const policy = parseBackoffText(text);
  const numbers = Array.isArray(policy) ? policy : Object.entries(policy).filter(([k]) => k !== 'type').map(([, v]) => v as unknown);
  if (numbers.length === 0 || !numbers.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0)) throw new Error(`not a back-off policy: ${text}`);
  return policy;
}

function parseBackoffText(text: string): BackoffPolicy {
  // Older jobs stored JSON.
  if (text.startsWith('{') || text.startsWith('[')) return JSON.parse(text) as BackoffPolicy;
  const [kind, ...rest] = text.split(':');
  if (kind === 'list') return rest.join(':').split(',').map(Number);
  if (kind === 'fixed') return { type: 'fixed', ms: Number(rest[0]) };
  const [initialMs, maxMs, multiplier, jitter] = rest.map(Number);
  return { type: 'exponential', initialMs: initialMs!, maxMs: maxMs!, multiplier: multiplier!, jitter: jitter! };
}

/**
 * Growing waits after consecutive Redis errors, so a restarting Redis is not hammered. Shared
 * by the supervisor's loops and the scheduler, which may not import the supervisor.
 */
export class ErrorBackoff {
  private failures = 0;
  constructor(
    private readonly baseMs = 100,
    private readonly maxMs = 5000,
  ) {}

  next(): number {
    this.failures += 1;
    return Math.min(this.maxMs, this.baseMs * 2 ** (this.failures - 1));
  }

  reset(): void {
    this.failures = 0;
  }
}
