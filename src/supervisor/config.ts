import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { DEFAULT_REDIS_URL, type RedisConnectionSpec } from '../queue/connection.js';
import { QUEUE_NAME_PATTERN } from '../queue/keys.js';
import { CodedError, type CodedErrorOptions } from '../errors.js';
import { parseRedisUrl, redactRedisUrl, RedisUrlError } from '../queue/redis-url.js';
import { validateScheduleList, type Schedule } from '../scheduler/spec.js';
import { exposureProblem } from './http-guard.js';
import { parseAllowList } from '../net-guard/policy.js';
import { defaultMaxRssMb } from './memory-watch.js';

/** Everything a supervisor is built from. One interface, one defaults constant, one validator. */
export interface SupervisorConfig {
  /** Redis URL: redis://, rediss:// (TLS), redis+cluster://, redis+sentinel:// (docs/operations.md). */
  redisUrl: string;
  /** PEM file of the CA that signed the Redis server's certificate ('' = the system's CAs). */
  redisTlsCa: string;
  /** Client certificate and key (PEM) for Redis servers that require mutual TLS ('' = none). */
  redisTlsCert: string;
  redisTlsKey: string;
  /** Name to check the server certificate against, when it differs from the URL's host ('' = the host). */
  redisTlsServerName: string;
  /** Sentinels' own user and password, when they differ from the data nodes' ('' = none). */
  redisSentinelUsername: string;
  redisSentinelPassword: string;
  /** Durability: replicas that must confirm each enqueue and outcome write (0 = the master's word, Redis's default). */
  redisWaitReplicas: number;
  /** Longest wait for those replicas per write. */
  redisWaitTimeoutMs: number;
  /** Start even when Redis may evict keys under memory pressure (maxmemory-policy other than noeviction), which loses accepted jobs. */
  allowEvictingRedis: boolean;
  /** Queues to lease from. */
  queues: string[];
  /** Worker threads (the pool's maximum). */
  threads: number;
  /** Threads kept alive when idle; idle threads above it are reaped after idleTimeoutMs. */
  minThreads: number;
  /** Tasks one thread runs at once (raise for processors that wait on I/O). */
  tasksPerThread: number;
  /** Most leased jobs held waiting for a free thread (the supervisor adapts below it). */
  prefetch: number;
  /** Most jobs packed into one thread task when jobs are short (1 disables batching). */
  maxJobsPerTask: number;
  /** Lease length; a supervisor that stops renewing loses its jobs this long after. */
  leaseMs: number;
  /** Interval of lease renewal, reclaiming and the registry heartbeat. */
  heartbeatMs: number;
  /** Time limit per job when neither the job nor its processor sets one (0 = none). */
  jobTimeoutMs: number;
  /** V8 old-generation heap cap per thread; a thread over it fails its job and is replaced. */
  maxMemoryMb: number;
  /** Process RSS at which the thread holding the most memory outside its heap is stopped and its job fails (memory-watch.ts; 0 = off). */
  maxRssMb: number;
  /** Retire a thread after this many jobs (0 = never). */
  maxJobsPerThread: number;
  /** Retire a thread whose heap stays above this after 3 tasks in a row (0 = never). */
  recycleHeapMb: number;
  /** Idle threads above minThreads are stopped after this long. */
  idleTimeoutMs: number;
  /** Fire schedules from this supervisor (any number may: each fire still makes one job). */
  scheduler: boolean;
  /** Schedules declared in the config file, written to Redis at start (docs/scheduling.md). */
  schedules: Schedule[];
  /** Supervisor processes to run under a director (1 = just this process). */
  processes: number;
  /** Plugin modules: file paths or npm package names. */
  plugins: string[];
  /** Longest a plugin's import may take at start (in a worker thread first, so a module that spins can be stopped). */
  pluginImportTimeoutMs: number;
  /** Bound of the whole graceful shutdown; running jobs get it less a reserve for writing (see shutdownBudget). */
  shutdownTimeoutMs: number;
  /** Shut down gracefully when the parent process goes away (npx killed, a director gone). */
  exitWithParent: boolean;
  /** Longest a shared-resource pause may grow to. */
  maxResourcePauseMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** HTTP port for /metrics, /health, /ready, /status (0 = no HTTP endpoint). */
  httpPort: number;
  /** Address the HTTP endpoint binds to. */
  httpHost: string;
  /** Token the HTTP endpoint asks for (dashboard, its actions, /status); required off loopback ('' = none). */
  httpToken: string;
  /** HTTP requests handled at once; more get 503 with Retry-After (probes have a few slots beyond it). */
  httpMaxConcurrent: number;
  /** Serve the web dashboard at / of the HTTP endpoint. */
  dashboard: boolean;
  /** The dashboard shows but never changes anything (actions hidden and refused). */
  dashboardReadOnly: boolean;
  /** Seconds between metrics log lines (0 = none). */
  metricsInterval: number;
  /** Alert when more than this percent of runs fail (0 = off). */
  alertFailurePercent: number;
  /** Alert when a processor's p99 run time passes this many ms (0 = off). */
  alertRunTimeMs: number;
  /** Alert when a queue has more pending jobs than this (0 = off). */
  alertQueueDepth: number;
  /** Alert when a queue's dead-letter set holds more jobs than this (0 = off). */
  alertDlqSize: number;
  /** Destinations fetch, crawl, pdf and http may reach beyond public addresses: hosts, IPs, CIDRs, range names (src/net-guard). */
  allowHosts: string[];
  /** Directories a job's wasm `module` may name a file in (realpath inside one of them); none = only the built-in extractor. */
  wasmModuleDirs: string[];
}

/** The one place supervisor defaults live (threads follow the machine's cores). */
export function defaultConfig(): SupervisorConfig {
  const threads = Math.max(1, availableParallelism());
  return {
    redisUrl: DEFAULT_REDIS_URL,
    redisTlsCa: '',
    redisTlsCert: '',
    redisTlsKey: '',
    redisTlsServerName: '',
    redisSentinelUsername: '',
    redisSentinelPassword: '',
    redisWaitReplicas: 0,
    allowEvictingRedis: false,
    redisWaitTimeoutMs: 1_000,
    queues: ['default'],
    threads,
    minThreads: threads,
    tasksPerThread: 1,
    // The adaptive target (dispatcher.ts) keeps ~5 ms of work buffered; only jobs shorter than
    // ~20 µs reach this cap. At 128 a drain of tiny jobs starved the threads between lease
    // calls; 512 drained 11-20% faster with less CPU per job (docs/performance.md).
    prefetch: 512,
    maxJobsPerTask: 64,
    leaseMs: 30_000,
    heartbeatMs: 5_000,
    jobTimeoutMs: 0,
    maxMemoryMb: 512,
    maxRssMb: defaultMaxRssMb(),
    maxJobsPerThread: 0,
    recycleHeapMb: 0,
    idleTimeoutMs: 30_000,
    scheduler: true,
    schedules: [],
    processes: 1,
    plugins: [],
    pluginImportTimeoutMs: 30_000,
    shutdownTimeoutMs: 30_000,
    exitWithParent: true,
    maxResourcePauseMs: 4 * 3_600_000,
    logLevel: 'info',
    httpPort: 9464,
    httpHost: '127.0.0.1',
    httpToken: '',
    httpMaxConcurrent: 64,
    dashboard: false,
    dashboardReadOnly: false,
    metricsInterval: 60,
    alertFailurePercent: 0,
    alertRunTimeMs: 0,
    alertQueueDepth: 0,
    alertDlqSize: 0,
    allowHosts: [],
    wasmModuleDirs: [],
  };
}

export type ConfigKey = keyof SupervisorConfig;

type Kind = 'int' | 'string' | 'list' | 'level' | 'boolean' | 'json';
interface KeySpec {
  kind: Kind;
  min?: number;
  max?: number;
  /** json kind: validates and normalises the parsed value (throws an error naming the field). */
  check?: (value: unknown) => unknown;
  /** Environment variables, first found wins. */
  env: string[];
  help: string;
  /** Never echoed in messages (passwords). */
  secret?: boolean;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Per key: type, range, environment variables and the help line `--help` shows. */
export const CONFIG_KEYS: Readonly<Record<ConfigKey, KeySpec>> = {
  redisUrl: {
    kind: 'string',
    env: ['TROUPE_REDIS_URL', 'REDIS_URL'],
    help: 'Redis: redis://[USER:PASS@]HOST:PORT[/DB], rediss://… (TLS), redis+cluster://H1:P1,H2:P2 (cluster seeds), redis+sentinel://S1:P1,S2:P2/MASTER',
  },
  redisTlsCa: { kind: 'string', env: ['TROUPE_REDIS_TLS_CA'], help: "PEM file of the CA that signed Redis's certificate (private or self-signed CAs)" },
  redisTlsCert: { kind: 'string', env: ['TROUPE_REDIS_TLS_CERT'], help: 'client certificate (PEM) for mutual TLS; with --redis-tls-key' },
  redisTlsKey: { kind: 'string', env: ['TROUPE_REDIS_TLS_KEY'], help: 'client key (PEM) for mutual TLS; with --redis-tls-cert' },
  redisTlsServerName: { kind: 'string', env: ['TROUPE_REDIS_TLS_SERVER_NAME'], help: "name to check Redis's certificate against when it differs from the URL's host" },
  redisSentinelUsername: { kind: 'string', env: ['TROUPE_REDIS_SENTINEL_USERNAME'], help: "Sentinels' ACL user, when it differs from the data nodes'" },
  redisSentinelPassword: { kind: 'string', env: ['TROUPE_REDIS_SENTINEL_PASSWORD'], help: "Sentinels' password (requirepass of the sentinels), when they have one", secret: true },
  redisWaitReplicas: {
    kind: 'int',
    min: 0,
    max: 16,
    env: ['TROUPE_REDIS_WAIT_REPLICAS'],
    help: 'durability: replicas that must confirm each enqueue and outcome write (Redis WAIT) so a failover loses none; 0 = off',
  },
  redisWaitTimeoutMs: { kind: 'int', min: 1, max: 60_000, env: ['TROUPE_REDIS_WAIT_TIMEOUT_MS'], help: 'longest wait for those replicas per write' },
  allowEvictingRedis: {
    kind: 'boolean',
    env: ['TROUPE_ALLOW_EVICTING_REDIS'],
    help: 'start even though Redis may evict keys when full (a maxmemory-policy other than noeviction): evicted jobs are lost without a trace',
  },
  queues: { kind: 'list', env: ['TROUPE_QUEUES'], help: 'queues to take jobs from, comma-separated' },
  threads: { kind: 'int', min: 1, max: 1024, env: ['TROUPE_THREADS'], help: 'worker threads' },
  minThreads: { kind: 'int', min: 1, max: 1024, env: ['TROUPE_MIN_THREADS'], help: 'threads kept when idle' },
  tasksPerThread: { kind: 'int', min: 1, max: 1000, env: ['TROUPE_TASKS_PER_THREAD'], help: 'tasks a thread runs at once; raise for I/O-bound processors' },
  prefetch: { kind: 'int', min: 0, max: 10_000, env: ['TROUPE_PREFETCH'], help: 'most leased jobs waiting for a thread' },
  maxJobsPerTask: { kind: 'int', min: 1, max: 1000, env: ['TROUPE_MAX_JOBS_PER_TASK'], help: 'most short jobs packed into one thread task' },
  leaseMs: { kind: 'int', min: 1000, max: 3_600_000, env: ['TROUPE_LEASE_MS'], help: 'lease length in ms' },
  heartbeatMs: { kind: 'int', min: 100, max: 600_000, env: ['TROUPE_HEARTBEAT_MS'], help: 'lease renewal and heartbeat interval in ms (under half of --lease-ms)' },
  jobTimeoutMs: { kind: 'int', min: 0, max: 86_400_000, env: ['TROUPE_JOB_TIMEOUT_MS'], help: 'time limit per job when the job and processor set none; 0 = none' },
  maxMemoryMb: { kind: 'int', min: 16, max: 65_536, env: ['TROUPE_MAX_MEMORY_MB'], help: 'heap cap per thread in MiB' },
  maxRssMb: {
    kind: 'int',
    min: 0,
    max: 16_777_216,
    env: ['TROUPE_MAX_RSS_MB'],
    help: 'process RSS in MiB at which the thread holding the most memory outside its heap is stopped and its job fails (THREAD_MEMORY_CAP); 0 = off; default 3/4 of the memory available',
  },
  maxJobsPerThread: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, env: ['TROUPE_MAX_JOBS_PER_THREAD'], help: 'retire a thread after this many jobs; 0 = never' },
  recycleHeapMb: { kind: 'int', min: 0, max: 65_536, env: ['TROUPE_RECYCLE_HEAP_MB'], help: 'retire a thread whose heap stays above this; 0 = never' },
  idleTimeoutMs: { kind: 'int', min: 0, max: 86_400_000, env: ['TROUPE_IDLE_TIMEOUT_MS'], help: 'stop idle threads above --min-threads after this long' },
  scheduler: { kind: 'boolean', env: ['TROUPE_SCHEDULER'], help: 'fire schedules from this supervisor (--no-scheduler to leave it to others); each fire makes one job' },
  schedules: { kind: 'json', env: ['TROUPE_SCHEDULES'], help: 'schedules as a JSON list, usually in the config file (docs/scheduling.md)', check: validateScheduleList },
  processes: { kind: 'int', min: 1, max: 256, env: ['TROUPE_PROCESSES'], help: 'supervisor processes to run under a director' },
  plugins: { kind: 'list', env: ['TROUPE_PLUGINS'], help: 'plugin modules (path or package), repeatable' },
  pluginImportTimeoutMs: {
    kind: 'int',
    min: 100,
    max: 3_600_000,
    env: ['TROUPE_PLUGIN_IMPORT_TIMEOUT_MS'],
    help: 'longest a plugin module may take to import at start; past it the start stops (exit 2) naming the plugin',
  },
  shutdownTimeoutMs: { kind: 'int', min: 0, max: 3_600_000, env: ['TROUPE_SHUTDOWN_TIMEOUT_MS'], help: 'longest graceful shutdown, writes included (at least 1 s); running jobs get it less a quarter (1-5 s); past it, exit 3' },
  exitWithParent: {
    kind: 'boolean',
    env: ['TROUPE_EXIT_WITH_PARENT'],
    help: 'shut down gracefully when the parent process goes away (npx or a director killed); --no-exit-with-parent for nohup-style detaching',
  },
  maxResourcePauseMs: { kind: 'int', min: 1000, max: 7 * 86_400_000, env: ['TROUPE_MAX_RESOURCE_PAUSE_MS'], help: 'cap for a queue pause asked by a processor' },
  logLevel: { kind: 'level', env: ['TROUPE_LOG_LEVEL'], help: `log level: ${LEVELS.join(', ')}` },
  httpPort: { kind: 'int', min: 0, max: 65_535, env: ['TROUPE_HTTP_PORT'], help: 'port for /metrics, /health, /ready, /status; 0 = off; a taken port is logged and skipped' },
  httpHost: { kind: 'string', env: ['TROUPE_HTTP_HOST'], help: 'address the HTTP endpoint binds to; anything but loopback needs --http-token' },
  httpToken: {
    kind: 'string',
    env: ['TROUPE_HTTP_TOKEN'],
    help: 'token (16+ characters) the dashboard, its actions and /status ask for; /metrics, /health, /ready stay open',
    secret: true,
  },
  httpMaxConcurrent: {
    kind: 'int',
    min: 1,
    max: 100_000,
    env: ['TROUPE_HTTP_MAX_CONCURRENT'],
    help: 'HTTP requests handled at once; more get 503 with Retry-After: 1 (/health and /ready keep 4 slots beyond it)',
  },
  dashboard: { kind: 'boolean', env: ['TROUPE_DASHBOARD'], help: 'serve the web dashboard at / of the HTTP endpoint (docs/dashboard.md)' },
  dashboardReadOnly: { kind: 'boolean', env: ['TROUPE_DASHBOARD_READ_ONLY'], help: 'the dashboard only shows: every action hidden and refused' },
  metricsInterval: { kind: 'int', min: 0, max: 86_400, env: ['TROUPE_METRICS_INTERVAL'], help: 'seconds between metrics log lines; 0 = none' },
  alertFailurePercent: { kind: 'int', min: 0, max: 100, env: ['TROUPE_ALERT_FAILURE_PERCENT'], help: 'warn when more than this % of runs fail (last minute); 0 = off' },
  alertRunTimeMs: { kind: 'int', min: 0, max: 86_400_000, env: ['TROUPE_ALERT_RUN_TIME_MS'], help: 'warn when a p99 run time passes this many ms; 0 = off' },
  alertQueueDepth: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, env: ['TROUPE_ALERT_QUEUE_DEPTH'], help: 'warn when a queue has more pending jobs than this; 0 = off' },
  alertDlqSize: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, env: ['TROUPE_ALERT_DLQ_SIZE'], help: 'warn when a dead-letter queue holds more jobs than this; 0 = off' },
  allowHosts: {
    kind: 'list',
    env: ['TROUPE_ALLOW_HOSTS'],
    help: 'what fetch, crawl, pdf and http jobs may reach beyond public addresses: host names (*.svc.cluster.local), IPs, CIDRs, loopback, private, link-local, unique-local, cgnat, metadata, or *',
  },
  wasmModuleDirs: { kind: 'list', env: ['TROUPE_WASM_MODULE_DIRS'], help: "absolute directories a wasm job's data.module may name a file in; none = only the built-in extractor" },
};

export const ConfigErrorCode = { Invalid: 'CONFIG_INVALID' } as const;

/** A setting is wrong (flag, env var, config file); the CLI exits 2. */
export class ConfigError extends CodedError<typeof ConfigErrorCode.Invalid> {
  override name = 'ConfigError';
  constructor(message: string, options?: CodedErrorOptions) {
    super(ConfigErrorCode.Invalid, message, options);
  }
}

export type Source = 'flag' | 'env' | 'file' | 'default';
export interface Layer {
  source: Source;
  /** How the source is named in messages: `--threads`, `TROUPE_THREADS`, `troupe.json`. */
  describe(key: ConfigKey): string;
  values: Partial<Record<string, unknown>>;
}

function coerce(key: ConfigKey, raw: unknown, where: string): unknown {
  const spec = CONFIG_KEYS[key];
  const fail = (what: string): never => {
    const shown = spec.secret ? '(hidden)' : key === 'redisUrl' && typeof raw === 'string' ? JSON.stringify(redactRedisUrl(raw)) : JSON.stringify(raw);
    throw new ConfigError(`${key}: ${what}, got ${shown} (from ${where})`);
  };
  switch (spec.kind) {
    case 'int': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < spec.min! || n > spec.max!) {
        return fail(`must be a whole number from ${spec.min} to ${spec.max}`);
      }
      return n;
    }
    case 'string':
      if (typeof raw !== 'string' || raw.length === 0) return fail('must be a non-empty string');
      return raw;
    case 'list': {
      const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : fail('must be a list (comma-separated in flags and env)');
      const list = (items as unknown[]).map((item) => (typeof item === 'string' ? item.trim() : fail('must contain only strings'))).filter(Boolean);
      if (key === 'queues') {
        if (list.length === 0) fail('needs at least one queue');
        for (const q of list) if (!QUEUE_NAME_PATTERN.test(q as string)) fail(`queue ${JSON.stringify(q)} is not a valid name (letters, digits, _ . : -)`);
      }
      return list;
    }
    case 'level':
      if (!LEVELS.includes(raw as (typeof LEVELS)[number])) return fail(`must be one of ${LEVELS.join(', ')}`);
      return raw;
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      return fail('must be true or false');
    case 'json': {
      // Structured settings (lists of objects): JSON text in flags and env, JSON as is in the file.
      let value = raw;
      if (typeof raw === 'string') {
        try {
          value = JSON.parse(raw) as unknown;
        } catch (err) {
          return fail(`must be JSON (${err instanceof Error ? err.message : String(err)})`);
        }
      }
      if (!spec.check) return value;
      try {
        return spec.check(value);
      } catch (err) {
        // The checker's message already names the field path (schedules[2].cron.minute).
        throw new ConfigError(`${err instanceof Error ? err.message : String(err)} (from ${where})`);
      }
    }
  }
}

export interface ResolvedConfig {
  config: SupervisorConfig;
  /** Where each key's value came from. */
  sources: Record<ConfigKey, Source>;
}

/**
 * Layers are applied lowest precedence first; later layers win (defaults < file < env < flags).
 * Unknown keys and wrong types are refused with the key and where it came from.
 */
export function resolveConfig(layers: Layer[]): ResolvedConfig {
  const config = defaultConfig();
  const sources = Object.fromEntries(Object.keys(config).map((k) => [k, 'default'])) as Record<ConfigKey, Source>;
  const explicitMinThreads = layers.some((l) => l.values.minThreads !== undefined);
  for (const layer of layers) {
    for (const [key, raw] of Object.entries(layer.values)) {
      if (raw === undefined) continue;
      if (!(key in CONFIG_KEYS)) {
        throw new ConfigError(`${key}: unknown setting (from ${layer.describe(key as ConfigKey)}); known settings are ${Object.keys(CONFIG_KEYS).join(', ')}`);
      }
      const k = key as ConfigKey;
      (config as unknown as Record<string, unknown>)[k] = coerce(k, raw, layer.describe(k));
      sources[k] = layer.source;
    }
  }
  if (!explicitMinThreads) config.minThreads = config.threads;
  if (config.minThreads > config.threads) {
    throw new ConfigError(`minThreads: ${config.minThreads} is more than threads (${config.threads}); lower --min-threads or raise --threads`);
  }
  try {
    parseRedisUrl(config.redisUrl);
  } catch (err) {
    if (!(err instanceof RedisUrlError)) throw err;
    const where = layers.findLast((l) => l.values.redisUrl !== undefined)?.describe('redisUrl') ?? 'the default';
    throw new ConfigError(`redisUrl: ${JSON.stringify(redactRedisUrl(config.redisUrl))} ${err.message} (from ${where})`);
  }
  try {
    parseAllowList(config.allowHosts);
  } catch (err) {
    const where = layers.findLast((l) => l.values.allowHosts !== undefined)?.describe('allowHosts') ?? 'the default';
    throw new ConfigError(`${(err as Error).message} (from ${where})`);
  }
  const relative = config.wasmModuleDirs.find((d) => !isAbsolute(d));
  if (relative !== undefined) {
    const where = layers.findLast((l) => l.values.wasmModuleDirs !== undefined)?.describe('wasmModuleDirs') ?? 'the default';
    throw new ConfigError(`wasmModuleDirs: ${JSON.stringify(relative)} must be an absolute directory path, e.g. /srv/troupe/wasm (from ${where})`);
  }
  const exposure = config.httpPort > 0 ? exposureProblem(config.httpHost, config.httpToken) : undefined;
  if (exposure) throw new ConfigError(exposure);
  if (config.dashboard && config.httpPort === 0) {
    throw new ConfigError('dashboard: is served on the HTTP endpoint, which httpPort 0 turns off; set --http-port (e.g. 9464) or leave --dashboard off');
  }
  if (config.heartbeatMs * 2 > config.leaseMs) {
    throw new ConfigError(`heartbeatMs: ${config.heartbeatMs} must be at most half of leaseMs (${config.leaseMs}) so a lease is renewed before it can expire`);
  }
  return { config, sources };
}

/** The environment layer: each key's variables, first found wins. */
export function envLayer(env: NodeJS.ProcessEnv): Layer {
  const values: Partial<Record<string, unknown>> = {};
  const from: Partial<Record<ConfigKey, string>> = {};
  for (const [key, spec] of Object.entries(CONFIG_KEYS) as Array<[ConfigKey, KeySpec]>) {
    const name = spec.env.find((n) => env[n] !== undefined && env[n] !== '');
    if (name) {
      values[key] = env[name];
      from[key] = name;
    }
  }
  return { source: 'env', values, describe: (key) => `environment variable ${from[key] ?? key}` };
}

/** The connection settings of a config as one serialisable spec (for clients, threads and child processes). */
export function connectionSpec(config: SupervisorConfig): RedisConnectionSpec {
  const spec: RedisConnectionSpec = { url: config.redisUrl };
  const tls: NonNullable<RedisConnectionSpec['tls']> = {};
  if (config.redisTlsCa) tls.caFile = config.redisTlsCa;
  if (config.redisTlsCert) tls.certFile = config.redisTlsCert;
  if (config.redisTlsKey) tls.keyFile = config.redisTlsKey;
  if (config.redisTlsServerName) tls.serverName = config.redisTlsServerName;
  if (Object.keys(tls).length > 0) spec.tls = tls;
  if (config.redisSentinelUsername) spec.sentinelUsername = config.redisSentinelUsername;
  if (config.redisSentinelPassword) spec.sentinelPassword = config.redisSentinelPassword;
  if (config.redisWaitReplicas > 0) {
    spec.waitReplicas = config.redisWaitReplicas;
    spec.waitTimeoutMs = config.redisWaitTimeoutMs;
  }
  return spec;
}
