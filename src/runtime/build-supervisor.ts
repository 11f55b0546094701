/**
 * The composition root: the one place a Supervisor is put together from its config, for
 * `troupe supervise` and `troupe demo`, `troupe tune`, the benches and the tests. It sits above
 * supervisor/ and scheduler/, so the supervisor never imports the services built on it.
 *
 * config → processor table (built-ins and plugins) → services → `new Supervisor(deps)`.
 */
import { durabilityOf } from '../queue/connection.js';
import { connectionSpec, type SupervisorConfig } from '../supervisor/config.js';
import { observabilityServices } from '../supervisor/http.js';
import type { Logger } from '../supervisor/logger.js';
import { loadProcessorTable, type ProcessorTable } from '../supervisor/processor-table.js';
import type { ServiceContext, ServiceFactory } from '../supervisor/service.js';
import { Supervisor, type SupervisorDeps } from '../supervisor/supervisor.js';

/**
 * The services a supervisor runs for a configuration, in start order. Each entry decides from
 * the config whether it is on. The dashboard and the scheduler are imported only when they are
 * on: a supervisor keeps what it imported in memory for as long as it runs.
 */
export async function servicesFor(config: SupervisorConfig): Promise<ServiceFactory[]> {
  const services: ServiceFactory[] = [];
  // Metrics first: the HTTP endpoint serves them, and stops (reverse order) before their last flush.
  // --dashboard: the dashboard's pages and API on the same endpoint, over the supervisor's connection.
  const durability = durabilityOf(connectionSpec(config));
  const Dashboard = config.dashboard ? (await import('../dashboard/dashboard.js')).Dashboard : undefined;
  const dashboard = Dashboard
    ? (ctx: ServiceContext) => new Dashboard({ client: ctx.redis, queues: [], readOnly: config.dashboardReadOnly, logger: ctx.logger, ready: () => ctx.redis.status === 'ready', ...(durability ? { durability } : {}) }).extension()
    : undefined;
  services.push(...observabilityServices(config, dashboard));
  if (config.scheduler) services.push(...(await import('../scheduler/service.js')).schedulerServices(config));
  return services;
}

/**
 * The built-in processors plus the config's plugins, resolved against `dir`. Loaded once on the
 * supervisor's thread, so a bad plugin or a name clash stops the start with a clear message.
 */
export function loadProcessors(config: Pick<SupervisorConfig, 'plugins' | 'pluginImportTimeoutMs'>, dir: string = process.cwd()): Promise<ProcessorTable> {
  return loadProcessorTable(config.plugins, dir, config.pluginImportTimeoutMs);
}

export interface BuildSupervisorOptions {
  logger: Logger;
  /**
   * Already loaded (see loadProcessors): `troupe supervise` loads them before it decides on a
   * Redis, `troupe tune` once for every supervisor of its sweep. Default: loaded here.
   */
  processors?: ProcessorTable;
  /** Where plugin paths resolve when the processors are loaded here. Default: the working directory. */
  pluginDir?: string;
  /** Default: servicesFor(config). `troupe tune` passes none. */
  services?: readonly ServiceFactory[];
}

/** What `new Supervisor()` takes, from a config and the options above. */
export async function supervisorDeps(config: SupervisorConfig, options: BuildSupervisorOptions): Promise<SupervisorDeps> {
  const processors = options.processors ?? (await loadProcessors(config, options.pluginDir));
  return { config, logger: options.logger, processors, services: options.services ?? (await servicesFor(config)) };
}

/** A supervisor built, not started: the caller runs start() and stop(). */
export async function buildSupervisor(config: SupervisorConfig, options: BuildSupervisorOptions): Promise<Supervisor> {
  return new Supervisor(await supervisorDeps(config, options));
}
