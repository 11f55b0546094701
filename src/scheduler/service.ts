/**
 * The scheduler as a supervisor service: on when --scheduler is (the default). Declares the
 * config file's schedules and the built-in `maintenance` schedule, then runs the loop.
 */
import { MAINTENANCE_PROCESSOR } from '../processors/maintenance.js';
import type { SupervisorConfig } from '../supervisor/config.js';
import type { ServiceContext, ServiceFactory, SupervisorService } from '../supervisor/service.js';
import { Scheduler, type DeclaredSchedule } from './scheduler.js';
import { validateSchedule, type Schedule } from './spec.js';

export const MAINTENANCE_SCHEDULE = 'maintenance';

/**
 * The built-in schedule: maintenance daily at 03:00 UTC on this supervisor's first queue. It is
 * only created when absent, so supervisors serving other queues never fight over it; people
 * change it at run time ("troupe schedule add maintenance --replace ...", "pause maintenance")
 * or declare a schedule named "maintenance" in the config file, which then replaces it.
 */
export function maintenanceSchedule(queue: string): Schedule {
  return validateSchedule({
    name: MAINTENANCE_SCHEDULE,
    daily: '03:00',
    timezone: 'UTC',
    queue,
    processor: MAINTENANCE_PROCESSOR,
    data: {},
    options: { attempts: 2 },
    missed: 'run-once',
  });
}

export function declaredSchedules(config: Pick<SupervisorConfig, 'schedules' | 'queues'>): DeclaredSchedule[] {
  const declared: DeclaredSchedule[] = config.schedules.map((schedule) => ({ schedule, source: 'config', mode: 'sync' }));
  if (!config.schedules.some((s) => s.name === MAINTENANCE_SCHEDULE) && config.queues[0]) {
    declared.push({ schedule: maintenanceSchedule(config.queues[0]), source: 'builtin', mode: 'ensure' });
  }
  return declared;
}

class SchedulerService implements SupervisorService {
  readonly name = 'scheduler';
  private readonly scheduler: Scheduler;

  constructor(context: ServiceContext, declared: DeclaredSchedule[]) {
    this.scheduler = new Scheduler({
      connection: context.redis,
      owner: context.id,
      logger: context.logger.child({ service: 'scheduler' }),
      declared,
    });
  }

  start(): Promise<void> {
    return this.scheduler.start();
  }

  stop(): Promise<void> {
    return this.scheduler.stop();
  }
}

/** The services.ts entry: none when --scheduler is off. */
export function schedulerServices(config: SupervisorConfig): ServiceFactory[] {
  if (!config.scheduler) return [];
  const declared = declaredSchedules(config);
  return [(context) => new SchedulerService(context, declared)];
}
