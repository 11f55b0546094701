import type { SupervisorConfig } from './config.js';
import type { ServiceFactory } from './service.js';

/**
 * The services a supervisor runs for a configuration, in start order. Each entry decides from
 * the config whether it is on.
 */
export function servicesFor(config: SupervisorConfig): ServiceFactory[] {
  const services: ServiceFactory[] = [];
  void config;
  return services;
}
