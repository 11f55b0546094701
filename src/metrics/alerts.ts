import type { AlertGauge } from './prometheus.js';
import type { MetricsSnapshot } from './snapshot.js';

/** Alert thresholds from config; 0 turns an alert off. */
export interface AlertThresholds {
  /** Failed runs, in percent of ended runs (weighted over about a minute), per queue and processor. */
  failurePercent: number;
  /** p99 run time in ms over the last 1–2 minutes, per queue and processor. */
  p99RunMs: number;
  /** Pending jobs in a queue. */
  queueDepth: number;
  /** Jobs in a queue's dead-letter set. */
  dlqSize: number;
}

export type AlertName = keyof AlertThresholds;

const DESCRIPTIONS: Record<AlertName, string> = {
  failurePercent: 'failure rate (% of runs, last minute)',
  p99RunMs: 'p99 run time (ms)',
  queueDepth: 'pending jobs',
  dlqSize: 'dead-letter jobs',
};

export interface AlertTransition {
  alert: AlertName;
  description: string;
  queue: string;
  /** Empty for queue-wide alerts. */
  processor: string;
  value: number;
  threshold: number;
  state: 'firing' | 'cleared';
}

interface Reading {
  alert: AlertName;
  queue: string;
  processor: string;
  value: number;
}

/**
 * Alerts fire when a reading goes above its threshold and clear when it is back at or below
 * it: one transition each way, never a line per evaluation. Readings that are unknown (queue
 * depth before Redis first answered) leave the state as it is.
 */
export class Alerts {
  private readonly firing = new Map<string, { alert: AlertName; queue: string; processor: string; firing: boolean }>();

  constructor(private readonly thresholds: AlertThresholds) {}

  get enabled(): boolean {
    return Object.values(this.thresholds).some((t) => t > 0);
  }

  evaluate(snapshot: MetricsSnapshot): AlertTransition[] {
    const transitions: AlertTransition[] = [];
    for (const r of this.readings(snapshot)) {
      const threshold = this.thresholds[r.alert];
      const key = `${r.alert}|${r.queue}|${r.processor}`;
      const was = this.firing.get(key)?.firing ?? false;
      const is = r.value > threshold;
      if (is === was) continue;
      this.firing.set(key, { alert: r.alert, queue: r.queue, processor: r.processor, firing: is });
      transitions.push({ ...r, description: DESCRIPTIONS[r.alert], threshold, state: is ? 'firing' : 'cleared' });
    }
    return transitions;
  }

  /** Every alert that has fired at least once, with its current state (for /metrics and /status). */
  states(): AlertGauge[] {
    return [...this.firing.values()].map((a) => ({ ...a }));
  }

  private *readings(snapshot: MetricsSnapshot): Generator<Reading> {
    const t = this.thresholds;
    for (const [queue, q] of Object.entries(snapshot.queues)) {
      for (const [processor, s] of Object.entries(q.processors)) {
        if (t.failurePercent > 0) yield { alert: 'failurePercent', queue, processor, value: Math.round(s.rates['1m'].failureRatio * 1000) / 10 };
        if (t.p99RunMs > 0) yield { alert: 'p99RunMs', queue, processor, value: s.run.p99 };
      }
      if (!q.depth) continue;
      if (t.queueDepth > 0) yield { alert: 'queueDepth', queue, processor: '', value: q.depth.pending };
      if (t.dlqSize > 0) yield { alert: 'dlqSize', queue, processor: '', value: q.depth.dead };
    }
  }
}
