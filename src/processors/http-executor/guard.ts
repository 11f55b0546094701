/**
 * The network policy of the `http` processor. An executor of TROUPE_HTTP_EXECUTORS is the
 * operator's own, usually on a private network, so requests to that origin (scheme, host and
 * port) are not checked; any other executor, such as one a job's data names, is checked against
 * the supervisor's allow-list like every other destination.
 */
import { parseAllowList, threadPolicy, type NetGuard } from '../../net-guard/index.js';
import { HTTP_EXECUTORS_ENV } from './spec.js';

export { HTTP_EXECUTORS_ENV } from './spec.js';

const OPEN: NetGuard = { policy: parseAllowList(['*']) };
let cached: { raw: string; origins: Set<string> } | undefined;

/** The origins of the deployment's executor list (entries that are not URLs are reported by executorsFor, not here). */
function configuredOrigins(raw: string): Set<string> {
  const origins = new Set<string>();
  for (const entry of raw.split(',')) {
    if (entry.trim() === '') continue;
    try {
      origins.add(new URL(entry.trim()).origin);
    } catch (err) {
      // executorsFor() names a bad entry with its position; it is not this function's to report.
      void err;
    }
  }
  return origins;
}

/** The guard for requests to executor `base`. */
export function executorGuard(base: string, env: NodeJS.ProcessEnv = process.env): NetGuard {
  const raw = env[HTTP_EXECUTORS_ENV] ?? '';
  if (cached?.raw !== raw) cached = { raw, origins: configuredOrigins(raw) };
  let origin: string;
  try {
    origin = new URL(base).origin;
  } catch {
    // Not a URL: the request itself reports it; the thread's policy is the safe choice meanwhile.
    return { policy: threadPolicy() };
  }
  return cached.origins.has(origin) ? OPEN : { policy: threadPolicy() };
}
