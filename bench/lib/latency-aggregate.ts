/**
 * Rounds of the latency bench folded into one row per phase. Each phase (a system at a rate) runs
 * as several short rounds interleaved with the other systems', so a burst of outside load on a
 * shared machine lands in one round, not in one system's whole figure. A row then gives, per
 * latency: p50 and p99 as the median over rounds (robust to one bad round), and p99.9 from all
 * rounds pooled (a short round holds too few jobs for a p99.9 of its own).
 */
import type { ConsumerSystem } from './latency-consumers.js';
import { LatencyRecorder } from './latency-record.js';
import { percentile } from '../../src/metrics/latency.js';
import type { SendReport } from './paced-protocol.js';
import { median, rotate } from './stats.js';
import type { Histogram } from 'hdr-histogram-js';

export interface PhaseSpec {
  system: ConsumerSystem;
  /** Jobs/s offered. */
  rate: number;
  /** Fraction of this system's own capacity, or undefined for a common-rate phase. */
  fraction?: number;
}

export interface RoundResult {
  spec: PhaseSpec;
  round: number;
  send: SendReport;
  recorder: LatencyRecorder;
  /** 1-minute load average when the round ended: how busy the shared machine was. */
  loadAvg: number;
}

export interface Percentiles {
  /** Median over rounds of each round's p50, ms. */
  p50: number;
  /** Median over rounds of each round's p99, ms. */
  p99: number;
  /** Lowest and highest round p99, ms. */
  p99Range: [number, number];
  /** p99.9 of every round's jobs pooled, ms. */
  p999: number;
}

export interface PhaseRow {
  spec: PhaseSpec;
  rounds: number;
  jobs: number;
  wait: Percentiles;
  endToEnd: Percentiles;
  /** Median over rounds of the producer's p99 lateness, ms. */
  producerLateP99: number;
  backwards: number;
}

export function phaseKey(spec: PhaseSpec): string {
  return `${spec.system}@${spec.rate}/${spec.fraction ?? 'common'}`;
}

const ms = (h: Histogram, p: number) => (h.totalCount === 0 ? Number.NaN : percentile(h, p) / 1000);

function percentiles(perRound: readonly Histogram[], pooled: Histogram): Percentiles {
  const p99s = perRound.map((h) => ms(h, 99));
  return {
    p50: median(perRound.map((h) => ms(h, 50))),
    p99: median(p99s),
    p99Range: [Math.min(...p99s), Math.max(...p99s)],
    p999: ms(pooled, 99.9),
  };
}

/** One row per phase, in the order phases first appear. */
export function aggregate(rounds: readonly RoundResult[]): PhaseRow[] {
  const groups = new Map<string, RoundResult[]>();
  for (const r of rounds) {
    const key = phaseKey(r.spec);
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].map((group) => {
    const pooled = new LatencyRecorder();
    for (const r of group) pooled.merge(r.recorder);
    return {
      spec: group[0]!.spec,
      rounds: group.length,
      jobs: pooled.jobs,
      wait: percentiles(group.map((r) => r.recorder.wait), pooled.wait),
      endToEnd: percentiles(group.map((r) => r.recorder.endToEnd), pooled.endToEnd),
      producerLateP99: median(group.map((r) => ms(r.recorder.producerLate, 99))),
      backwards: pooled.backwards,
    };
  });
}

/**
 * The order rounds run in: round r of every phase, then round r + 1, so a phase's rounds are
 * spread over the whole run. Phases come in groups (one per system at the same level), and the
 * order within a group rotates with the round, so no system always goes first.
 */
export function interleaveRounds<T>(phases: readonly T[], groupSize: number, rounds: number): Array<{ spec: T; round: number }> {
  const order: Array<{ spec: T; round: number }> = [];
  for (let round = 0; round < rounds; round++) {
    for (let start = 0; start < phases.length; start += groupSize) {
      for (const spec of rotate(phases.slice(start, start + groupSize), round)) order.push({ spec, round });
    }
  }
  return order;
}
