import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { configFromArgs, withConfigFlags } from '../config-args.js';
import { EXIT_OK, EXIT_RUNTIME } from '../exit.js';
import { connectionSpec, type SupervisorConfig } from '../../supervisor/config.js';
import { childHttpPort, DIRECTOR_CHILD_ENV, runDirector } from '../../supervisor/director.js';
import { resolveRedis } from '../../supervisor/local-redis.js';
import { createLogger, type Logger } from '../../supervisor/logger.js';
import type { Supervisor } from '../../supervisor/supervisor.js';
import { buildSupervisor, loadProcessors } from '../../runtime/build-supervisor.js';

/**
 * Runs one supervisor until SIGINT/SIGTERM. The first signal shuts down gracefully (see
 * Supervisor.stop); a second one exits at once, leaving leases to expire and be reclaimed.
 */
export async function runSupervisor(config: SupervisorConfig, redisGiven: boolean, logger: Logger, onStarted?: (s: Supervisor) => Promise<void>): Promise<number> {
  // Plugins first: a bad one stops the start before a private redis-server is started.
  const processors = await loadProcessors(config);
  const redis = await resolveRedis(connectionSpec(config), redisGiven, logger);
  const supervisor = await buildSupervisor({ ...config, redisUrl: redis.url }, { logger, processors });
  let signals = 0;
  const done = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now; held jobs return to the queue when their leases expire');
        process.exit(EXIT_RUNTIME);
      }
      logger.info({ signal }, 'signal received: shutting down gracefully (send it again to exit at once)');
      supervisor.stop().then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  try {
    await supervisor.start();
    if (onStarted) {
      await onStarted(supervisor);
      await supervisor.stop();
    } else {
      await done;
    }
  } finally {
    await redis.stop?.();
  }
  return EXIT_OK;
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
    }
    process.exitCode = config.processes > 1 ? await runDirector(config, redisGiven, logger) : await runSupervisor(config, redisGiven, logger);
  },
};
