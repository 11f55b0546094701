import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { Dashboard, ASSET_PATHS } from '../../dashboard/dashboard.js';
import { dashboardPaths } from '../../dashboard/openapi.js';
import { durabilityOf } from '../../queue/connection.js';
import { CONFIG_KEYS, envLayer, resolveConfig, type ConfigKey, type Layer } from '../../supervisor/config.js';
import { GuardedHttpServer } from '../../supervisor/http-server.js';
import { packageVersion } from '../../supervisor/http.js';
import { createLogger } from '../../supervisor/logger.js';
import { apiDocsHandler, API_DOCS_PATHS } from '../../supervisor/api-docs.js';
import { openApiDocument } from '../../supervisor/openapi.js';
import { fileLayer, flagName, flagsLayer } from '../config-args.js';
import { connectAdmin, resolveRedisConnection, withRedisUrl, type RedisArgs } from '../redis-option.js';

/** `troupe dashboard`'s own port: beside a supervisor's 9464 on the same machine. */
export const DASHBOARD_PORT = 9470;

interface DashboardArgs extends RedisArgs {
  httpHost?: string;
  httpPort?: string;
  httpToken?: string;
  queues?: string[];
  readOnly?: boolean;
  logLevel?: string;
}

/**
 * The settings it shares with the supervisor: same env variables and config-file keys, so one
 * troupe.json serves both (its httpPort too: give the dashboard its own --http-port if a
 * supervisor on this machine uses the same file).
 */
const KEYS = ['httpHost', 'httpPort', 'httpToken', 'queues', 'dashboardReadOnly', 'logLevel'] as const satisfies readonly ConfigKey[];

export function dashboardSettings(argv: DashboardArgs, env: NodeJS.ProcessEnv = process.env) {
  const only = (layer: Layer): Layer => ({ ...layer, values: Object.fromEntries(Object.entries(layer.values).filter(([k]) => (KEYS as readonly string[]).includes(k))) });
  const flags = flagsLayer(argv as Record<string, unknown>);
  if (argv.readOnly !== undefined) flags.values.dashboardReadOnly = argv.readOnly;
  const configPath = argv.config ?? env.TROUPE_CONFIG;
  const layers = [...(configPath ? [fileLayer(configPath)] : []), envLayer(env), flags].map(only);
  const explicitPort = layers.some((l) => l.values.httpPort !== undefined);
  const { config, sources } = resolveConfig(explicitPort ? layers : [...layers, { source: 'default', values: { httpPort: DASHBOARD_PORT }, describe: () => 'the default' }]);
  return {
    host: config.httpHost,
    port: config.httpPort,
    token: config.httpToken,
    // The supervisor's default queue list means nothing here: show every queue unless told.
    queues: sources.queues === 'default' ? [] : config.queues,
    readOnly: config.dashboardReadOnly,
    logLevel: config.logLevel,
  };
}

/** The supervisor's env variable and config key, with a sentence of the dashboard's own. */
const describe = (key: ConfigKey, help: string) => `${help} [env ${CONFIG_KEYS[key].env.join(' or ')}; config "${key}"]`;

export const dashboardCommand: CommandModule<object, DashboardArgs> = {
  command: 'dashboard',
  describe: 'Serve the web dashboard: queues, jobs, dead letters, supervisors, schedules, metrics (docs/dashboard.md)',
  builder: (yargs: Argv) =>
    withRedisUrl(
      yargs
        .option(flagName('httpHost'), { type: 'string', requiresArg: true, describe: describe('httpHost', 'address to bind (default 127.0.0.1); anything but loopback needs --http-token') })
        .option(flagName('httpPort'), { type: 'string', requiresArg: true, describe: describe('httpPort', `port to serve on (default ${DASHBOARD_PORT}); a taken port stops the start`) })
        .option(flagName('httpToken'), { type: 'string', requiresArg: true, describe: describe('httpToken', 'token (16+ characters) every page, action and API call asks for; required off loopback') })
        .option('queues', { type: 'array', string: true, describe: describe('queues', 'queues to show, comma-separated or repeated (default: every queue found in Redis)') })
        .option('read-only', { type: 'boolean', describe: describe('dashboardReadOnly', 'show everything, change nothing: actions hidden and refused') })
        .option(flagName('logLevel'), { type: 'string', requiresArg: true, describe: describe('logLevel', 'log level of the JSON lines on stdout (default info)') }),
    ).example([
      ['$0 dashboard', `http://127.0.0.1:${DASHBOARD_PORT}/ against redis://127.0.0.1:6379`],
      ['$0 dashboard --read-only --queues pdf,mail', 'two queues, no actions'],
      ['TROUPE_HTTP_TOKEN=$(openssl rand -hex 16) $0 dashboard --http-host 0.0.0.0', 'reachable from other machines, behind a token'],
    ]) as unknown as Argv<DashboardArgs>,
  handler: async (argv: ArgumentsCamelCase<DashboardArgs>) => {
    const settings = dashboardSettings(argv);
    const logger = createLogger(settings.logLevel, { service: 'dashboard' });
    const { spec } = resolveRedisConnection(argv);
    const client = await connectAdmin(argv);
    const durability = durabilityOf(spec);
    const dashboard = new Dashboard({ client, queues: settings.queues, readOnly: settings.readOnly, logger, ...(durability ? { durability } : {}) });
    const version = packageVersion();
    const document = () => openApiDocument(version, dashboardPaths(), { standalone: true });
    const server = new GuardedHttpServer({
      what: 'the dashboard',
      host: settings.host,
      port: settings.port,
      token: settings.token,
      logger,
      handlers: [apiDocsHandler(document), dashboard.handler],
      isOpen: (path) => ASSET_PATHS.has(path) || API_DOCS_PATHS.has(path),
      loginPage: (next, problem) => dashboard.loginPage(next, problem),
    });
    try {
      await dashboard.start();
      await server.listen();
    } catch (err) {
      await dashboard.stop();
      client.disconnect();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new Error(`port ${settings.port} on ${settings.host} is taken (a supervisor's endpoint?); give the dashboard its own --http-port`);
      throw err;
    }
    logger.info(
      { url: server.url, queues: settings.queues.length > 0 ? settings.queues : 'every queue found', readOnly: settings.readOnly, token: settings.token ? 'required' : 'none (loopback only)' },
      `dashboard on ${server.url}/`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    logger.info('signal received: closing the dashboard');
    await server.close();
    await dashboard.stop();
    client.disconnect();
  },
};
