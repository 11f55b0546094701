import type { Argv } from 'yargs';
import { createRedis, DEFAULT_REDIS_URL, durabilityOf, type RedisClient, type RedisConnectionSpec } from '../queue/connection.js';
import { validateQueueName } from '../queue/context.js';
import { ValidationError } from '../queue/errors.js';
import { Queue } from '../queue/queue.js';
import { probeRedis } from '../queue/redis-probe.js';
import { privateRedisSpec } from '../supervisor/private-redis.js';
import { classifyProbeFailure, startRefusal } from '../supervisor/local-redis.js';
import { RedisErrorCode } from '../queue/redis-url.js';
import { CodedError } from '../errors.js';
import { CONFIG_KEYS, connectionSpec, envLayer, resolveConfig, type ConfigKey, type Layer } from '../supervisor/config.js';
import { UsageError } from './exit.js';
import { fileLayer, flagName, flagsLayer } from './config-args.js';
import { withJsonOption, type JsonArgs } from './output.js';

/**
 * The connection settings every command shares with the supervisor: same flags, same variables,
 * same config-file keys, so one `troupe.json` (or one environment) serves `supervise` and the
 * admin commands alike.
 */
const CONNECTION_KEYS = [
  'redisUrl', 'redisTlsCa', 'redisTlsCert', 'redisTlsKey', 'redisTlsServerName', 'redisSentinelUsername', 'redisSentinelPassword',
  'redisWaitReplicas', 'redisWaitTimeoutMs',
] as const satisfies readonly ConfigKey[];
const ENV_NAMES = CONFIG_KEYS.redisUrl.env;

export interface RedisArgs {
  redisUrl?: string;
  redisTlsCa?: string;
  redisTlsCert?: string;
  redisTlsKey?: string;
  redisTlsServerName?: string;
  redisSentinelUsername?: string;
  redisSentinelPassword?: string;
  redisWaitReplicas?: string;
  redisWaitTimeoutMs?: string;
  config?: string;
}

const REDIS_URL_OPTION = {
  type: 'string',
  requiresArg: true,
  describe: `Redis: redis://HOST:PORT, rediss:// (TLS), redis+cluster://H1:P1,H2:P2, redis+sentinel://S1:P1/MASTER [env ${ENV_NAMES.join(' or ')}; config "redisUrl"; default ${DEFAULT_REDIS_URL}]`,
} as const;

/** --redis-url plus the TLS, sentinel and durability flags and --config, grouped under "Redis:". */
export function withRedisUrl<T>(yargs: Argv<T>): Argv<T & RedisArgs> {
  let y: Argv<T> = yargs.option('redis-url', { ...REDIS_URL_OPTION, group: 'Redis:' });
  for (const key of CONNECTION_KEYS) {
    if (key === 'redisUrl') continue;
    const spec = CONFIG_KEYS[key];
    y = y.option(flagName(key), { type: 'string', requiresArg: true, group: 'Redis:', describe: `${spec.help} [env ${spec.env.join(' or ')}; config "${key}"]` });
  }
  y = y.option('config', { type: 'string', requiresArg: true, group: 'Redis:', describe: 'JSON config file: its redis* keys are read (the same file as for supervise) [env TROUPE_CONFIG]' });
  return y as Argv<T & RedisArgs>;
}

/** Added after a command's own options so help lists what is particular to it first. */
export function withAdminOptions<T>(yargs: Argv<T>): Argv<T & RedisArgs & JsonArgs> {
  return withRedisUrl(withJsonOption(yargs));
}

/** ResolvedConnection.source when no URL was given. */
const DEFAULT_SOURCE = 'the default';

export interface ResolvedConnection {
  spec: RedisConnectionSpec;
  /** Where the URL came from, for messages. */
  source: string;
}

/**
 * The supervisor's layers and validator (flags > env > config file > defaults), narrowed to the
 * connection keys: the rest of a shared config file belongs to `supervise` and is left alone.
 */
export function resolveRedisConnection(argv: RedisArgs, env: NodeJS.ProcessEnv = process.env): ResolvedConnection {
  const only = (layer: Layer): Layer => ({
    ...layer,
    values: Object.fromEntries(Object.entries(layer.values).filter(([key]) => (CONNECTION_KEYS as readonly string[]).includes(key))),
  });
  const configPath = argv.config ?? env.TROUPE_CONFIG;
  const layers = [...(configPath ? [fileLayer(configPath)] : []), envLayer(env), flagsLayer(argv as Record<string, unknown>)].map(only);
  const { config } = resolveConfig(layers);
  const urlLayer = layers.findLast((l) => l.values.redisUrl !== undefined);
  return { spec: connectionSpec(config), source: urlLayer ? urlLayer.describe('redisUrl') : DEFAULT_SOURCE };
}

/** A wrong queue name is the caller's mistake: say which argument and refuse before connecting. */
export function checkQueueName(name: string, label: string): string {
  try {
    return validateQueueName(name);
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(`${label}: ${err.detail}`);
    throw err;
  }
}

export class RedisUnreachableError extends CodedError<typeof RedisErrorCode.Unreachable> {
  override name = 'RedisUnreachableError';
  constructor(message: string) {
    super(RedisErrorCode.Unreachable, message);
  }
}

/**
 * Admin commands inspect an existing Redis and never start one (an empty private Redis would
 * answer every question with zeros). A probe first turns "no Redis", a wrong password, an
 * unknown master or a TLS failure into one clear message instead of ioredis retrying. A refused
 * password (or ACL) is a setting to fix and exits 2, as for `supervise` (startRefusal); only when
 * nothing answers does the message say how to get a Redis running.
 */
export async function connectAdmin(argv: RedisArgs): Promise<RedisClient> {
  const resolved = resolveRedisConnection(argv);
  const { source } = resolved;
  let { spec } = resolved;
  let probe = await probeRedis(spec, undefined, source);
  // No URL given and the default port asks for a password: the private server `troupe supervise` started here.
  const ours = !probe.ok && source === DEFAULT_SOURCE ? privateRedisSpec(spec) : undefined;
  const oursProbe = ours ? await probeRedis(ours, undefined, source) : undefined;
  if (ours && oursProbe?.ok) [spec, probe] = [ours, oursProbe];
  if (!probe.ok && ['auth', 'permission'].includes(classifyProbeFailure(probe.cause))) throw startRefusal(probe, spec.url);
  if (!probe.ok && classifyProbeFailure(probe.cause) === 'lasting') throw new RedisUnreachableError(probe.error);
  if (!probe.ok) {
    throw new RedisUnreachableError(
      `${probe.error}. Admin commands never start a Redis: start one (redis-server, or "troupe supervise", ` +
        `which starts a local one when none is running) or point to yours with --redis-url, ${ENV_NAMES.join(' or ')}`,
    );
  }
  // Fail a command after a few reconnect attempts instead of waiting on a Redis that went away.
  const client = createRedis(spec, { maxRetriesPerRequest: 2, retryStrategy: (times) => (times > 5 ? null : times * 200) });
  // Commands reject with the same error; the event would only print it a second time.
  client.on('error', () => undefined);
  return client;
}

/** Runs `fn` with a connected client and always closes it, so the process can exit. */
export async function withRedis<T>(argv: RedisArgs, fn: (client: RedisClient) => Promise<T>): Promise<T> {
  const client = await connectAdmin(argv);
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** One queue's client over a shared connection (closing it leaves the connection open). */
export async function withQueue<T>(argv: RedisArgs, name: string, fn: (queue: Queue, client: RedisClient) => Promise<T>): Promise<T> {
  const { spec } = resolveRedisConnection(argv);
  return withRedis(argv, async (client) => {
    const durability = durabilityOf(spec);
    const queue = new Queue(name, { connection: client, ...(durability ? { durability } : {}) });
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
