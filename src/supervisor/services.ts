import type { SupervisorConfig } from './config.js';
import { observabilityServices } from './http.js';
import type { ServiceFactory } from './service.js';
import { schedulerServices } from '../scheduler/service.js';

/**
 * The services a supervisor runs for a configuration, in start order. Each entry decides from
 * the config whether it is on.
 */
export function servicesFor(config: SupervisorConfig): ServiceFactory[] {
  const services: ServiceFactory[] = [];
  void config;
  // Metrics first: the HTTP endpoint serves them, and stops (reverse order) before their last flush.
  services.push(...observabilityServices(config));
  services.push(...schedulerServices(config));
  return services;
}
