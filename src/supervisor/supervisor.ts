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
import { RedisWatch } from './redis-watch.js';
import { MemoryCheck } from './memory-check.js';
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
  /** The thread for processors that wait on I/O (Processor.concurrency); made on first use. */
  private ioPool: ThreadPool | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly followUps: FollowUpEnqueuer;
  private readonly loops: LeaseLoop[];
  private readonly renewer: Renewer;
  private readonly reclaimer: Reclaimer;
  private readonly registry: Registry;
  private stopping: Promise<ShutdownReport> | undefined;
  private starting: Promise<void> | undefined;
  /** Ends a start still waiting for Redis when stop() is called. */
  private readonly startAbort = new AbortController();
  /** What start() got to, so stop() undoes only that. */
  private readonly started = { redis: false, registry: false, services: [] as SupervisorService[] };
  /** Logs Redis outages once each way and tells /health (made here, not in the constructor, with the connection it watches). */
  private get redisWatch(): RedisWatch {
    return (this.watch ??= new RedisWatch(this.redis, this.logger));
  }
  private watch: RedisWatch | undefined;
  /** Redis's eviction policy (refused at start unless allowed) and fill level, for /health and /status. */
  private get memory(): MemoryCheck {
    return (this.memoryCheck ??= new MemoryCheck(this.redis, this.logger, this.config.allowEvictingRedis, this.config.heartbeatMs));
  }
  private memoryCheck: MemoryCheck | undefined;

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
    // Each failed reconnect emits one; RedisWatch says once that Redis stopped answering and once that it is back.
    this.redis.on('error', (err: Error) => this.logger.debug({ err }, 'Redis connection error; reconnecting'));
    const durability = durabilityOf(spec);
    this.consumers = new Map(config.queues.map((q) => [q, new QueueConsumer(q, { connection: this.redis, ...(durability ? { durability } : {}) })]));
    this.followUps = new FollowUpEnqueuer(this.redis);
    const threadPool = (threads: number, minThreads: number, tasksPerThread: number) =>
      new ThreadPool(
        {
          threads,
          minThreads,
          tasksPerThread,
          maxMemoryMb: config.maxMemoryMb,
          maxRssMb: config.maxRssMb,
          idleTimeoutMs: config.idleTimeoutMs,
          init: { plugins: processors.pluginUrls, defaultTimeoutMs: config.jobTimeoutMs, redis: spec, allowHosts: config.allowHosts, wasmModuleDirs: config.wasmModuleDirs },
        },
        this.logger,
        (event) => this.onThreadEvent(event),
        this.events,
      );
    this.pool = threadPool(config.threads, config.minThreads, config.tasksPerThread);
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
    this.dispatcher = new Dispatcher({
      pool: this.pool,
      events: this.events,
      config,
      logger: this.logger,
      stats: this.stats,
      outcomes,
      concurrencyOf: (name) => processors.concurrencyOf(name),
      // One thread carries every I/O slot: its jobs wait, so it needs no core of its own.
      ioPool: () => (this.ioPool ??= threadPool(1, 1, Math.max(1, processors.ioSlots))),
      unwrittenOutcomes: () => this.outcomeWrites().unwritten,
    });
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
        ...this.threadCounts(),
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
    const context = { id: this.id, config, redis: this.redis, logger: this.logger, events: this.events, status: () => this.status(), refreshMemory: () => this.memory.refresh() };
    this.services = (deps.services ?? []).map((make) => make(context));
  }

  /** For the registry's heartbeat: the same figures as /status, without building all of it. */
  private threadCounts(): { busyThreads: number; liveThreads: number } {
    const busyThreads = this.dispatcher.busyThreads;
    return { busyThreads, liveThreads: Math.max(this.pool.threadCount + (this.ioPool?.threadCount ?? 0), busyThreads) };
  }

  /** A snapshot for /status and tests. */
  status(): SupervisorStatus {
    const { busyThreads: busy, liveThreads: total } = this.threadCounts();
    return {
      id: this.id,
      startedAt: this.startedAt,
      queues: this.config.queues,
      threads: { total, busy, idle: total - busy, restarts: this.stats.threadRestarts },
      inFlight: this.dispatcher.inFlight(),
      stats: { ...this.stats },
      shuttingDown: this.stopping !== undefined,
      ...(this.memory.report ? { redisMemory: this.memory.report } : {}),
      outcomeWrites: this.outcomeWrites(),
    };
  }

  /** Every queue's acker together: the oldest failure stands for all. */
  private outcomeWrites(): SupervisorStatus['outcomeWrites'] {
    let unwritten = 0;
    let failing: { failingSince: number; cause: string } | undefined;
    for (const acker of this.ackers.values()) {
      const state = acker.writeState;
      unwritten += state.unwritten;
      if (state.failingSince !== undefined && (!failing || state.failingSince < failing.failingSince)) failing = { failingSince: state.failingSince, cause: state.cause ?? '' };
    }
    return { unwritten, ...(failing ?? {}) };
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

  /**
   * Start order: the HTTP endpoint; wait for Redis; registry; reclaim once (jobs of a crashed
   * predecessor); renewer, reclaimer; lease loops; the other services. The endpoint comes first
   * so /health and /ready answer (503, with the reason) while Redis is still out of reach; the
   * wait retries with back-off up to 30 s and ends early if stop() is called (see RedisWatch).
   * A refused password or the wrong kind of server throws instead.
   */
  start(): Promise<void> {
    this.starting ??= this.startInOrder();
    return this.starting;
  }

  private async startInOrder(): Promise<void> {
    const { signal } = this.startAbort;
    // Made before the endpoint starts, so /health finds it from the first request.
    const watch = this.redisWatch;
    const startService = async (service: SupervisorService) => {
      await service.start();
      this.started.services.push(service);
    };
    for (const service of this.services.filter((s) => SERVES_BEFORE_REDIS.has(s.name))) await startService(service);
    if (!(await watch.waitUntilReachable(this.connection, signal))) return;
    await this.redis.connect();
    this.started.redis = true;
    watch.start();
    await this.memory.atStart();
    this.memory.start();
    if (signal.aborted) return;
    await this.registry.start();
    this.started.registry = true;
    if (signal.aborted) return;
    await this.reclaimer.reclaimAll();
    if (signal.aborted) return;
    this.renewer.start();
    this.reclaimer.start();
    for (const loop of this.loops) loop.start();
    for (const service of this.services.filter((s) => !SERVES_BEFORE_REDIS.has(s.name))) {
      if (signal.aborted) return;
      await startService(service);
    }
    this.logger.info(
      { queues: this.config.queues, threads: this.config.threads, tasksPerThread: this.config.tasksPerThread, redis: redactRedisUrl(this.config.redisUrl), durability: this.config.redisWaitReplicas > 0 ? `${this.config.redisWaitReplicas} replica(s)` : 'off' },
      'supervisor started',
    );
  }

  /**
   * Stop order: stop leasing; give back jobs not started; let running jobs finish (see
   * shutdownBudget), then stop them (failed for retry); write every outcome; stop services
   * (reverse order); stop renewing, reclaiming and the heartbeat; leave the registry; close the
   * pool and Redis. --shutdown-timeout-ms bounds all of it: a step still waiting on Redis at the
   * deadline is given up, and the report says what was left to lease expiry.
   */
  stop(): Promise<ShutdownReport> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<ShutdownReport> {
    const t0 = Date.now();
    const budget = shutdownBudget(this.config.shutdownTimeoutMs);
    const deadline = t0 + budget.wholeMs;
    /** Steps given up at the deadline, in order. */
    const cut: string[] = [];
    const within = async (step: string, work: Promise<unknown>): Promise<void> => {
      if (!(await settlesBy(work, deadline))) cut.push(step);
    };

    // A start still under way (waiting for Redis, most often) goes no further.
    this.startAbort.abort();
    if (this.starting) await within('finish starting', this.starting);
    await within('stop leasing', Promise.all(this.loops.map((l) => l.stop())));
    const released = this.dispatcher.releaseBuffered();
    const running = this.dispatcher.runningCount;
    this.logger.info({ released, running, shutdownTimeoutMs: this.config.shutdownTimeoutMs, runningMayTakeMs: budget.jobsMs }, 'shutting down: stopped leasing, gave back unstarted jobs');
    const idle = this.dispatcher.whenIdle();
    if (!(await settlesBy(idle, t0 + budget.jobsMs))) {
      this.logger.warn({ running: this.dispatcher.runningCount }, 'shutdown timeout reached; stopping running jobs, they will be retried');
      this.dispatcher.abortRunning();
      await within('stop running jobs', idle);
    }
    await within('write outcomes', Promise.all([...this.ackers.values()].map((a) => a.drain())));
    for (const service of [...this.started.services].reverse()) {
      const stopped = service.stop().catch((err: unknown) => this.logger.warn({ err, service: service.name }, 'stopping a service failed; carrying on with shutdown'));
      await within(`stop service ${service.name}`, stopped);
    }
    await within('stop renewing', Promise.all([this.renewer.stop(), this.reclaimer.stop(), this.memory.stop()]));
    if (this.started.registry) {
      const left = this.registry.stop().catch((err: unknown) => this.logger.warn({ err }, 'leaving the registry failed; the entry expires by itself'));
      await within('leave the registry', left);
    }
    this.redisWatch.stop();
    await within('close the thread pools', Promise.all([this.pool.close(), this.ioPool?.close()]));
    const unwritten = this.dispatcher.heldCount;
    if (cut.length === 0) {
      await within('close Redis', (async () => {
        await this.followUps.close();
        await Promise.all([...this.consumers.values()].map((c) => c.close()));
        // A connection never opened (stopped while waiting for Redis) has nothing to QUIT.
        if (this.started.redis) await this.redis.quit();
        else this.redis.disconnect();
      })());
    }
    if (cut.length > 0) {
      // Nothing more is sent: what Redis did not take is left to lease expiry, and a QUIT to a
      // Redis that does not answer would wait as long as it does.
      for (const consumer of this.consumers.values()) void consumer.close().catch(() => undefined);
      void this.followUps.close().catch(() => undefined);
      this.redis.disconnect();
      this.logger.error(
        { cut, unwritten, leaseMs: this.config.leaseMs, shutdownTimeoutMs: this.config.shutdownTimeoutMs, ms: Date.now() - t0 },
        `shutdown gave up at --shutdown-timeout-ms with Redis not answering (${cut.join(', ')}): ${unwritten} job outcome(s) not written, left to lease expiry (those jobs return to their queues within ${this.config.leaseMs} ms of their last renewal, counting an attempt); exit code 3`,
      );
    }
    const report: ShutdownReport = { complete: cut.length === 0, cut, unwritten, ms: Date.now() - t0 };
    this.logger.info({ ms: report.ms, complete: report.complete, ...this.stats }, 'supervisor stopped');
    return report;
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

/**
 * Services started before Redis is reached: the HTTP endpoint, so probes get an answer (503 with
 * the reason) while the supervisor waits. Named by SupervisorService.name; the rest need Redis.
 */
const SERVES_BEFORE_REDIS = new Set(['http']);

/** What a shutdown managed within --shutdown-timeout-ms. */
export interface ShutdownReport {
  /** Every outcome written, the registry left and Redis closed in time. */
  complete: boolean;
  /** The steps given up at the deadline (empty when complete). */
  cut: string[];
  /** Jobs whose outcome Redis never took: they come back when their leases expire. */
  unwritten: number;
  ms: number;
}

/**
 * How --shutdown-timeout-ms is spent: running jobs get it less a quarter of it (at least 1 s,
 * at most 5 s), kept for stopping the jobs still running and writing every outcome; the whole
 * shutdown ends by the timeout, or by that reserve when the timeout is shorter.
 */
export function shutdownBudget(shutdownTimeoutMs: number): { jobsMs: number; wholeMs: number } {
  const reserveMs = Math.min(5_000, Math.max(1_000, Math.floor(shutdownTimeoutMs / 4)));
  return { jobsMs: Math.max(0, shutdownTimeoutMs - reserveMs), wholeMs: Math.max(shutdownTimeoutMs, reserveMs) };
}

/** True if `work` settles (either way) before `deadline`; never waits past it. */
async function settlesBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
