import { hostname } from 'node:os';
import { gzipSync } from 'node:zlib';
import { Queue } from '../queue/queue.js';
import { Alerts, type AlertTransition } from '../metrics/alerts.js';
import { ClusterStore } from '../metrics/cluster.js';
import { JobMetrics } from '../metrics/job-metrics.js';
import { toMicros } from '../metrics/latency.js';
import { LoopLag } from '../metrics/loop-lag.js';
import { renderPrometheus } from '../metrics/prometheus.js';
import { buildSnapshot, type MetricsSnapshot, type QueueDepth } from '../metrics/snapshot.js';
import type { SupervisorEventMap } from './events.js';
import type { ServiceContext, SupervisorService } from './service.js';
import { Periodic } from './timers.js';

type Listener<K extends keyof SupervisorEventMap> = (...args: SupervisorEventMap[K]) => void;

/** Redis work at stop() (the last slot) gives up after this, so an outage cannot hold shutdown. */
const FINAL_FLUSH_TIMEOUT_MS = 2000;
/**
 * The /metrics text is built at most once per this long and shared by every request in it:
 * a 2-queue supervisor's text is ~200 KB and takes ~10 ms to build, so building it per request
 * let 1,000 concurrent scrapes hold the event loop, which renews leases, for seconds (issue 16.9).
 * Prometheus scrapes every 15 s or more; a second-old text is as good as a fresh one.
 */
export const PROMETHEUS_MAX_AGE_MS = 1000;

/**
 * Turns the supervisor's events into metrics (src/metrics) and, every heartbeat: folds rates,
 * stores the histograms of the current minute in Redis for `troupe stats`, reads queue depths and
 * evaluates alerts. On a timer of its own, every --metrics-interval seconds, it logs one snapshot
 * line: an interval below the heartbeat is honoured, not raised to it (the counts and
 * percentiles are live; depths and rates are as of the last heartbeat). The listeners
 * only record; the heartbeat work is synchronous except the Redis calls, which never overlap
 * themselves and are never awaited by the timer, so a Redis outage cannot pile them up.
 */
export class MetricsService implements SupervisorService {
  readonly name = 'metrics';
  readonly metrics = new JobMetrics();
  readonly depths = new Map<string, QueueDepth>();
  depthsAt = 0;
  readonly alerts: Alerts;
  readonly loopLag = new LoopLag();
  private readonly store: ClusterStore;
  private readonly queues: Queue[];
  /**
   * The heartbeat. tick() is synchronous, so Periodic's one-run-at-a-time rule never skips a
   * beat; the Redis calls it starts keep their own guards (flushing, polling) and are not awaited.
   */
  private readonly heartbeat: Periodic;
  /** The metrics log line; none with --metrics-interval 0. */
  private readonly logLine: Periodic | undefined;
  private flushing: Promise<void> | undefined;
  private polling: Promise<void> | undefined;
  private storeFailing = false;
  /** The /metrics text as last built, encoded once for every request that shares it. */
  private exposition: { at: number; body: Buffer; gzipped?: Buffer } | undefined;
  /** Times the /metrics text was built; exported as troupe_metrics_renders_total. */
  renders = 0;
  /** HTTP requests refused by --http-max-concurrent; exported as troupe_http_requests_refused_total. */
  httpRefused = 0;

  constructor(private readonly ctx: ServiceContext) {
    const c = ctx.config;
    this.alerts = new Alerts({ failurePercent: c.alertFailurePercent, p99RunMs: c.alertRunTimeMs, queueDepth: c.alertQueueDepth, dlqSize: c.alertDlqSize });
    this.store = new ClusterStore(ctx.redis, ctx.id);
    this.queues = c.queues.map((q) => new Queue(q, { connection: ctx.redis }));
    this.heartbeat = new Periodic(c.heartbeatMs, async () => this.tick(Date.now()));
    this.logLine = c.metricsInterval > 0 ? new Periodic(c.metricsInterval * 1000, async () => this.logSnapshot(Date.now())) : undefined;
  }

  private readonly onLeased: Listener<'leased'> = ({ jobs, at }) => {
    for (const job of jobs) {
      const s = this.metrics.series(job.queue, job.processor);
      s.counts.leased += 1;
      s.wait.record(toMicros(at - Math.max(job.enqueuedAt, job.dueAt)));
    }
  };

  private readonly onRan: Listener<'ran'> = ({ job, end, runMs }) => {
    const s = this.metrics.series(job.queue, job.processor);
    if (end === 'timeout') s.counts.timedOut += 1;
    // A task that died reports no run time of its own; its jobs count, without a made-up one.
    if (runMs !== undefined) s.run.record(toMicros(runMs));
  };

  private readonly onSettled: Listener<'settled'> = ({ job, disposition, at }) => {
    const s = this.metrics.series(job.queue, job.processor);
    switch (disposition) {
      case 'completed':
        s.counts.completed += 1;
        s.completedRate.mark();
        s.endToEnd.record(toMicros(at - job.enqueuedAt));
        return;
      case 'retried':
      case 'dead':
        s.counts[disposition] += 1;
        s.counts.failed += 1;
        s.failedRate.mark();
        return;
      case 'lost':
        s.counts.leaseLost += 1;
        return;
      case 'released':
        s.counts.released += 1;
        return;
      case 'paused':
        s.counts.resourcePaused += 1;
        return;
    }
  };

  private readonly onRenewed: Listener<'renewed'> = ({ queue, lagMs }) => {
    this.metrics.queue(queue).renewalLag.record(toMicros(lagMs));
  };

  private readonly onThreadStopped: Listener<'threadStopped'> = ({ reason }) => {
    if (reason === 'retire') this.metrics.threadsRetired += 1;
    else this.metrics.threadRestarts += 1;
  };

  async start(): Promise<void> {
    const { events, config } = this.ctx;
    events.on('leased', this.onLeased);
    events.on('ran', this.onRan);
    events.on('settled', this.onSettled);
    events.on('renewed', this.onRenewed);
    events.on('threadStopped', this.onThreadStopped);
    for (const q of config.queues) this.metrics.queue(q);
    this.loopLag.start();
    this.pollDepths();
    this.heartbeat.start();
    this.logLine?.start();
  }

  async stop(): Promise<void> {
    const { events } = this.ctx;
    await this.heartbeat.stop();
    await this.logLine?.stop();
    this.loopLag.stop();
    events.off('leased', this.onLeased);
    events.off('ran', this.onRan);
    events.off('settled', this.onSettled);
    events.off('renewed', this.onRenewed);
    events.off('threadStopped', this.onThreadStopped);
    // Services stop after every outcome is written, so this last slot holds every job.
    this.collect(Date.now());
    // Handled here, not by the race: a write that fails after the timeout must not go unhandled.
    const last = (async () => {
      await this.flushing;
      await this.store.flush();
    })().then(
      () => 'stored' as const,
      (err: unknown) => {
        this.ctx.logger.warn({ err }, 'storing the last metrics slot failed; `troupe stats` will miss its latest jobs');
        return 'failed' as const;
      },
    );
    const outcome = await Promise.race([last, delay(FINAL_FLUSH_TIMEOUT_MS).then(() => 'timeout' as const)]);
    if (outcome === 'timeout') this.ctx.logger.warn({ timeoutMs: FINAL_FLUSH_TIMEOUT_MS }, 'storing the last metrics slot took too long; giving up');
    await Promise.all(this.queues.map((q) => q.close()));
  }

  /** Percentiles, counts, rates and depths as of now (the log line, /status, alerts). */
  snapshot(now = Date.now()): MetricsSnapshot {
    return buildSnapshot(this.metrics, this.depths, now);
  }

  /**
   * The /metrics body: built at most once per PROMETHEUS_MAX_AGE_MS, the same bytes in between.
   * `gzip` (the client sent Accept-Encoding: gzip, as Prometheus does): the same text compressed,
   * also once per build; ~12× smaller, which is most of what a burst of scrapes costs to send.
   */
  prometheus(now = Date.now(), gzip = false): Buffer {
    let cached = this.exposition;
    // now < at: the clock went back; build rather than serve a text for longer than promised.
    if (!cached || now - cached.at >= PROMETHEUS_MAX_AGE_MS || now < cached.at) {
      this.renders += 1;
      cached = this.exposition = { at: now, body: Buffer.from(this.render(), 'utf8') };
    }
    if (!gzip) return cached.body;
    cached.gzipped ??= gzipSync(cached.body, { level: 6 });
    return cached.gzipped;
  }

  private render(): string {
    const status = this.ctx.status();
    const inFlight = { buffered: 0, running: 0, acking: 0 };
    for (const job of status.inFlight) inFlight[job.state] += 1;
    return renderPrometheus({
      metrics: this.metrics,
      depths: this.depths,
      supervisor: { id: this.ctx.id, host: hostname(), startedAt: status.startedAt, threads: status.threads, inFlight, eventLoopLagMs: this.loopLag.lagMs },
      alerts: this.alerts.states(),
      http: { renders: this.renders, refused: this.httpRefused },
    });
  }

  /** One heartbeat: everything here but the Redis calls is synchronous and bounded. */
  tick(now: number): void {
    this.metrics.tick(now);
    this.collect(now);
    this.flush();
    this.pollDepths();
    if (!this.alerts.enabled) return;
    for (const t of this.alerts.evaluate(this.snapshot(now))) this.logAlert(t);
  }

  /** The metrics log line: percentiles, counts, rates and depths as of now. */
  logSnapshot(now: number): void {
    this.ctx.logger.info({ metrics: this.snapshot(now) }, 'metrics');
  }

  /** Hands the current slot's new recordings to the store, and starts a new slot when a minute ended. */
  private collect(now: number): void {
    this.store.add(this.metrics.slotStart, this.metrics.encodeDirty());
    if (this.metrics.slotEnded(now)) this.metrics.rotate(now);
  }

  private flush(): void {
    if (this.flushing || this.store.pending === 0) return;
    this.flushing = this.store
      .flush()
      .then(() => {
        if (this.storeFailing) this.ctx.logger.info('storing metrics in Redis works again');
        this.storeFailing = false;
      })
      .catch((err: unknown) => {
        // Kept and retried with the next heartbeat; one warning per outage, not one per beat.
        if (!this.storeFailing) this.ctx.logger.warn({ err }, 'storing metrics in Redis failed; retrying every heartbeat');
        this.storeFailing = true;
      })
      .finally(() => (this.flushing = undefined));
  }

  private pollDepths(): void {
    if (this.polling) return;
    this.polling = Promise.all(this.queues.map(async (q) => [q.name, await q.counts()] as const))
      .then((all) => {
        for (const [name, c] of all) this.depths.set(name, { pending: c.pending, delayed: c.delayed, active: c.active, completed: c.completed, dead: c.dead });
        this.depthsAt = Date.now();
      })
      .catch((err: unknown) => {
        // Depths are advisory; the last known ones stay (with their time) until Redis answers.
        this.ctx.logger.debug({ err }, 'reading queue depths failed');
      })
      .finally(() => (this.polling = undefined));
  }

  private logAlert(t: AlertTransition): void {
    const fields = { alert: t.alert, queue: t.queue, ...(t.processor ? { processor: t.processor } : {}), value: t.value, threshold: t.threshold };
    const where = t.processor ? `${t.queue}/${t.processor}` : t.queue;
    if (t.state === 'firing') this.ctx.logger.warn(fields, `alert: ${t.description} is ${t.value} on ${where}, above ${t.threshold}`);
    else this.ctx.logger.warn(fields, `alert cleared: ${t.description} is ${t.value} on ${where}, back at or below ${t.threshold}`);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
