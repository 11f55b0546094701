import { spawn, type ChildProcess } from 'node:child_process';
import { connectionSpec, type SupervisorConfig } from './config.js';
import { resolveRedis } from './local-redis.js';
import { routeProcessWarnings, type Logger } from './logger.js';
import { onStopRequests } from './stop-requests.js';
import { EXIT_CONFIGURATION, EXIT_SHUTDOWN_INCOMPLETE } from './exit-codes.js';

/** Set on the children a director starts (to their slot number, from 1), so they run one supervisor each. */
export const DIRECTOR_CHILD_ENV = 'TROUPE_DIRECTOR_CHILD';

/** A child's HTTP port: the configured one shifted by its slot, so N children do not collide. */
export function childHttpPort(httpPort: number, childEnv: string | undefined): number {
  const slot = Number(childEnv) - 1;
  if (httpPort === 0 || !Number.isInteger(slot) || slot < 0) return httpPort;
  return httpPort + slot;
}
const REDIS_URL_ENV = 'TROUPE_REDIS_URL';

const FIRST_RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A child that ran this long is healthy again: its next crash restarts it quickly. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * Runs `processes` supervisors as child processes of this one and restarts a crashed one with
 * growing delays. SIGINT/SIGTERM (or this process's own parent going away) is passed on and the
 * director waits for the children's graceful shutdown; a second signal kills them.
 */
export async function runDirector(config: SupervisorConfig, redisGiven: boolean, logger: Logger): Promise<number> {
  // The children wait for a Redis that does not answer yet, each with its own /health saying so.
  const redis = await resolveRedis(connectionSpec(config), redisGiven, logger, undefined, { waitIfUnreachable: true });
  const log = logger.child({ role: 'director' });
  routeProcessWarnings(log);
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  let removeHandlers = (): void => undefined;
  /** A child whose shutdown gave up (exit 3) makes the director's exit 3 too. */
  let shutdownIncomplete = false;
  /** A child refused its configuration (exit 2): the others are stopped and the director exits 2. */
  let configurationRefused = false;
  let stopAll = (_reason: string): void => undefined;

  const startChild = (slot: number, crashes: number): void => {
    const startedAt = Date.now();
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
      stdio: 'inherit',
      // The slot (0..N-1) tells each child which HTTP port is its own (httpPort + slot).
      env: { ...process.env, [DIRECTOR_CHILD_ENV]: String(slot + 1), [REDIS_URL_ENV]: redis.url },
    });
    children.set(slot, child);
    log.info({ slot, pid: child.pid }, 'supervisor process started');
    child.once('exit', (code, signal) => {
      children.delete(slot);
      if (stopping) {
        if (code === EXIT_SHUTDOWN_INCOMPLETE) shutdownIncomplete = true;
        return;
      }
      const ranMs = Date.now() - startedAt;
      if (code === EXIT_CONFIGURATION) {
        // The child printed why; a restart would meet the same refusal.
        configurationRefused = true;
        log.error({ slot, pid: child.pid, code, ranMs }, 'a supervisor process refused its configuration (exit 2): stopping the others instead of restarting it');
        stopAll('configuration');
        return;
      }
      const streak = ranMs > HEALTHY_AFTER_MS ? 0 : crashes + 1;
      const delay = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** Math.max(0, streak - 1));
      log.error({ slot, pid: child.pid, code, signal, ranMs, restartInMs: delay }, 'supervisor process exited unexpectedly; restarting');
      setTimeout(() => {
        if (!stopping) startChild(slot, streak);
      }, delay);
    });
  };

  for (let slot = 0; slot < config.processes; slot++) startChild(slot, 0);

  await new Promise<void>((resolve) => {
    // The children watch this process as their parent: a director killed with -9 leaves none behind.
    const stopChildren = (reason: string, hard: boolean) => {
      stopping = true;
      log.info({ signal: reason, children: children.size, hard }, hard ? 'second signal: killing supervisors' : 'stopping supervisors gracefully');
      for (const child of children.values()) child.kill(hard ? 'SIGKILL' : 'SIGTERM');
      if (children.size === 0) resolve();
    };
    stopAll = (reason) => {
      if (!stopping) stopChildren(reason, false);
    };
    removeHandlers = onStopRequests(log, { exitWithParent: config.exitWithParent, secondSignalStops: true }, {
      graceful: ({ reason }) => stopChildren(reason, false),
      immediate: ({ reason }) => stopChildren(reason, true),
    });
    const check = setInterval(() => {
      if (stopping && children.size === 0) {
        clearInterval(check);
        resolve();
      }
    }, 50);
  });
  removeHandlers();
  await redis.stop?.();
  log.info({ shutdownIncomplete, configurationRefused }, 'all supervisor processes stopped');
  if (configurationRefused) return EXIT_CONFIGURATION;
  return shutdownIncomplete ? EXIT_SHUTDOWN_INCOMPLETE : 0;
}
