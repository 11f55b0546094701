import { spawn, type ChildProcess } from 'node:child_process';
import { connectionSpec, type SupervisorConfig } from './config.js';
import { resolveRedis } from './local-redis.js';
import type { Logger } from './logger.js';

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
 * growing delays. SIGINT/SIGTERM is passed on and the director waits for the children's
 * graceful shutdown; a second signal kills them.
 */
export async function runDirector(config: SupervisorConfig, redisGiven: boolean, logger: Logger): Promise<number> {
  const redis = await resolveRedis(connectionSpec(config), redisGiven, logger);
  const log = logger.child({ role: 'director' });
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  let signals = 0;

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
      if (stopping) return;
      const ranMs = Date.now() - startedAt;
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
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      stopping = true;
      const hard = signals > 1;
      log.info({ signal, children: children.size, hard }, hard ? 'second signal: killing supervisors' : 'stopping supervisors gracefully');
      for (const child of children.values()) child.kill(hard ? 'SIGKILL' : 'SIGTERM');
      if (children.size === 0) resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const check = setInterval(() => {
      if (stopping && children.size === 0) {
        clearInterval(check);
        resolve();
      }
    }, 50);
  });
  await redis.stop?.();
  log.info('all supervisor processes stopped');
  return 0;
}
