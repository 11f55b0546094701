import type { Histogram } from 'hdr-histogram-js';
import { COUNTER_NAMES, LATENCY_KINDS, type CounterName, type JobMetrics, type LatencyKind } from './job-metrics.js';
import { BUCKET_BOUNDS_MICROS, newHistogram, percentile, type Latency } from './latency.js';
import { RATE_WINDOW_NAMES } from './meter.js';
import { rateSnapshot, DEPTH_STATES, type QueueDepth } from './snapshot.js';

/** Prometheus text exposition format, version 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;
type Family = { name: string; type: 'counter' | 'gauge' | 'histogram' | 'summary'; help: string; lines: string[] };

const COUNTERS: Record<CounterName, [string, string]> = {
  leased: ['troupe_jobs_leased_total', 'Jobs leased by this supervisor, one per run.'],
  completed: ['troupe_jobs_completed_total', 'Jobs whose completion was written to Redis.'],
  failed: ['troupe_jobs_failed_total', 'Runs whose failure was written to Redis (retried plus dead).'],
  retried: ['troupe_jobs_retried_total', 'Failed runs scheduled for another attempt.'],
  dead: ['troupe_jobs_dead_total', 'Jobs moved to the dead-letter queue.'],
  timedOut: ['troupe_jobs_timed_out_total', 'Runs that passed their time limit.'],
  leaseLost: ['troupe_jobs_lease_lost_total', 'Outcomes refused because the lease had expired or moved (the result was discarded).'],
  released: ['troupe_jobs_released_total', 'Jobs handed back to the queue without using an attempt (shutdown, a stopped thread).'],
  resourcePaused: ['troupe_jobs_resource_paused_total', 'Jobs that reported a resource their queue needs as unavailable: handed back, and the queue paused.'],
};

const LATENCIES: Record<LatencyKind, [string, string]> = {
  wait: ['troupe_job_wait', 'from enqueue, or from the due time of a delayed job or retry, to lease'],
  run: ['troupe_job_run', 'of a job in its thread, as the thread measured it'],
  endToEnd: ['troupe_job_end_to_end', 'from enqueue to the completion written in Redis, for completed jobs'],
};

const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`;
}

const LE = BUCKET_BOUNDS_MICROS.map((b) => String(b / 1e6));

function histogramLines(name: string, labels: Labels, latency: Latency): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  for (let i = 0; i < LE.length; i++) {
    cumulative += latency.buckets[i]!;
    lines.push(sample(`${name}_bucket`, { ...labels, le: LE[i]! }, cumulative));
  }
  lines.push(sample(`${name}_bucket`, { ...labels, le: '+Inf' }, latency.count));
  lines.push(sample(`${name}_sum`, labels, latency.sumMicros / 1e6));
  lines.push(sample(`${name}_count`, labels, latency.count));
  return lines;
}

function summaryLines(name: string, labels: Labels, window: Histogram): string[] {
  const empty = window.totalCount === 0;
  return QUANTILES.map((q) => sample(name, { ...labels, quantile: String(q) }, empty ? NaN : percentile(window, q * 100) / 1e6));
}

export interface SupervisorGauges {
  id: string;
  host: string;
  startedAt: number;
  threads: { busy: number; idle: number };
  inFlight: { buffered: number; running: number; acking: number };
  eventLoopLagMs: number;
}

export interface AlertGauge {
  alert: string;
  queue: string;
  processor: string;
  firing: boolean;
}

export interface ExpositionInput {
  metrics: JobMetrics;
  depths: ReadonlyMap<string, QueueDepth>;
  supervisor: SupervisorGauges;
  alerts: readonly AlertGauge[];
  /** The endpoint's own counters (0 when not given). */
  http?: { renders: number; refused: number };
}

/**
 * Latencies appear twice: as histograms (cumulative buckets since start, which Prometheus can
 * sum across supervisors and turn into quantiles with histogram_quantile) and as summaries of
 * the last 1–2 minutes, whose quantiles are exact to HDR precision but cannot be aggregated
 * (for cluster-wide quantiles use `troupe stats`, which merges the HDR histograms).
 */
export function renderPrometheus(input: ExpositionInput): string {
  const { metrics, depths, supervisor } = input;
  const families = new Map<string, Family>();
  const add = (name: string, type: Family['type'], help: string, lines: string[]) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type, help, lines: [] }));
    f.lines.push(...lines);
  };
  const scratch = newHistogram();

  for (const [queue, q] of metrics.queues) {
    for (const [processor, s] of q.processors) {
      const labels = { queue, processor };
      for (const c of COUNTER_NAMES) add(COUNTERS[c][0], 'counter', COUNTERS[c][1], [sample(COUNTERS[c][0], labels, s.counts[c])]);
      for (const kind of LATENCY_KINDS) {
        const [base, what] = LATENCIES[kind];
        add(`${base}_seconds`, 'histogram', `Time ${what}, since the supervisor started.`, histogramLines(`${base}_seconds`, labels, s[kind]));
        add(`${base}_recent_seconds`, 'summary', `Time ${what}, over the last 1-2 minutes (HDR histogram, 3 significant digits).`, summaryLines(`${base}_recent_seconds`, labels, s[kind].window(scratch)));
      }
      for (const w of RATE_WINDOW_NAMES) {
        const r = rateSnapshot(s, w);
        add('troupe_jobs_per_second', 'gauge', 'Runs ending per second, by outcome, exponentially weighted over the window.', [
          sample('troupe_jobs_per_second', { ...labels, outcome: 'completed', window: w }, r.completedPerSec),
          sample('troupe_jobs_per_second', { ...labels, outcome: 'failed', window: w }, r.failedPerSec),
        ]);
        add('troupe_job_failure_ratio', 'gauge', 'Failed runs over all ended runs, exponentially weighted over the window.', [sample('troupe_job_failure_ratio', { ...labels, window: w }, r.failureRatio)]);
      }
    }
    if (q.renewalLag.count > 0) {
      add('troupe_lease_renewal_lag_seconds', 'histogram', 'How late each lease-renewal round finished against its schedule.', histogramLines('troupe_lease_renewal_lag_seconds', { queue }, q.renewalLag));
    }
  }
  for (const [queue, depth] of depths) {
    add('troupe_queue_jobs', 'gauge', 'Jobs in each state of the queue, as Redis last reported them. Every supervisor serving the queue exports the same count: aggregate with max by (queue, state), not sum.', DEPTH_STATES.map((state) => sample('troupe_queue_jobs', { queue, state }, depth[state])));
  }
  add('troupe_thread_restarts_total', 'counter', 'Threads replaced after a crash or a kill (timeout, shutdown).', [sample('troupe_thread_restarts_total', {}, metrics.threadRestarts)]);
  add('troupe_threads_retired_total', 'counter', 'Threads retired on purpose (job count or heap limit).', [sample('troupe_threads_retired_total', {}, metrics.threadsRetired)]);
  add('troupe_threads', 'gauge', 'Worker threads by state.', [
    sample('troupe_threads', { state: 'busy' }, supervisor.threads.busy),
    sample('troupe_threads', { state: 'idle' }, supervisor.threads.idle),
  ]);
  add('troupe_jobs_in_flight', 'gauge', 'Jobs this supervisor holds, by state.', (['buffered', 'running', 'acking'] as const).map((state) => sample('troupe_jobs_in_flight', { state }, supervisor.inFlight[state])));
  add('troupe_event_loop_lag_seconds', 'gauge', "Recent worst lag of the supervisor's event loop.", [sample('troupe_event_loop_lag_seconds', {}, supervisor.eventLoopLagMs / 1000)]);
  add('troupe_supervisor_start_time_seconds', 'gauge', 'When this supervisor started, in seconds since the Unix epoch.', [sample('troupe_supervisor_start_time_seconds', {}, supervisor.startedAt / 1000)]);
  add('troupe_supervisor_info', 'gauge', 'Always 1; labels identify the supervisor.', [sample('troupe_supervisor_info', { id: supervisor.id, host: supervisor.host }, 1)]);
  const http = input.http ?? { renders: 0, refused: 0 };
  add('troupe_metrics_renders_total', 'counter', 'Times this text was built; it is built at most once a second and shared by every scrape in that second.', [sample('troupe_metrics_renders_total', {}, http.renders)]);
  add('troupe_http_requests_refused_total', 'counter', 'HTTP requests answered 503 with Retry-After: --http-max-concurrent were being handled and as many again times 4 were waiting.', [sample('troupe_http_requests_refused_total', {}, http.refused)]);
  if (input.alerts.length > 0) {
    add('troupe_alert_firing', 'gauge', '1 while an alert threshold is crossed, 0 once cleared.', input.alerts.map((a) => sample('troupe_alert_firing', { alert: a.alert, queue: a.queue, processor: a.processor }, a.firing ? 1 : 0)));
  }

  const out: string[] = [];
  for (const f of families.values()) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`, ...f.lines);
  }
  return `${out.join('\n')}\n`;
}
