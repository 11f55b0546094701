/** The latency bench's tables, target row and chart, built from its aggregated phases. */
import type { BenchResult, TargetResult } from './report.js';
import type { PhaseRow, PhaseSpec, RoundResult } from './latency-aggregate.js';
import { consumerBound, type MeasuredCapacity } from './latency-capacity.js';
import { CONSUMER_LABEL, type ConsumerSystem } from './latency-consumers.js';
import { fmtMs } from './latency-record.js';
import { fmtInt } from './stats.js';
import type { Table } from './table.js';

/** Issue 8: p99 wait at 50% of capacity, Troupe. */
export const TARGET_P99_WAIT_MS = 2;
/** Issue 14: p99 wait at 50% of Troupe's own capacity, judged only when the consumer set that capacity. */
export const TARGET_P99_WAIT_OWN_CAPACITY_MS = 5;
/** Issue 14: at the rate BullMQ's latency is usually quoted at, p50 wait within a few loopback round trips. */
export const COMMON_RATE = 200;
export const TARGET_P50_WAIT_AT_COMMON_RATE_MS = 0.5;

const LATENCY_HEADERS = ['wait p50', 'wait p99', 'wait p99.9', 'e2e p50', 'e2e p99', 'e2e p99.9', 'producer late p99'];

function latencyCells(r: PhaseRow): string[] {
  const { wait, endToEnd } = r;
  return [fmtMs(wait.p50), fmtMs(wait.p99), fmtMs(wait.p999), fmtMs(endToEnd.p50), fmtMs(endToEnd.p99), fmtMs(endToEnd.p999), fmtMs(r.producerLateP99)];
}

const pct = (f: number) => `${Math.round(f * 100)}%`;
const loadLabel = (spec: PhaseSpec) => (spec.fraction === undefined ? 'common' : pct(spec.fraction));

function methodNotes(rounds: number): string[] {
  return [
    'wait: processor start − scheduled send; e2e: completion seen by the consumer − scheduled send (both from the open-loop schedule, so a late producer is charged, not hidden)',
    `p50 and p99: median over the ${rounds} rounds of each round's figure; p99.9: all rounds' jobs pooled (one round holds too few jobs for its own p99.9); every round is in the report's detail table`,
    'producer late: actual send − scheduled send (median of the rounds\' p99, over all producers\' jobs), already inside wait and e2e; when it is large, a producer process did not get the CPU on time',
  ];
}

export interface FloodShape {
  producers: number;
  /** Enqueue calls in flight per producer. */
  window: number;
  /** Jobs per enqueue call. */
  batch: number;
  rounds: number;
}

function setBy(c: MeasuredCapacity): string {
  const probes = `${c.consumerBoundProbes} of ${c.drainRates.length} probe${c.drainRates.length > 1 ? 's' : ''} backlogged`;
  return consumerBound(c) ? `consumer (${probes})` : `PRODUCERS: a lower bound, not the consumer's capacity (${probes})`;
}

export function capacityTable(capacities: ReadonlyMap<ConsumerSystem, MeasuredCapacity>, shape: FloodShape): Table {
  const { producers, window, batch, rounds } = shape;
  const perCall = batch === 1 ? 'one per enqueue call' : `${batch} per enqueue call (enqueueMany / addBulk)`;
  return {
    title: `Capacity: tiny (noop) jobs enqueued ${perCall} by ${producers} producer process${producers > 1 ? 'es' : ''}, as fast as they go`,
    headers: ['system', 'producers sent/s', 'completed jobs/s (capacity)', 'set by'],
    rows: [...capacities].map(([system, c]) => [
      CONSUMER_LABEL[system],
      fmtInt(c.sendRate),
      `${fmtInt(c.drainRate)}${c.drainRates.length > 1 ? ` (${c.drainRates.map(fmtInt).join(', ')})` : ''}`,
      setBy(c),
    ]),
    textColumns: [0, 3],
    notes: [
      `${rounds} probe${rounds > 1 ? 's' : ''} of ${fmtInt([...capacities.values()][0]?.jobs ?? 0)} jobs per system after a warm-up, split evenly over the ${producers} producers, ${window} enqueue calls in flight in each; capacity = jobs / (first send → last completion); the probe with the median capacity is shown (the lower middle one for an even count), every probe's figure in brackets`,
      'set by: the consumer when the producers sent more than 10% faster than jobs completed (a backlog built up), in the median probe and in most probes; otherwise the producers, and the capacity is only a lower bound on the consumer\'s',
      'the load levels below are fractions of each system\'s own capacity from this table; the same producers send them',
    ],
  };
}

/** One line per system whose capacity the producers set: its load levels are not fractions of the consumer. */
export function capacityWarnings(capacities: ReadonlyMap<ConsumerSystem, MeasuredCapacity>): string[] {
  return [...capacities]
    .filter(([, c]) => !consumerBound(c))
    .map(([system, c]) => `${CONSUMER_LABEL[system]}'s capacity (${fmtInt(c.drainRate)} jobs/s) was set by the producers, not the consumer: its load levels are fractions of the producers' rate${system === 'troupe' ? `, and the target "p99 wait at 50% of own capacity" cannot be judged` : ''}; run with more producers (TROUPE_LATENCY_PRODUCERS)`);
}

export function ownLoadTable(rows: readonly PhaseRow[], rounds: number): Table {
  const own = rows.filter((r) => r.spec.fraction !== undefined);
  return {
    title: 'Latency at 25/50/75% of each system\'s own capacity, ms',
    headers: ['system', 'load', 'jobs/s', 'jobs', ...LATENCY_HEADERS],
    rows: own.map((r) => [CONSUMER_LABEL[r.spec.system], loadLabel(r.spec), fmtInt(r.spec.rate), fmtInt(r.jobs), ...latencyCells(r)]),
    notes: methodNotes(rounds),
  };
}

export function commonRateTable(rows: readonly PhaseRow[]): Table {
  const common = rows.filter((r) => r.spec.fraction === undefined);
  return {
    title: 'Latency at common rates (every system offered the same jobs/s), ms',
    headers: ['system', 'jobs/s', 'jobs', ...LATENCY_HEADERS],
    rows: common.map((r) => [CONSUMER_LABEL[r.spec.system], fmtInt(r.spec.rate), fmtInt(r.jobs), ...latencyCells(r)]),
    notes: ['rates: half the slowest system\'s capacity, and 200 jobs/s (the rate commonly quoted for BullMQ latency); same method as above'],
  };
}

/** Every round on its own, in the order they ran, with the machine's load: for the report file. */
export function roundsTable(rounds: readonly RoundResult[]): Table {
  return {
    title: 'Every round, in the order run (ms; load = 1-minute load average of the machine at the round\'s end)',
    headers: ['system', 'load', 'jobs/s', 'round', 'jobs', 'wait p50', 'wait p99', 'e2e p99', 'producer late p99', 'machine load'],
    rows: rounds.map((r) => {
      const rep = r.recorder.report();
      return [
        CONSUMER_LABEL[r.spec.system],
        loadLabel(r.spec),
        fmtInt(r.spec.rate),
        String(r.round + 1),
        fmtInt(rep.jobs),
        fmtMs(rep.wait.p50),
        fmtMs(rep.wait.p99),
        fmtMs(rep.endToEnd.p99),
        fmtMs(rep.producerLate.p99),
        r.loadAvg.toFixed(2),
      ];
    }),
    textColumns: [0, 1],
  };
}

export function latencyTarget(rows: readonly PhaseRow[]): TargetResult {
  const base = { target: 'p99 wait at 50% load, Troupe', goal: `<= ${TARGET_P99_WAIT_MS} ms` };
  const half = rows.find((r) => r.spec.system === 'troupe' && r.spec.fraction === 0.5);
  if (!half) return { ...base, measured: 'not measured', met: false };
  const { p99, p99Range, p50 } = half.wait;
  return {
    ...base,
    measured: `${fmtMs(p99)} ms at ${fmtInt(half.spec.rate)} jobs/s (median of ${half.rounds} rounds, which ranged ${fmtMs(p99Range[0])}–${fmtMs(p99Range[1])} ms; p50 ${fmtMs(p50)} ms)`,
    met: p99 <= TARGET_P99_WAIT_MS,
  };
}

/**
 * Issue 14: p99 wait at 50% of Troupe's own capacity. Only a capacity the consumer set makes 50%
 * mean half of Troupe; a producer-bound one is reported as not judged (and not met).
 */
export function ownCapacityTarget(rows: readonly PhaseRow[], troupe: MeasuredCapacity): TargetResult {
  const base = { target: 'p99 wait at 50% of own capacity (consumer-bound), Troupe', goal: `<= ${TARGET_P99_WAIT_OWN_CAPACITY_MS} ms` };
  if (!consumerBound(troupe)) {
    return { ...base, measured: `not judged: the capacity (${fmtInt(troupe.drainRate)} jobs/s) was set by the producers, so 50% of it is not half of Troupe's`, met: false };
  }
  const half = rows.find((r) => r.spec.system === 'troupe' && r.spec.fraction === 0.5);
  if (!half) return { ...base, measured: 'not measured', met: false };
  const { p99, p99Range, p50 } = half.wait;
  return {
    ...base,
    measured: `${fmtMs(p99)} ms at ${fmtInt(half.spec.rate)} jobs/s of ${fmtInt(troupe.drainRate)} (median of ${half.rounds} rounds, which ranged ${fmtMs(p99Range[0])}–${fmtMs(p99Range[1])} ms; p50 ${fmtMs(p50)} ms; producers late p99 ${fmtMs(half.producerLateP99)} ms)`,
    met: p99 <= TARGET_P99_WAIT_OWN_CAPACITY_MS,
  };
}

/**
 * Issue 14, at 200 jobs/s offered to every system: Troupe's p50 wait <= 0.5 ms, and its p99 wait
 * no higher than BullMQ inline's in the same run (medians over the same interleaved rounds).
 */
export function commonRateTargets(rows: readonly PhaseRow[]): TargetResult[] {
  const at = (system: ConsumerSystem) => rows.find((r) => r.spec.system === system && r.spec.fraction === undefined && r.spec.rate === COMMON_RATE);
  const troupe = at('troupe');
  const bull = at('bullmq-inline');
  const p50Base = { target: `p50 wait at ${COMMON_RATE} jobs/s, Troupe`, goal: `<= ${TARGET_P50_WAIT_AT_COMMON_RATE_MS} ms` };
  const p99Base = { target: `p99 wait at ${COMMON_RATE} jobs/s, Troupe vs BullMQ inline`, goal: "<= BullMQ inline's" };
  if (!troupe) return [{ ...p50Base, measured: 'not measured', met: false }, { ...p99Base, measured: 'not measured', met: false }];
  const p50: TargetResult = {
    ...p50Base,
    measured: `${fmtMs(troupe.wait.p50)} ms (median of ${troupe.rounds} rounds)`,
    met: troupe.wait.p50 <= TARGET_P50_WAIT_AT_COMMON_RATE_MS,
  };
  if (!bull) return [p50, { ...p99Base, measured: 'BullMQ inline not measured', met: false }];
  const p99: TargetResult = {
    ...p99Base,
    measured: `${fmtMs(troupe.wait.p99)} vs ${fmtMs(bull.wait.p99)} ms (medians of ${troupe.rounds} rounds; Troupe's ranged ${fmtMs(troupe.wait.p99Range[0])}–${fmtMs(troupe.wait.p99Range[1])} ms)`,
    met: troupe.wait.p99 <= bull.wait.p99,
  };
  return [p50, p99];
}

export function e2eChart(rows: readonly PhaseRow[], systems: readonly ConsumerSystem[]): NonNullable<BenchResult['charts']>[number] {
  return {
    file: 'p99-e2e',
    chart: {
      kind: 'line',
      title: 'p99 end-to-end latency by load (fraction of each system\'s capacity)',
      xLabel: 'load, % of the system\'s own capacity',
      yLabel: 'p99 end-to-end, ms (median of rounds)',
      series: systems.map((system) => ({
        name: CONSUMER_LABEL[system],
        points: rows
          .filter((r) => r.spec.system === system && r.spec.fraction !== undefined)
          .map((r) => [Math.round(r.spec.fraction! * 100), r.endToEnd.p99] as const)
          .sort((a, b) => a[0] - b[0]),
      })),
    },
  };
}
