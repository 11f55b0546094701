/**
 * The scheduler as a supervisor service: on when --scheduler is (the default). Declares the
 * config file's schedules and the built-in `maintenance` schedule, then runs the loop.
 */
import { MAINTENANCE_PROCESSOR } from '../processors/maintenance.js';
import type { SupervisorConfig } from '../supervisor/config.js';
import type { ServiceContext, ServiceFactory, SupervisorService } from '../supervisor/service.js';
import { Scheduler, type DeclaredSchedule } from './scheduler.js';
import { ANY_QUEUE, validateSchedule, type Schedule } from './spec.js';

export const MAINTENANCE_SCHEDULE = 'maintenance';

/**
 * The built-in schedule: maintenance daily at 03:00 UTC, on any queue (ANY_QUEUE): each fire
 * goes to the first queue of the supervisor that claims it, and the job sweeps every queue, so
 * it runs whichever supervisors are up and whatever queue the first one served. Every supervisor
 * declares the same definition ('ensure' replaces only a built-in one, e.g. an older version's
 * bound to one queue); people change it at run time ("troupe schedule add maintenance --replace
 * ...", "pause maintenance") or declare a schedule named "maintenance" in the config file, and
 * either is then left alone.
 */
export function maintenanceSchedule(): Schedule {
  return validateSchedule({
    name: MAINTENANCE_SCHEDULE,
    daily: '03:00',
    timezone: 'UTC',
    queue: ANY_QUEUE,
    processor: MAINTENANCE_PROCESSOR,
    data: {},
    options: { attempts: 2 },
    missed: 'run-once',
  });
}

export function declaredSchedules(config: Pick<SupervisorConfig, 'schedules'>): DeclaredSchedule[] {
  const declared: DeclaredSchedule[] = config.schedules.map((schedule) => ({ schedule, source: 'config', mode: 'sync' }));
  if (!config.schedules.some((s) => s.name === MAINTENANCE_SCHEDULE)) {
    declared.push({ schedule: maintenanceSchedule(), source: 'builtin', mode: 'ensure' });
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
      queues: context.config.queues,
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
