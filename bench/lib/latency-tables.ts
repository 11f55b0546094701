/** The latency bench's tables, target row and chart, built from its measured phases. */
import type { BenchResult, TargetResult } from './report.js';
import type { MeasuredCapacity } from './latency-capacity.js';
import { CONSUMER_LABEL, type ConsumerSystem } from './latency-consumers.js';
import { fmtMs, type LatencyReport } from './latency-record.js';
import type { SendReport } from './paced-protocol.js';
import { fmtInt } from './stats.js';
import type { Table } from './table.js';

export interface PhaseSpec {
  system: ConsumerSystem;
  /** Jobs/s offered. */
  rate: number;
  /** Fraction of this system's own capacity, or undefined for a common-rate phase. */
  fraction?: number;
}

export interface PhaseResult extends PhaseSpec {
  send: SendReport;
  latency: LatencyReport;
}

/** Issue 8: p99 wait at 50% of capacity, Troupe. */
export const TARGET_P99_WAIT_MS = 2;

const LATENCY_HEADERS = ['wait p50', 'wait p99', 'wait p99.9', 'e2e p50', 'e2e p99', 'e2e p99.9', 'producer late p99'];

function latencyCells(r: PhaseResult): string[] {
  const { wait, endToEnd, producerLate } = r.latency;
  return [fmtMs(wait.p50), fmtMs(wait.p99), fmtMs(wait.p999), fmtMs(endToEnd.p50), fmtMs(endToEnd.p99), fmtMs(endToEnd.p999), fmtMs(producerLate.p99)];
}

const pct = (f: number) => `${Math.round(f * 100)}%`;

export function capacityTable(capacities: ReadonlyMap<ConsumerSystem, MeasuredCapacity>, window: number, rounds: number): Table {
  return {
    title: 'Capacity: tiny (noop) jobs enqueued one per call by the producer process, as fast as it goes',
    headers: ['system', 'producer sends/s', 'completed jobs/s (capacity)', 'set by'],
    rows: [...capacities].map(([system, c]) => [CONSUMER_LABEL[system], fmtInt(c.sendRate), `${fmtInt(c.drainRate)}${c.drainRates.length > 1 ? ` (${c.drainRates.map(fmtInt).join(', ')})` : ''}`, c.limitedBy === 'consumer' ? 'consumer (backlog built up)' : 'producer (consumer kept up: a lower bound)']),
    textColumns: [0, 3],
    notes: [
      `${rounds} probe${rounds > 1 ? 's' : ''} of ${fmtInt([...capacities.values()][0]?.jobs ?? 0)} jobs per system after a warm-up, ${window} enqueue calls in flight; capacity = jobs / (first send → last completion); the probe with the median capacity is shown (the lower middle one for an even count), every probe's figure in brackets`,
      'the load levels below are fractions of each system\'s own capacity from this table',
    ],
  };
}

export function ownLoadTable(results: readonly PhaseResult[]): Table {
  const rows = results.filter((r) => r.fraction !== undefined);
  return {
    title: 'Latency at 25/50/75% of each system\'s own capacity, ms',
    headers: ['system', 'load', 'jobs/s', 'jobs', ...LATENCY_HEADERS],
    rows: rows.map((r) => [CONSUMER_LABEL[r.system], pct(r.fraction!), fmtInt(r.rate), fmtInt(r.latency.jobs), ...latencyCells(r)]),
    notes: [
      'wait: processor start − scheduled send; e2e: completion seen by the consumer − scheduled send (both from the open-loop schedule, so a late producer is charged, not hidden)',
      'producer late: actual send − scheduled send, already inside wait and e2e; large values mean the producer, not the consumer, fell behind',
    ],
  };
}

export function commonRateTable(results: readonly PhaseResult[]): Table {
  const rows = results.filter((r) => r.fraction === undefined);
  return {
    title: 'Latency at common rates (every system offered the same jobs/s), ms',
    headers: ['system', 'jobs/s', 'jobs', ...LATENCY_HEADERS],
    rows: rows.map((r) => [CONSUMER_LABEL[r.system], fmtInt(r.rate), fmtInt(r.latency.jobs), ...latencyCells(r)]),
    notes: ['rates: half the slowest system\'s capacity, and 200 jobs/s (the rate of PEERS.md\'s BullMQ latency figures)'],
  };
}

export function latencyTarget(results: readonly PhaseResult[]): TargetResult {
  const half = results.find((r) => r.system === 'troupe' && r.fraction === 0.5);
  if (!half) return { target: 'p99 wait at 50% load, Troupe', goal: `<= ${TARGET_P99_WAIT_MS} ms`, measured: 'not measured', met: false };
  const p99 = half.latency.wait.p99;
  return {
    target: 'p99 wait at 50% load, Troupe',
    goal: `<= ${TARGET_P99_WAIT_MS} ms`,
    measured: `${fmtMs(p99)} ms at ${fmtInt(half.rate)} jobs/s (p50 ${fmtMs(half.latency.wait.p50)} ms, ${fmtInt(half.latency.jobs)} jobs)`,
    met: p99 <= TARGET_P99_WAIT_MS,
  };
}

export function e2eChart(results: readonly PhaseResult[], systems: readonly ConsumerSystem[]): NonNullable<BenchResult['charts']>[number] {
  return {
    file: 'p99-e2e',
    chart: {
      kind: 'line',
      title: 'p99 end-to-end latency by load (fraction of each system\'s capacity)',
      xLabel: 'load, % of the system\'s own capacity',
      yLabel: 'p99 end-to-end, ms',
      series: systems.map((system) => ({
        name: CONSUMER_LABEL[system],
        points: results
          .filter((r) => r.system === system && r.fraction !== undefined)
          .map((r) => [Math.round(r.fraction! * 100), r.latency.endToEnd.p99] as const)
          .sort((a, b) => a[0] - b[0]),
      })),
    },
  };
}
