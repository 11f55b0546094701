import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart, type Chart } from '../../src/charts/svg.js';
import type { Progress } from '../../src/cli/progress.js';
import { renderMarkdown, renderText, type Table } from './table.js';

export type { Chart } from '../../src/charts/svg.js';

/** What every bench hands back to run.ts: printed to stdout and written as markdown. */
export interface BenchResult {
  name: string;
  title: string;
  /** Setup and method lines ("Redis 7.0.15, 5 rounds, ..."). */
  about: string[];
  tables: Table[];
  /** Tables for the report file only (too wide or too detailed for a terminal). */
  detailTables?: Table[];
  /** Where this run stands on the targets in PEERS.md / issue 8; gathered into bench/results/README.md. */
  targets?: TargetResult[];
  /** Charts written as bench/results/<bench>-<file>.svg and linked from the report. */
  charts?: Array<{ file: string; chart: Chart }>;
}

export interface TargetResult {
  /** e.g. "tiny jobs vs BullMQ sandboxed". */
  target: string;
  /** e.g. ">= 5x". */
  goal: string;
  /** e.g. "8.1x (27,310 vs 3,370 jobs/s)". */
  measured: string;
  met: boolean;
}

export interface BenchOptions {
  quick: boolean;
  /** Progress lines; run.ts sends them to stderr so stdout stays results only. */
  log(line: string): void;
  /** A progress bar over `total` steps (a TTY bar, or quarter lines in CI). */
  progress(label: string, total: number): Progress;
}

export interface Bench {
  name: string;
  run(options: BenchOptions): Promise<BenchResult>;
}

export function renderResultText(result: BenchResult): string {
  return [`== ${result.title}`, ...result.about.map((line) => `   ${line}`), '', ...result.tables.map((t) => `${renderText(t)}\n`)].join('\n');
}

export function renderResultMarkdown(result: BenchResult): string {
  const parts = [`# ${result.title}`, '', ...result.about.map((line) => `- ${line}`), ''];
  for (const table of [...result.tables, ...(result.detailTables ?? [])]) parts.push(renderMarkdown(table), '');
  for (const { file, chart } of result.charts ?? []) parts.push(`![${chart.title}](${chartFileName(result, file)})`, '');
  return parts.join('\n');
}

export function chartFileName(result: BenchResult, file: string): string {
  return `${result.name}-${file}.svg`;
}

/** Writes <dir>/<bench>.md and its charts; returns the paths written. */
export function writeReport(dir: string, result: BenchResult): string[] {
  mkdirSync(dir, { recursive: true });
  const written = [join(dir, `${result.name}.md`)];
  writeFileSync(written[0]!, renderResultMarkdown(result));
  for (const { file, chart } of result.charts ?? []) {
    const path = join(dir, chartFileName(result, file));
    writeFileSync(path, renderChart(chart));
    written.push(path);
  }
  return written;
}
