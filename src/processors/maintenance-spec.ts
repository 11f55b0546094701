/**
 * What the supervisor and a thread's validate() step need of `maintenance`: its name, limits and
 * input check. The sweeps and their Redis scripts are in maintenance.ts, loaded on a thread's
 * first maintenance job (see lazy.ts).
 */
import { QUEUE_NAME_PATTERN } from '../queue/keys.js';
import type { ProcessorSpec } from './lazy.js';
import type { MaintenanceInput, MaintenanceReport } from './maintenance.js';

export const MAINTENANCE_PROCESSOR = 'maintenance';

export function validateMaintenance(input: unknown): string | undefined {
  if (input === null || input === undefined) return undefined;
  if (typeof input !== 'object' || Array.isArray(input)) return `maintenance: data must be an object like { "dryRun": true }, got ${JSON.stringify(input)}`;
  const data = input as Record<string, unknown>;
  for (const key of Object.keys(data)) {
    if (!['queues', 'supervisorGoneMs', 'dryRun'].includes(key)) return `maintenance: data.${key} is not a setting; use queues, supervisorGoneMs or dryRun`;
  }
  if (data.queues !== undefined && !(Array.isArray(data.queues) && data.queues.every((q) => typeof q === 'string' && QUEUE_NAME_PATTERN.test(q)))) {
    return `maintenance: data.queues must be a list of queue names, got ${JSON.stringify(data.queues)}`;
  }
  const gone = data.supervisorGoneMs;
  if (gone !== undefined && (typeof gone !== 'number' || !Number.isInteger(gone) || gone < 60_000)) {
    return `maintenance: data.supervisorGoneMs must be a whole number of ms, at least 60000, got ${JSON.stringify(gone)}`;
  }
  if (data.dryRun !== undefined && typeof data.dryRun !== 'boolean') return `maintenance: data.dryRun must be true or false, got ${JSON.stringify(data.dryRun)}`;
  return undefined;
}

export const MAINTENANCE_SPEC: ProcessorSpec<MaintenanceInput | null, MaintenanceReport> = {
  name: MAINTENANCE_PROCESSOR,
  description: '{ queues?, supervisorGoneMs?, dryRun? }: removes finished jobs past retention, stale dedupe entries and long-gone supervisors; reports counts',
  timeoutMs: 30 * 60_000,
  validate: validateMaintenance,
};
