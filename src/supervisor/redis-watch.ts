import type { RedisClient, RedisConnectionSpec } from '../queue/connection.js';
import { ErrorBackoff } from '../queue/backoff.js';
import { probeRedis } from '../queue/redis-probe.js';
import { classifyProbeFailure, startRefusal } from './local-redis.js';
import type { Logger } from './logger.js';

/** Waiting for Redis at start: the first retry after this, doubling up to WAIT_MAX_MS. */
const WAIT_FIRST_MS = 500;
const WAIT_MAX_MS = 30_000;
/** How long one start-up probe may take. */
const PROBE_TIMEOUT_MS = 1_500;
/** Running: a PING is sent this often, and Redis counts as not answering once one waits longer than STALL_MS (long enough for a big lease reply ahead of it on the connection). */
const POLL_MS = 1_000;
const STALL_MS = 5_000;

/** What /health says about Redis when it is not answering (see health.ts). */
export interface RedisReachability {
  reachable: boolean;
  /** Since when it has not answered (ms epoch), while it does not. */
  since?: number;
  /** The last cause seen, in one sentence. */
  cause?: string;
  /** Still waiting for the first answer (start-up), rather than an outage mid-run. */
  starting: boolean;
  /** Start-up only: when the next attempt is due. */
  nextAttemptAt?: number;
}

const watches = new WeakMap<RedisClient, RedisWatch>();

/** The watch on a supervisor's connection, if it has one (health.ts reads it). */
export function redisWatchOf(client: RedisClient): RedisWatch | undefined {
  return watches.get(client);
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/**
 * Says once when Redis stops answering and once when it is back, with the outage's length, and
 * holds that state for /health. A closed connection shows in its status; a blackhole (packets
 * dropped, the connection still "ready") only in a PING that gets no answer, so one PING is kept
 * going, never two at once. At start it also waits for the first answer (waitUntilReachable).
 */
export class RedisWatch {
  private state: RedisReachability = { reachable: false, starting: true };
  private timer: NodeJS.Timeout | undefined;
  private ping: { sentAt: number } | undefined;
  private lastError: string | undefined;
  private readonly onError = (err: Error) => {
    this.lastError = err.message;
  };

  constructor(
    private readonly client: RedisClient,
    private readonly logger: Logger,
  ) {
    watches.set(client, this);
  }

  get reachability(): RedisReachability {
    return { ...this.state };
  }

  /**
   * Probes until Redis answers: back-off from 0.5 s doubling to 30 s; one warning for each new
   * cause, one line when it answers after a wait. Throws when waiting cannot help (a refused
   * password, an ACL that refuses a command the supervisor sends, the wrong kind of server:
   * startRefusal). False if `signal` ended the wait.
   */
  async waitUntilReachable(spec: RedisConnectionSpec, signal: AbortSignal): Promise<boolean> {
    const backoff = new ErrorBackoff(WAIT_FIRST_MS, WAIT_MAX_MS);
    let reported: string | undefined;
    for (;;) {
      if (signal.aborted) return false;
      const probe = await probeRedis(spec, PROBE_TIMEOUT_MS, undefined, { supervisorCommands: true });
      if (signal.aborted) return false;
      if (probe.ok) {
        if (this.state.since !== undefined) this.logger.info({ waitedMs: Date.now() - this.state.since }, `Redis reached after waiting ${seconds(Date.now() - this.state.since)} s; starting`);
        this.state = { reachable: true, starting: false };
        return true;
      }
      if (classifyProbeFailure(probe.cause) !== 'unreachable') throw startRefusal(probe, spec.url);
      const delay = backoff.next();
      this.state = { reachable: false, starting: true, since: this.state.since ?? Date.now(), cause: probe.error, nextAttemptAt: Date.now() + delay };
      if (probe.cause !== reported) {
        reported = probe.cause;
        this.logger.warn({ retryInMs: delay, maxRetryMs: WAIT_MAX_MS }, `${probe.error}; waiting for it (retries back off to ${WAIT_MAX_MS / 1000} s; /health and /ready answer 503 meanwhile)`);
      } else {
        this.logger.debug({ retryInMs: delay }, 'Redis still not reachable; retrying');
      }
      await abortableSleep(delay, signal);
    }
  }

  /** Watches the open connection from now on. */
  start(): void {
    this.client.on('error', this.onError);
    this.timer = setInterval(() => this.tick(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.client.off('error', this.onError);
  }

  private tick(): void {
    const now = Date.now();
    if (this.client.status !== 'ready') {
      this.down(now, `the connection is ${this.client.status}${this.lastError ? ` (${this.lastError})` : ''}`);
      return;
    }
    if (this.ping) {
      if (now - this.ping.sentAt > STALL_MS) this.down(this.ping.sentAt, `no answer to PING for ${seconds(now - this.ping.sentAt)} s`);
      return;
    }
    const ping = { sentAt: now };
    this.ping = ping;
    this.client.ping().then(
      () => {
        this.ping = undefined;
        this.up();
      },
      (err: unknown) => {
        this.ping = undefined;
        this.down(ping.sentAt, `PING failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  private down(since: number, cause: string): void {
    if (!this.state.reachable) {
      this.state.cause = cause;
      return;
    }
    this.state = { reachable: false, starting: false, since, cause };
    this.logger.warn({ since: new Date(since).toISOString(), cause }, `Redis stopped answering: ${cause}; running jobs carry on, their outcomes are written once it is back`);
  }

  private up(): void {
    if (this.state.reachable) return;
    const since = this.state.since ?? Date.now();
    const outageMs = Date.now() - since;
    this.state = { reachable: true, starting: false };
    this.logger.info({ outageMs }, `Redis reconnected after an outage of ${seconds(outageMs)} s`);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
