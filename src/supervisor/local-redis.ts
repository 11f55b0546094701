import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { toSpec, type RedisConnectionSpec } from '../queue/connection.js';
import { probeRedis } from '../queue/redis-probe.js';
import { CodedError, type CodedErrorOptions } from '../errors.js';
import { parseRedisUrl, redactRedisUrl, RedisErrorCode } from '../queue/redis-url.js';
import type { Logger } from './logger.js';
import { makePrivateDir, privateRedisDir, privateRedisSpec, withPassword, writePrivateConf } from './private-redis.js';

export class RedisUnavailableError extends CodedError<typeof RedisErrorCode.Unavailable> {
  override name = 'RedisUnavailableError';
  constructor(message: string, options?: CodedErrorOptions) {
    super(RedisErrorCode.Unavailable, message, options);
  }
}

/** Codes of start-up refusals that waiting cannot mend. */
export const RedisStartErrorCode = { AuthRefused: 'REDIS_AUTH_REFUSED', PermissionRefused: 'REDIS_PERMISSION_REFUSED' } as const;

/**
 * Redis answered and refused the credentials (WRONGPASS, NOAUTH): a configuration error, so the
 * CLI exits 2 at once instead of retrying a password that will not start working.
 */
export class RedisAuthError extends CodedError<typeof RedisStartErrorCode.AuthRefused> {
  override name = 'RedisAuthError';
  constructor(message: string, options?: CodedErrorOptions) {
    super(RedisStartErrorCode.AuthRefused, message, options);
  }
}

/**
 * Redis took the password but its ACL refuses commands (or keys) the supervisor needs (NOPERM): a
 * configuration error, exit 2 at once, naming the commands and the ACL rule that grants them.
 */
export class RedisPermissionError extends CodedError<typeof RedisStartErrorCode.PermissionRefused> {
  override name = 'RedisPermissionError';
  constructor(message: string, options?: CodedErrorOptions) {
    super(RedisStartErrorCode.PermissionRefused, message, options);
  }
}

/**
 * What a failed probe means for a start: `auth` (the password was refused: stop, exit 2),
 * `permission` (the user may not run a command it needs, NOPERM: stop, exit 2),
 * `unreachable` (nothing answers yet, or it is busy: wait and try again) or `lasting` (it
 * answers and is the wrong thing: a Sentinel at redis://, a plain port with rediss://, an
 * unknown master, a certificate: stop, exit 1). Matches Redis's reply codes and Node's error
 * codes in the probe's cause, the only form the probe gives them in.
 */
export function classifyProbeFailure(cause: string): 'auth' | 'permission' | 'unreachable' | 'lasting' {
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password|authentication required/i.test(cause)) return 'auth';
  if (/\bNOPERM\b/.test(cause)) return 'permission';
  // The probe's second look found the protocol mismatch behind a reset or a timeout.
  if (/completes a TLS handshake|answers plain-text Redis/i.test(cause)) return 'lasting';
  if (/ECONNREFUSED|ETIMEDOUT|timed out|ECONNRESET|ECONNABORTED|EPIPE|connection is closed|socket hang up|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|cluster_state:/i.test(cause)) {
    return 'unreachable';
  }
  return 'lasting';
}

/** The error a start stops with when waiting cannot help (see classifyProbeFailure). */
export function startRefusal(probe: { error: string; cause: string }, url: string): Error {
  // The probe's message already names the commands and the rule that grants them.
  if (classifyProbeFailure(probe.cause) === 'permission') {
    return new RedisPermissionError(probe.error);
  }
  // The probe names a sentinel's own refusal "sentinel HOST:PORT: …"; its password is another setting.
  if (classifyProbeFailure(probe.cause) === 'auth' && /^sentinel /.test(probe.cause)) {
    return new RedisAuthError(
      `a Sentinel of ${redactRedisUrl(url)} refused the password (${probe.cause.trim()}): give the sentinels' own password with --redis-sentinel-password ` +
        'or TROUPE_REDIS_SENTINEL_PASSWORD (the one in the URL is the data nodes\')',
    );
  }
  if (classifyProbeFailure(probe.cause) === 'auth' && /NOAUTH|authentication required/i.test(probe.cause)) {
    return new RedisAuthError(
      `Redis at ${redactRedisUrl(url)} requires a password and none was given (${probe.cause.trim()}): add :PASSWORD@ (or USER:PASSWORD@ for an ACL user) ` +
        'to --redis-url, TROUPE_REDIS_URL or REDIS_URL',
    );
  }
  if (classifyProbeFailure(probe.cause) === 'auth') {
    return new RedisAuthError(
      `Redis at ${redactRedisUrl(url)} refused the password (${probe.cause.trim()}): fix USER:PASSWORD@ in --redis-url, TROUPE_REDIS_URL or REDIS_URL ` +
        '(percent-encode @ : / in the password; for ACL users check `ACL LIST` on the server)',
    );
  }
  return new RedisUnavailableError(`${probe.error} (set with --redis-url, TROUPE_REDIS_URL or REDIS_URL)`);
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
  /** False when the Redis did not answer yet and the caller asked to wait for it (see resolveRedis). */
  reachable: boolean;
}

const INSTALL_HINT =
  'install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) so troupe can start one, ' +
  'or point to a running one with --redis-url, TROUPE_REDIS_URL or REDIS_URL';

/**
 * Where the supervisor's Redis is. A URL the user gave is used as is. With none, the default
 * 127.0.0.1:6379 is used if it answers (or, if it asks for a password, with the password of
 * ./.troupe/redis: the private server of another troupe process here); otherwise a private
 * redis-server from PATH is started on that port, with its data (AOF), config and generated
 * password in ./.troupe/redis (private-redis.ts), and the returned URL carries the password.
 *
 * A Redis that does not answer yet is an error, unless `waitIfUnreachable`: then the target is
 * returned with `reachable: false` and the supervisor waits for it (Supervisor.start). A refused
 * password or a wrong kind of server is an error either way (startRefusal).
 */
export async function resolveRedis(
  target: string | RedisConnectionSpec,
  given: boolean,
  logger: Logger,
  dataDir = privateRedisDir(),
  options: { waitIfUnreachable?: boolean } = {},
): Promise<RedisTarget> {
  const spec = toSpec(target);
  const url = spec.url;
  // A supervisor runs on what this returns: its user must be allowed every command it sends.
  const probe = await probeRedis(spec, undefined, undefined, { supervisorCommands: true });
  if (probe.ok) return { url, reachable: true };
  // Only the default plain URL may be stood up locally; a cluster, sentinel or TLS target is the operator's.
  const parsed = parseRedisUrl(url);
  const localForm = !given && parsed.topology === 'standalone' && !parsed.tls;
  const failure = classifyProbeFailure(probe.cause);
  // The default port asks for a password: the private server another troupe process started in this folder?
  const ours = localForm && failure === 'auth' ? privateRedisSpec(spec, dataDir) : undefined;
  if (ours && (await probeRedis(ours)).ok) {
    logger.info({ url: redactRedisUrl(ours.url), dataDir }, 'using the private redis-server of this folder, started by another troupe process');
    return { url: ours.url, reachable: true };
  }
  if (!localForm || failure !== 'unreachable') {
    if (options.waitIfUnreachable && failure === 'unreachable') return { url, reachable: false };
    throw startRefusal(probe, url);
  }
  return startPrivateRedis(url, dataDir, logger);
}

/** Starts redis-server on the URL's port, bound to loopback, with its data, config and password in dataDir (private-redis.ts). */
async function startPrivateRedis(plainUrl: string, dataDir: string, logger: Logger): Promise<RedisTarget> {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new RedisUnavailableError(`no Redis answers at ${redactRedisUrl(plainUrl)} and redis-server is not on PATH: ${INSTALL_HINT}`);
  }
  const port = new URL(plainUrl).port || '6379';
  makePrivateDir(dataDir);
  const { confFile, password } = writePrivateConf(dataDir);
  const url = withPassword(plainUrl, password);
  const logFile = join(dataDir, 'redis.log');
  const args = [confFile, '--port', port, '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--save', '', '--logfile', logFile];
  // Under umask 077 the AOF and the log it writes are the user's alone, whatever this process's umask.
  const child = spawn('/bin/sh', ['-c', 'umask 077 && exec redis-server "$@"', 'redis-server', ...args], { stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if ((await redisAnswers(url, 500)).ok) {
      logger.info({ url: redactRedisUrl(url), dataDir, logFile, pid: child.pid }, 'no Redis was running: started a private redis-server (data kept in AOF, password in its folder)');
      return {
        url,
        reachable: true,
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
