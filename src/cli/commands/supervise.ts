import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { configFromArgs, withConfigFlags } from '../config-args.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_SHUTDOWN_INCOMPLETE } from '../exit.js';
import { connectionSpec, type SupervisorConfig } from '../../supervisor/config.js';
import { childHttpPort, DIRECTOR_CHILD_ENV, runDirector } from '../../supervisor/director.js';
import { resolveRedis } from '../../supervisor/local-redis.js';
import { createLogger, routeProcessWarnings, type Logger } from '../../supervisor/logger.js';
import type { Supervisor } from '../../supervisor/supervisor.js';
import { buildSupervisor, loadProcessors } from '../../runtime/build-supervisor.js';
import { onStopRequests } from '../../supervisor/stop-requests.js';

/**
 * Runs one supervisor until it is asked to stop: SIGINT, SIGTERM, or its parent process going
 * away (`npx` killed: see parent-watch.ts). The first request shuts down gracefully (see
 * Supervisor.stop); a second signal exits at once, leaving leases to expire and be reclaimed.
 */
export async function runSupervisor(
  config: SupervisorConfig,
  redisGiven: boolean,
  logger: Logger,
  onStarted?: (s: Supervisor) => Promise<void>,
  /** Where a private redis-server keeps its folder (default ./.troupe/redis). */
  privateRedisDir?: string,
): Promise<number> {
  // Warnings join the JSON log instead of printing raw lines beside it.
  const restoreWarnings = routeProcessWarnings(logger);
  try {
    return await superviseUntilStopped(config, redisGiven, logger, onStarted, privateRedisDir);
  } finally {
    restoreWarnings();
  }
}

async function superviseUntilStopped(config: SupervisorConfig, redisGiven: boolean, logger: Logger, onStarted?: (s: Supervisor) => Promise<void>, privateRedisDir?: string): Promise<number> {
  // Plugins first: a bad one stops the start before a private redis-server is started.
  const processors = await loadProcessors(config);
  // A Redis that does not answer yet is waited for by Supervisor.start, with /health saying so.
  const redis = await resolveRedis(connectionSpec(config), redisGiven, logger, privateRedisDir, { waitIfUnreachable: true });
  const supervisor = await buildSupervisor({ ...config, redisUrl: redis.url }, { logger, processors });
  let stopAsked = false;
  let askStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => (askStop = resolve));
  // A director's child takes one request only: its director forwards signals and escalates.
  const directed = process.env[DIRECTOR_CHILD_ENV] !== undefined;
  const removeHandlers = onStopRequests(logger, { exitWithParent: config.exitWithParent, secondSignalStops: !directed }, {
    graceful: ({ reason }) => {
      if (reason !== 'parent') logger.info({ signal: reason }, 'signal received: shutting down gracefully (send it again to exit at once)');
      stopAsked = true;
      askStop();
    },
    immediate: ({ reason }) => {
      logger.warn({ signal: reason }, 'second signal: exiting now; held jobs return to the queue when their leases expire');
      process.exit(EXIT_RUNTIME);
    },
  });
  try {
    const started = supervisor.start();
    try {
      // A stop asked for while starting (waiting for Redis) does not wait for the start: stop() ends it.
      await Promise.race([started, stopRequested]);
      if (!stopAsked) await Promise.race([onStarted ? onStarted(supervisor) : stopRequested, stopRequested]);
    } catch (err) {
      await supervisor.stop();
      throw err;
    }
    const report = await supervisor.stop();
    // stop() waited for the start up to --shutdown-timeout-ms and then ended it (closing its
    // connection), so a start still under way rejects or never settles: neither is news, and
    // waiting on it here would keep the process alive after the shutdown ended.
    started.catch(() => undefined);
    return report.complete ? EXIT_OK : EXIT_SHUTDOWN_INCOMPLETE;
  } finally {
    removeHandlers();
    await redis.stop?.();
  }
}

interface SuperviseArgs {
  config?: string;
}

export const superviseCommand: CommandModule<object, SuperviseArgs> = {
  command: 'supervise',
  describe: 'Run a supervisor: lease jobs from Redis and run them on worker threads',
  builder: (yargs: Argv) =>
    withConfigFlags(yargs).example([
      ['$0 supervise', 'queue "default", one thread per core, Redis on 127.0.0.1:6379 (started if absent)'],
      ['$0 supervise --queues pdf,mail --threads 4 --plugin ./my-processor.mjs', 'two queues, four threads, a plugin'],
      ['TROUPE_REDIS_URL=rediss://user:pass@host:6380 $0 supervise --config troupe.json', 'settings from env and a file'],
    ]) as Argv<SuperviseArgs>,
  handler: async (argv: ArgumentsCamelCase<SuperviseArgs>) => {
    const { config, sources } = configFromArgs(argv as Record<string, unknown>);
    const logger = createLogger(config.logLevel);
    const redisGiven = sources.redisUrl !== 'default';
    // A director's child runs one supervisor, against the Redis the director chose.
    if (process.env[DIRECTOR_CHILD_ENV]) {
      config.processes = 1;
      config.httpPort = childHttpPort(config.httpPort, process.env[DIRECTOR_CHILD_ENV]);
      // A child must not outlive its director, whatever the director was told about its own parent.
      config.exitWithParent = true;
    }
    const code = config.processes > 1 ? await runDirector(config, redisGiven, logger) : await runSupervisor(config, redisGiven, logger);
    // A shutdown that gave up may leave calls waiting on the Redis that stopped answering: exit now.
    if (code === EXIT_SHUTDOWN_INCOMPLETE) process.exit(code);
    process.exitCode = code;
  },
};
