/**
 * Options of the network processors (fetch, crawl, and pdf given a URL): the one defaults
 * constant, the caps, the per-deployment overrides from the environment, and the validators.
 *
 * Per-job options travel in the job's data; what a deployment wants to change for every job
 * (a larger default body limit, say) comes from environment variables, which reach threads.
 */
import { FetchError, FetchErrorCode } from './errors.js';
import type { HttpLimits } from './http-client.js';

export const FETCH_DEFAULTS = Object.freeze({
  timeoutMs: 30_000,
  maxBytes: 10 * 1024 * 1024,
  maxRedirects: 5,
  concurrency: 4,
  maxBatch: 100,
});

/** The largest value a job (or a deployment) may ask for; bounds what one job can hold. */
export const FETCH_CAPS = Object.freeze({
  timeoutMs: 3_600_000,
  maxBytes: 1024 * 1024 * 1024,
  maxRedirects: 20,
  concurrency: 64,
  maxBatch: 10_000,
});

/** Environment variables that change a default for a whole deployment. */
export const FETCH_ENV = Object.freeze({
  timeoutMs: 'TROUPE_FETCH_TIMEOUT_MS',
  maxBytes: 'TROUPE_FETCH_MAX_BYTES',
  maxRedirects: 'TROUPE_FETCH_MAX_REDIRECTS',
  concurrency: 'TROUPE_CRAWL_CONCURRENCY',
  maxBatch: 'TROUPE_CRAWL_MAX_BATCH',
});

/**
 * Environment variables that cap what a job may ask for, for a whole deployment: a job whose
 * data asks for more fails (FETCH_OVER_CAP) instead of getting it, and the default is lowered to
 * the cap. Unset, the cap is FETCH_CAPS.
 */
export const FETCH_CAP_ENV = Object.freeze({
  timeoutMs: 'TROUPE_FETCH_TIMEOUT_MS_CAP',
  maxBytes: 'TROUPE_FETCH_MAX_BYTES_CAP',
  maxRedirects: 'TROUPE_FETCH_MAX_REDIRECTS_CAP',
  concurrency: 'TROUPE_CRAWL_CONCURRENCY_CAP',
});
type CappedKey = keyof typeof FETCH_CAP_ENV;

type Key = keyof typeof FETCH_DEFAULTS;
const MIN: Record<Key, number> = { timeoutMs: 1, maxBytes: 0, maxRedirects: 0, concurrency: 1, maxBatch: 1 };

export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // A value JSON cannot print (a cycle, a bigint) only affects this message, so fall back.
    return String(value);
  }
}

export function asObject(processor: string, input: unknown, example: string): Record<string, unknown> | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || ArrayBuffer.isView(input)) {
    return `${processor}: data must be an object like ${example}, got ${describe(input)}`;
  }
  return input as Record<string, unknown>;
}

/** A whole number in [min, max] when given; the message names the field and the range. */
export function checkWhole(processor: string, data: Record<string, unknown>, key: string, min: number, max: number): string | undefined {
  const value = data[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return `${processor}: data.${key} must be a whole number from ${min} to ${max}, got ${describe(value)}`;
  }
  return undefined;
}

function fromEnv(key: Key, name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < MIN[key] || value > FETCH_CAPS[key]) {
    // Thrown at job time (threads read the environment they were started with); a retry after
    // the deployment is fixed succeeds, so this is not marked unrecoverable.
    throw new RangeError(`${name}=${JSON.stringify(raw)} must be a whole number from ${MIN[key]} to ${FETCH_CAPS[key]}; fix the environment of the supervisor`);
  }
  return value;
}

/** The most a job may ask for: the cap variable when set and valid, else FETCH_CAPS. */
export function deploymentCap(key: CappedKey, env: NodeJS.ProcessEnv = process.env): number {
  return fromEnv(key, FETCH_CAP_ENV[key], FETCH_CAPS[key], env);
}

/** The deployment's default for `key`: the environment variable when set and valid, else FETCH_DEFAULTS; never above the deployment's cap. */
export function deploymentDefault(key: Key, env: NodeJS.ProcessEnv = process.env): number {
  const value = fromEnv(key, FETCH_ENV[key], FETCH_DEFAULTS[key], env);
  return key in FETCH_CAP_ENV ? Math.min(value, deploymentCap(key as CappedKey, env)) : value;
}

/**
 * Refuses a job that asks for more than the deployment allows (fetch and crawl). Checked when
 * the job runs, not in validate(), so a bad cap variable is reported as the deployment's fault
 * (retryable) rather than the job's.
 */
export function checkCaps(processor: string, data: Record<string, unknown>, url: string, env: NodeJS.ProcessEnv = process.env): void {
  for (const key of Object.keys(FETCH_CAP_ENV) as CappedKey[]) {
    const asked = data[key];
    if (typeof asked !== 'number') continue;
    const cap = deploymentCap(key, env);
    if (asked > cap) {
      throw new FetchError(
        FetchErrorCode.OverCap,
        `${processor}: data.${key} ${asked} is over this deployment's cap of ${cap} (${FETCH_CAP_ENV[key]}); ask for at most ${cap}, or have the operator raise the cap`,
        { unrecoverable: true, url },
      );
    }
  }
}

export function checkHeaders(processor: string, data: Record<string, unknown>): string | undefined {
  const headers = data.headers;
  if (headers === undefined) return undefined;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    return `${processor}: data.headers must be an object of header names to string values, got ${describe(headers)}`;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') return `${processor}: data.headers.${name} must be a string, got ${describe(value)}`;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return `${processor}: data.headers has an invalid header name ${describe(name)}`;
  }
  return undefined;
}

/** Checks timeoutMs, maxBytes, maxRedirects and headers. */
export function checkLimits(processor: string, data: Record<string, unknown>): string | undefined {
  for (const key of ['timeoutMs', 'maxBytes', 'maxRedirects'] as const) {
    const problem = checkWhole(processor, data, key, MIN[key], FETCH_CAPS[key]);
    if (problem) return problem;
  }
  return checkHeaders(processor, data);
}

/** The limits for one job: its own values, else the deployment's, else the defaults. */
export function limitsFrom(data: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): HttpLimits {
  const pick = (key: 'timeoutMs' | 'maxBytes' | 'maxRedirects'): number => (typeof data[key] === 'number' ? (data[key] as number) : deploymentDefault(key, env));
  return {
    timeoutMs: pick('timeoutMs'),
    maxBytes: pick('maxBytes'),
    maxRedirects: pick('maxRedirects'),
    ...(data.headers ? { headers: data.headers as Record<string, string> } : {}),
  };
}
