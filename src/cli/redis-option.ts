import { Redis } from 'ioredis';
import type { Argv } from 'yargs';
import { validateQueueName } from '../queue/context.js';
import { ValidationError } from '../queue/errors.js';
import { Queue } from '../queue/queue.js';
import { CONFIG_KEYS, DEFAULT_REDIS_URL } from '../supervisor/config.js';
import { redisAnswers } from '../supervisor/local-redis.js';
import { redactUrl } from '../supervisor/redact.js';
import { UsageError } from './exit.js';
import { withJsonOption, type JsonArgs } from './output.js';

/** Same variables, same order, as the supervisor: one Redis setting for the whole CLI. */
const ENV_NAMES = CONFIG_KEYS.redisUrl.env;

export interface RedisArgs {
  redisUrl?: string;
}

export const REDIS_URL_OPTION = {
  type: 'string',
  requiresArg: true,
  describe: `Redis to talk to [env ${ENV_NAMES.join(' or ')}; default ${DEFAULT_REDIS_URL}]`,
} as const;

export function withRedisUrl<T>(yargs: Argv<T>): Argv<T & RedisArgs> {
  return yargs.option('redis-url', REDIS_URL_OPTION) as Argv<T & RedisArgs>;
}

/** Added after a command's own options so help lists what is particular to it first. */
export function withAdminOptions<T>(yargs: Argv<T>): Argv<T & RedisArgs & JsonArgs> {
  return withRedisUrl(withJsonOption(yargs));
}

export function resolveRedisUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { url: string; source: string } {
  let resolved = { url: DEFAULT_REDIS_URL, source: 'the default' };
  const fromEnv = ENV_NAMES.find((name) => env[name]);
  if (flag !== undefined) resolved = { url: flag, source: '--redis-url' };
  else if (fromEnv) resolved = { url: env[fromEnv]!, source: fromEnv };
  if (!/^rediss?:\/\/./.test(resolved.url)) {
    throw new UsageError(`${resolved.source}: ${JSON.stringify(redactUrl(resolved.url))} is not a Redis URL; use redis://HOST:PORT or rediss://USER:PASSWORD@HOST:PORT`);
  }
  return resolved;
}

/** A wrong queue name is the caller's mistake: say which argument and refuse before connecting. */
export function checkQueueName(name: string, label: string): string {
  try {
    return validateQueueName(name);
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(`${label}: ${err.message.slice(err.field.length + 2)}`);
    throw err;
  }
}

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

/**
 * Admin commands inspect an existing Redis and never start one (an empty private Redis would
 * answer every question with zeros). A quick PING first turns "no Redis" into one clear message
 * instead of ioredis retrying in the background.
 */
export async function connectAdmin(argv: RedisArgs): Promise<Redis> {
  const { url, source } = resolveRedisUrl(argv.redisUrl);
  const probe = await redisAnswers(url);
  if (!probe.ok) {
    // With retries off, ioredis reports a refused connection only as "Connection is closed."
    const cause = (probe.error ?? '').replace(/\.+$/, '');
    const why = cause === '' || cause === 'Connection is closed' ? 'nothing answered (connection refused or closed)' : cause;
    throw new RedisUnreachableError(
      `cannot reach Redis at ${redactUrl(url)} (from ${source}): ${why}. ` +
        'Admin commands never start a Redis: start one (redis-server, or "troupe supervise", which starts a local one when none is running) ' +
        `or point to yours with --redis-url, ${ENV_NAMES.join(' or ')}`,
    );
  }
  // Fail a command after a few reconnect attempts instead of waiting on a Redis that went away.
  const client = new Redis(url, { maxRetriesPerRequest: 2, retryStrategy: (times) => (times > 5 ? null : times * 200) });
  // Commands reject with the same error; the event would only print it a second time.
  client.on('error', () => undefined);
  return client;
}

/** Runs `fn` with a connected client and always closes it, so the process can exit. */
export async function withRedis<T>(argv: RedisArgs, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = await connectAdmin(argv);
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** One queue's client over a shared connection (closing it leaves the connection open). */
export async function withQueue<T>(argv: RedisArgs, name: string, fn: (queue: Queue, client: Redis) => Promise<T>): Promise<T> {
  return withRedis(argv, async (client) => {
    const queue = new Queue(name, { connection: client });
    try {
      return await fn(queue, client);
    } finally {
      await queue.close();
    }
  });
}

export interface QueueArgs {
  queue: string;
}

export function withQueueOption<T>(yargs: Argv<T>): Argv<T & QueueArgs> {
  return yargs.option('queue', {
    alias: 'q',
    type: 'string',
    demandOption: 'name the queue, e.g. --queue default',
    requiresArg: true,
    describe: 'queue name',
  }) as unknown as Argv<T & QueueArgs>;
}

/** Numeric flags are checked here so the message names the flag as typed, with its range. */
export function wholeNumberFlag(flag: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const got = Number.isNaN(value) ? 'something that is not a number' : String(value);
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got ${got}`);
  }
  return value;
}
