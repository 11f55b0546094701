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
