/**
 * The composition root: the one place a Supervisor is put together from its config, for
 * `troupe supervise` and `troupe demo`, `troupe tune`, the benches and the tests. It sits above
 * supervisor/ and scheduler/, so the supervisor never imports the services built on it.
 *
 * config → processor table (built-ins and plugins) → services → `new Supervisor(deps)`.
 */
import { schedulerServices } from '../scheduler/service.js';
import type { SupervisorConfig } from '../supervisor/config.js';
import { observabilityServices } from '../supervisor/http.js';
import type { Logger } from '../supervisor/logger.js';
import { loadProcessorTable, type ProcessorTable } from '../supervisor/processor-table.js';
import type { ServiceFactory } from '../supervisor/service.js';
import { Supervisor, type SupervisorDeps } from '../supervisor/supervisor.js';

/**
 * The services a supervisor runs for a configuration, in start order. Each entry decides from
 * the config whether it is on.
 */
export function servicesFor(config: SupervisorConfig): ServiceFactory[] {
  const services: ServiceFactory[] = [];
  // Metrics first: the HTTP endpoint serves them, and stops (reverse order) before their last flush.
  services.push(...observabilityServices(config));
  services.push(...schedulerServices(config));
  return services;
}

/**
 * The built-in processors plus the config's plugins, resolved against `dir`. Loaded once on the
 * supervisor's thread, so a bad plugin or a name clash stops the start with a clear message.
 */
export function loadProcessors(config: Pick<SupervisorConfig, 'plugins'>, dir: string = process.cwd()): Promise<ProcessorTable> {
  return loadProcessorTable(config.plugins, dir);
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
  return { config, logger: options.logger, processors, services: options.services ?? servicesFor(config) };
}

/** A supervisor built, not started: the caller runs start() and stop(). */
export async function buildSupervisor(config: SupervisorConfig, options: BuildSupervisorOptions): Promise<Supervisor> {
  return new Supervisor(await supervisorDeps(config, options));
}
