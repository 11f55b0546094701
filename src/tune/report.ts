import { CONFIG_KEYS } from '../supervisor/config.js';
import { describeRule, KNEE_RULE, risingAtEdge, type KneeChoice } from './knee.js';
import type { Measurement } from './measure.js';
import { pointLabel, type TunePoint } from './plan.js';
import type { TuneResult } from './run.js';

/** Milliseconds with the precision that matters at their size. */
export function fmtMs(ms: number): string {
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

export function fmtRate(perSec: number): string {
  return perSec >= 100 ? Math.round(perSec).toLocaleString('en-US') : perSec.toFixed(1);
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Numbers right-aligned under right-aligned headers; the marker column left-aligned and last. */
function aligned(headers: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAligned[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function marker(i: number, choice: KneeChoice, row: Measurement): string {
  const notes: string[] = [];
  if (choice.ok && i === choice.knee) notes.push('← knee');
  if (choice.ok && i === choice.best && choice.best !== choice.knee) notes.push('best jobs/s');
  if (row.failed > 0) notes.push('has failures');
  if (row.ranDry) notes.push(`queue ran dry: ${row.windowSeconds.toFixed(1)} s window`);
  return notes.join(', ');
}

export function formatTable(result: TuneResult): string {
  const headers = ['threads', 'tasks/thread', 'jobs/s', 'p50 ms', 'p99 ms', 'run p99 ms', 'failed', ''];
  const rows = result.rows.map((r, i) => [
    String(r.threads),
    String(r.tasksPerThread),
    fmtRate(r.jobsPerSec),
    // No completion means no latency, not a latency of zero.
    r.completed > 0 ? fmtMs(r.p50Ms) : '-',
    r.completed > 0 ? fmtMs(r.p99Ms) : '-',
    r.completed > 0 ? fmtMs(r.runP99Ms) : '-',
    String(r.failed),
    marker(i, result.choice, r),
  ]);
  return aligned(headers, rows, [true, true, true, true, true, true, true, false]);
}

/** The same setting three ways, as the README's configuration table lists them. */
export function flagsFor(p: TunePoint): { cli: string; env: string; config: Record<string, number> } {
  return {
    cli: `troupe supervise --threads ${p.threads} --tasks-per-thread ${p.tasksPerThread}`,
    env: `${CONFIG_KEYS.threads.env[0]}=${p.threads} ${CONFIG_KEYS.tasksPerThread.env[0]}=${p.tasksPerThread}`,
    config: { threads: p.threads, tasksPerThread: p.tasksPerThread },
  };
}

/** Why the knee is that row, in the rule's own terms; or why there is no recommendation. */
export function explain(result: TuneResult): string {
  const { choice, rows } = result;
  const errorNote = result.firstError ? ` Last error: ${result.firstError.replace(/\.?$/, '.')}` : '';
  const failedNote =
    choice.withFailures.length > 0 ? ` ${plural(choice.withFailures.length, 'configuration', 'configurations')} had failed jobs and could not be chosen.${errorNote}` : '';
  if (!choice.ok) {
    if (choice.why === 'all-failed') {
      const scope = result.stoppedEarly ? 'at the first configuration (1 thread × 1 task), so the others were not run' : 'in every configuration';
      return `No recommendation: every ${result.processor} job on this sample failed ${scope}.${errorNote} Fix the sample or the processor (try: troupe enqueue QUEUE ${result.processor} --data-file ${result.sample.path}, then troupe job ID).`;
    }
    if (choice.why === 'every-config-failed') {
      return `No recommendation: some ${result.processor} jobs failed in every configuration, and a configuration with failures is never recommended.${errorNote}`;
    }
    return `No recommendation: no job finished inside a ${result.seconds} s window. Raise --seconds to at least 20 times one job's run time.`;
  }
  const knee = rows[choice.knee]!;
  const best = rows[choice.best]!;
  const share = Math.round((knee.jobsPerSec / best.jobsPerSec) * 100);
  const why =
    choice.knee === choice.best
      ? `it has the best throughput (${fmtRate(best.jobsPerSec)} jobs/s), and no cheaper configuration reaches ${Math.round(KNEE_RULE.throughputShare * 100)}% of it with a p99 under ${fmtMs(choice.p99LimitMs)} ms`
      : `it reaches ${share}% of the best throughput (${fmtRate(knee.jobsPerSec)} of ${fmtRate(best.jobsPerSec)} jobs/s at ${pointLabel(best)}) with p99 ${fmtMs(knee.p99Ms)} ms (limit ${fmtMs(choice.p99LimitMs)} ms), with fewer threads or tasks per thread`;
  return `Knee: ${plural(knee.threads, 'thread', 'threads')} × ${plural(knee.tasksPerThread, 'task', 'tasks')} per thread, because ${why}. The rule: ${describeRule()}.${failedNote}`;
}

export function formatReport(result: TuneResult, svgPath: string | undefined): string {
  const lines = [
    `troupe tune ${result.processor}: sample ${result.sample.path} (${result.sample.kind === 'json' ? 'JSON' : 'bytes'}, ${result.sample.bytes} bytes), ` +
      `${result.seconds} s per configuration after ${result.warmupSeconds} s of warm-up${result.rounds > 1 ? `, medians of ${result.rounds} rounds` : ''}, ${plural(result.cores, 'core', 'cores')} here`,
    '',
    formatTable(result),
    '',
    'jobs/s: jobs completed per second in the window. p50/p99: ms from lease to result (waiting for a slot, then running); run p99: the run alone.',
    '',
    explain(result),
  ];
  const edge = risingAtEdge(result.rows, result.choice, result.cores);
  if (edge.tasksPerThread || edge.threads) {
    const best = result.rows[result.choice.ok ? result.choice.best : 0]!;
    const wider = [
      ...(edge.tasksPerThread ? [`--max-tasks-per-thread ${best.tasksPerThread * 2}`] : []),
      ...(edge.threads ? [`--max-threads ${result.cores}`] : []),
    ];
    lines.push(
      '',
      `Note: throughput was still rising at the edge of the sweep (${pointLabel(best)}); a wider sweep may find more: ${wider.join(', ')}.`,
    );
  }
  if (result.rows.some((r) => r.ranDry)) {
    lines.push('', 'Note: the queue ran dry in some windows, which then ended early; their figures cover the shorter time shown.');
  }
  if (result.rows.some((r) => r.completed > 0 && r.completed < 20)) {
    lines.push('', 'Note: some windows completed fewer than 20 jobs; raise --seconds for steadier figures.');
  }
  if (result.choice.ok) {
    const flags = flagsFor(result.rows[result.choice.knee]!);
    lines.push(
      '',
      'Use it:',
      `  ${flags.cli}`,
      `  ${flags.env} troupe supervise`,
      `  config file: ${JSON.stringify(flags.config)}`,
    );
    if (result.rows[result.choice.knee]!.threads > result.cores) {
      lines.push(`  (more threads than this machine's ${result.cores} cores: the processor waits more than it computes)`);
    }
    lines.push(`Measured on this machine (${plural(result.cores, 'core', 'cores')}); run troupe tune again where the supervisors will run.`);
  }
  if (svgPath) lines.push(`Chart: ${svgPath}`);
  return `${lines.join('\n')}\n`;
}

/** `--json`: the same facts for scripts, numbers unformatted. */
export function reportJson(result: TuneResult, svgPath: string | undefined): Record<string, unknown> {
  const { choice } = result;
  return {
    processor: result.processor,
    sample: result.sample,
    cores: result.cores,
    seconds: result.seconds,
    rounds: result.rounds,
    warmupSeconds: result.warmupSeconds,
    rule: { ...KNEE_RULE, text: describeRule() },
    rows: result.rows,
    knee: choice.ok ? { index: choice.knee, threads: result.rows[choice.knee]!.threads, tasksPerThread: result.rows[choice.knee]!.tasksPerThread } : null,
    best: choice.ok ? { index: choice.best, threads: result.rows[choice.best]!.threads, tasksPerThread: result.rows[choice.best]!.tasksPerThread } : null,
    noRecommendation: choice.ok ? null : choice.why,
    reason: explain(result),
    flags: choice.ok ? flagsFor(result.rows[choice.knee]!) : null,
    stoppedEarly: result.stoppedEarly,
    firstError: result.firstError ?? null,
    svg: svgPath ?? null,
  };
}
