import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toSpec, type RedisConnectionSpec } from '../queue/connection.js';
import { probeRedis } from '../queue/redis-probe.js';
import { CodedError, type CodedErrorOptions } from '../errors.js';
import { parseRedisUrl, redactRedisUrl, RedisErrorCode } from '../queue/redis-url.js';
import type { Logger } from './logger.js';

export class RedisUnavailableError extends CodedError<typeof RedisErrorCode.Unavailable> {
  override name = 'RedisUnavailableError';
  constructor(message: string, options?: CodedErrorOptions) {
    super(RedisErrorCode.Unavailable, message, options);
  }
}

/** True when the Redis the URL or spec names can be used within timeoutMs; else the reason and fix. */
export async function redisAnswers(target: string | RedisConnectionSpec, timeoutMs = 1500): Promise<{ ok: boolean; error?: string }> {
  const probe = await probeRedis(target, timeoutMs);
  return probe.ok ? { ok: true } : { ok: false, error: probe.error };
}

export interface RedisTarget {
  url: string;
  /** Set when we started a private redis-server: stop it when done. */
  stop?: () => Promise<void>;
}

const INSTALL_HINT =
  'install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) so troupe can start one, ' +
  'or point to a running one with --redis-url, TROUPE_REDIS_URL or REDIS_URL';

/**
 * Where the supervisor's Redis is. A URL the user gave is used as is (and must answer). With
 * none, the default 127.0.0.1:6379 is used if it answers; otherwise a private redis-server
 * from PATH is started on that port with its data (AOF) under ./.troupe/redis.
 */
export async function resolveRedis(target: string | RedisConnectionSpec, given: boolean, logger: Logger, dataDir = resolve('.troupe', 'redis')): Promise<RedisTarget> {
  const spec = toSpec(target);
  const url = spec.url;
  const probe = await probeRedis(spec);
  if (probe.ok) return { url };
  // Only the default plain URL may be stood up locally; a cluster, sentinel or TLS target is the operator's.
  const parsed = parseRedisUrl(url);
  const local = !given && parsed.topology === 'standalone' && !parsed.tls;
  if (!local) {
    throw new RedisUnavailableError(`${probe.error} (set with --redis-url, TROUPE_REDIS_URL or REDIS_URL)`);
  }
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new RedisUnavailableError(`no Redis answers at ${redactRedisUrl(url)} and redis-server is not on PATH: ${INSTALL_HINT}`);
  }
  const port = new URL(url).port || '6379';
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(dataDir, 'redis.log');
  const child = spawn(
    'redis-server',
    ['--port', port, '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--save', '', '--logfile', logFile],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if ((await redisAnswers(url, 500)).ok) {
      logger.info({ url: redactRedisUrl(url), dataDir, logFile, pid: child.pid }, 'no Redis was running: started a private redis-server (data kept in AOF)');
      return {
        url,
        stop: async () => {
          if (child.exitCode !== null) return;
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new RedisUnavailableError(`started redis-server on port ${port} but it did not answer (see ${logFile}); ${INSTALL_HINT}`);
}
