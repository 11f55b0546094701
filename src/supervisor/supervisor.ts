import { createRedis, durabilityOf, type RedisClient, type RedisConnectionSpec } from '../queue/connection.js';
import { QueueConsumer } from '../queue/consumer.js';
import type { ThreadEvent } from '../threads/protocol.js';
import { Acker } from './acker.js';
import { connectionSpec, type SupervisorConfig } from './config.js';
import { Dispatcher } from './dispatcher.js';
import { FollowUpEnqueuer } from './follow-ups.js';
import { LeaseLoop } from './lease-loop.js';
import type { Logger } from './logger.js';
import { Outcomes } from './outcomes.js';
import { ThreadPool } from './pool.js';
import { Reclaimer } from './reclaimer.js';
import { newSupervisorId, Registry } from './registry.js';
import { Renewer } from './renewer.js';
import { newStats, type SupervisorStats } from './stats.js';
import type { ProcessorTable } from './processor-table.js';
import { redactRedisUrl } from '../queue/redis-url.js';
import { SupervisorEvents } from './events.js';
import type { ServiceFactory, SupervisorService, SupervisorStatus } from './service.js';

export interface SupervisorDeps {
  config: SupervisorConfig;
  logger: Logger;
  /** Processor names and default limits, loaded once at start (built-ins and plugins). */
  processors: ProcessorTable;
  /** Services run alongside the lease loops (scheduler, HTTP endpoint), in this order. */
  services?: readonly ServiceFactory[];
}

/**
 * One supervisor process: owns the Redis connections, the lease loops, renewal, reclaiming,
 * the registry heartbeat and the thread pool. Start and stop orders are written down here
 * and nowhere else (docs/architecture.md repeats them).
 */
export class Supervisor {
  readonly id = newSupervisorId();
  readonly stats: SupervisorStats = newStats();
  /** The job lifecycle as it happens (see events.ts). */
  readonly events = new SupervisorEvents();
  private readonly startedAt = Date.now();
  private readonly services: SupervisorService[];
  private readonly config: SupervisorConfig;
  private readonly logger: Logger;
  private readonly redis: RedisClient;
  private readonly consumers: Map<string, QueueConsumer>;
  private readonly ackers = new Map<string, Acker>();
  private readonly pool: ThreadPool;
  private readonly dispatcher: Dispatcher;
  private readonly followUps: FollowUpEnqueuer;
  private readonly loops: LeaseLoop[];
  private readonly renewer: Renewer;
  private readonly reclaimer: Reclaimer;
  private readonly registry: Registry;
  private stopping: Promise<void> | undefined;

  get redisUrl(): string {
    return this.config.redisUrl;
  }

  /** The Redis this supervisor uses, as a spec other clients (Queue, child processes) can open. */
  get connection(): RedisConnectionSpec {
    return connectionSpec(this.config);
  }

  constructor(private readonly deps: SupervisorDeps) {
    const { config, processors } = deps;
    this.config = config;
    this.logger = deps.logger.child({ supervisor: this.id });
    // No per-request retry limit: during a Redis restart calls wait for the reconnect instead
    // of failing, and the loops' own back-off covers the rest (BullMQ #4585).
    const spec = connectionSpec(config);
    this.redis = createRedis(spec, { maxRetriesPerRequest: null, lazyConnect: true });
    this.redis.on('error', (err: Error) => this.logger.warn({ err }, 'Redis connection error; reconnecting'));
    const durability = durabilityOf(spec);
    this.consumers = new Map(config.queues.map((q) => [q, new QueueConsumer(q, { connection: this.redis, ...(durability ? { durability } : {}) })]));
    this.followUps = new FollowUpEnqueuer(this.redis);
    this.pool = new ThreadPool(
      {
        threads: config.threads,
        minThreads: config.minThreads,
        tasksPerThread: config.tasksPerThread,
        maxMemoryMb: config.maxMemoryMb,
        idleTimeoutMs: config.idleTimeoutMs,
        init: { plugins: processors.pluginUrls, defaultTimeoutMs: config.jobTimeoutMs, redis: spec },
      },
      this.logger,
      (event) => this.onThreadEvent(event),
      this.events,
    );
    this.events.on('threadStopped', ({ reason }) => {
      if (reason === 'retire') this.stats.threadsRetired += 1;
      else this.stats.threadRestarts += 1;
    });
    const outcomes = new Outcomes({
      ackerFor: (queue) => this.acker(queue),
      events: this.events,
      logger: this.logger,
      stats: this.stats,
      policy: {
        shutdownTimeoutMs: config.shutdownTimeoutMs,
        maxMemoryMb: config.maxMemoryMb,
        maxResourcePauseMs: config.maxResourcePauseMs,
        encodeResult: (held, result) => this.consumer(held.job.queue).encodeResult(result, held.job.id),
      },
    });
    this.dispatcher = new Dispatcher({ pool: this.pool, events: this.events, config, logger: this.logger, stats: this.stats, outcomes });
    const consumers = [...this.consumers.values()];
    this.loops = consumers.map((c) => new LeaseLoop(c, this.dispatcher, this.id, config.leaseMs, this.logger));
    this.renewer = new Renewer(consumers, this.dispatcher, this.id, config.leaseMs, config.heartbeatMs, this.logger, this.events);
    this.reclaimer = new Reclaimer(consumers, config.heartbeatMs, this.logger);
    this.registry = new Registry(
      this.redis,
      this.id,
      config.heartbeatMs,
      () => ({
        threads: this.config.threads,
        queues: this.config.queues,
        inFlight: this.dispatcher.runningCount,
        held: this.dispatcher.heldCount,
        completed: this.stats.completed,
        failed: this.stats.failed,
        dead: this.stats.dead,
        timedOut: this.stats.timedOut,
        leaseLost: this.stats.leaseLost,
        threadRestarts: this.stats.threadRestarts,
      }),
      this.logger,
    );
    const context = { id: this.id, config, redis: this.redis, logger: this.logger, events: this.events, status: () => this.status() };
    this.services = (deps.services ?? []).map((make) => make(context));
  }

  /** A snapshot for /status and tests. */
  status(): SupervisorStatus {
    const busy = this.dispatcher.busyThreads;
    const total = Math.max(this.pool.threadCount, busy);
    return {
      id: this.id,
      startedAt: this.startedAt,
      queues: this.config.queues,
      threads: { total, busy, idle: total - busy, restarts: this.stats.threadRestarts },
      inFlight: this.dispatcher.inFlight(),
      stats: { ...this.stats },
      shuttingDown: this.stopping !== undefined,
    };
  }

  private consumer(queue: string): QueueConsumer {
    const consumer = this.consumers.get(queue);
    if (!consumer) throw new Error(`no consumer for queue ${queue}`);
    return consumer;
  }

  private acker(queue: string): Acker {
    let acker = this.ackers.get(queue);
    if (!acker) {
      acker = new Acker(this.consumer(queue), this.followUps, this.stats, this.logger, (held) => this.dispatcher.settle(held), this.events);
      this.ackers.set(queue, acker);
    }
    return acker;
  }

  /** Start order: Redis, registry, reclaim once (jobs of a crashed predecessor), renewer, reclaimer, lease loops, services. */
  async start(): Promise<void> {
    await this.redis.connect();
    await this.registry.start();
    await this.reclaimer.reclaimAll();
    this.renewer.start();
    this.reclaimer.start();
    for (const loop of this.loops) loop.start();
    for (const service of this.services) await service.start();
    this.logger.info(
      { queues: this.config.queues, threads: this.config.threads, tasksPerThread: this.config.tasksPerThread, redis: redactRedisUrl(this.config.redisUrl), durability: this.config.redisWaitReplicas > 0 ? `${this.config.redisWaitReplicas} replica(s)` : 'off' },
      'supervisor started',
    );
  }

  /**
   * Stop order: stop leasing; give back jobs not started; let running jobs finish until
   * shutdownTimeoutMs, then stop them (failed for retry); write every outcome; stop services
   * (reverse order); stop renewing, reclaiming and the heartbeat; leave the registry; close the
   * pool and Redis.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const t0 = Date.now();
    await Promise.all(this.loops.map((l) => l.stop()));
    const released = this.dispatcher.releaseBuffered();
    const running = this.dispatcher.runningCount;
    this.logger.info({ released, running, shutdownTimeoutMs: this.config.shutdownTimeoutMs }, 'shutting down: stopped leasing, gave back unstarted jobs');
    const idle = this.dispatcher.whenIdle();
    const timedOut = await Promise.race([idle.then(() => false), sleep(this.config.shutdownTimeoutMs).then(() => true)]);
    if (timedOut) {
      this.logger.warn({ running: this.dispatcher.runningCount }, 'shutdown timeout reached; stopping running jobs, they will be retried');
      this.dispatcher.abortRunning();
      await idle;
    }
    await Promise.all([...this.ackers.values()].map((a) => a.drain()));
    for (const service of [...this.services].reverse()) {
      await service.stop().catch((err: unknown) => this.logger.warn({ err, service: service.name }, 'stopping a service failed; carrying on with shutdown'));
    }
    await Promise.all([this.renewer.stop(), this.reclaimer.stop()]);
    await this.registry.stop().catch((err: unknown) => this.logger.warn({ err }, 'leaving the registry failed; the entry expires by itself'));
    await this.pool.close();
    await this.followUps.close();
    await Promise.all([...this.consumers.values()].map((c) => c.close()));
    await this.redis.quit();
    this.logger.info({ ms: Date.now() - t0, ...this.stats }, 'supervisor stopped');
  }

  private onThreadEvent(event: ThreadEvent): void {
    if (event.kind === 'log') {
      this.logger[event.level]({ queue: event.queue, jobId: event.jobId, ...event.fields }, event.message);
      return;
    }
    const held = this.dispatcher.findHeld(event.queue, event.jobId);
    const consumer = this.consumers.get(event.queue);
    if (!held || !consumer) return;
    consumer.progress(held.job.lease, event.value).catch((err: unknown) => {
      // Progress is advisory; the job's outcome does not depend on it.
      this.logger.debug({ err, jobId: event.jobId }, 'storing progress failed');
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
