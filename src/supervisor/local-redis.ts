import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import { redactUrl } from './redact.js';

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
  readonly code = 'REDIS_UNAVAILABLE';
}

/** True when something answers PING at `url` within timeoutMs. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<{ ok: boolean; error?: string }> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // The 'error' event carries the cause (ECONNREFUSED, ENOTFOUND, auth); connect() itself often
  // only says "Connection is closed.", so keep the first cause for the message.
  let cause: string | undefined;
  client.on('error', (err: Error) => {
    cause ??= err.message;
  });
  try {
    await client.connect();
    await client.ping();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: cause ?? (err instanceof Error ? err.message : String(err)) };
  } finally {
    client.disconnect();
  }
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
export async function resolveRedis(url: string, given: boolean, logger: Logger, dataDir = resolve('.troupe', 'redis')): Promise<RedisTarget> {
  const probe = await redisAnswers(url);
  if (probe.ok) return { url };
  if (given) {
    throw new RedisUnavailableError(`cannot reach Redis at ${redactUrl(url)}: ${probe.error}; check the URL (--redis-url, TROUPE_REDIS_URL, REDIS_URL) and that the server is running`);
  }
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new RedisUnavailableError(`no Redis answers at ${redactUrl(url)} and redis-server is not on PATH: ${INSTALL_HINT}`);
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
      logger.info({ url, dataDir, logFile, pid: child.pid }, 'no Redis was running: started a private redis-server (data kept in AOF)');
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
