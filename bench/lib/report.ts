/**
 * What a bench hands back, and how results become files: bench/results/<bench>.md with its SVG
 * charts per bench, and for the whole invocation bench/results/README.md (machine, targets, a
 * section per bench) and results.json (the raw results, for diffing runs). The render functions
 * are pure (results in, text out) so tests can check them without running a bench.
 */
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
  /** Where this run stands on the project's performance targets; gathered into bench/results/README.md. */
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

/** The machine and the moment, read once by run.ts for the whole invocation. */
export interface MachineInfo {
  node: string;
  /** redis_version from INFO server of the redis-server binary the benches start. */
  redisVersion: string;
  /** That binary's path (INFO server `executable`), or why there is no version. */
  redisBinary: string;
  cpuModel: string;
  cpuCount: number;
  /** os.loadavg(): 1, 5 and 15 minutes. */
  loadStart: number[];
  loadEnd: number[];
  startedAt: string;
  finishedAt: string;
  /** Short HEAD, "+dirty" when the measured sources have uncommitted changes. */
  commit: string;
}

/** One invocation of the suite: what was asked for and what came back. */
export interface SuiteRun {
  machine: MachineInfo;
  quick: boolean;
  /** Every bench the suite knows, in run order. */
  known: readonly string[];
  /** The benches this invocation ran (all of `known` unless --only). */
  selected: readonly string[];
  results: BenchResult[];
  /** Benches that threw: their section says so instead of showing stale numbers. */
  failures: Array<{ name: string; error: string }>;
}

export interface GatheredTarget extends TargetResult {
  bench: string;
}

const MET = '✓';
const MISSED = '✗';

/** A chart's file name: `<bench>-<file>.svg`, reduced to characters safe in a path and a markdown link. */
export function chartFileName(result: Pick<BenchResult, 'name'>, file: string): string {
  const safe = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'chart';
  return `${safe(result.name)}-${safe(file)}.svg`;
}

/** Alt text inside ![...]: brackets would end it early. */
function altText(text: string): string {
  return text.replace(/[[\]\\]/g, (c) => `\\${c}`).replace(/\s*\r?\n\s*/g, ' ');
}

function chartLinks(result: BenchResult): string[] {
  return (result.charts ?? []).flatMap(({ file, chart }) => [`![${altText(chart.title)}](${chartFileName(result, file)})`, '']);
}

/** Every bench's target rows, in run order, each tagged with its bench. */
export function gatherTargets(results: readonly BenchResult[]): GatheredTarget[] {
  return results.flatMap((r) => (r.targets ?? []).map((t) => ({ bench: r.name, ...t })));
}

export function targetsTable(targets: readonly GatheredTarget[], withBench = true): Table {
  const met = targets.filter((t) => t.met).length;
  return {
    title: `Targets: ${met} of ${targets.length} met`,
    headers: [...(withBench ? ['bench'] : []), 'target', 'goal', 'measured', 'met'],
    rows: targets.map((t) => [...(withBench ? [t.bench] : []), t.target, t.goal, t.measured, t.met ? MET : MISSED]),
    textColumns: withBench ? [0, 1, 2, 3, 4] : [0, 1, 2, 3],
  };
}

export function renderResultText(result: BenchResult): string {
  const tables = [...result.tables];
  if (result.targets?.length) tables.push(targetsTable(gatherTargets([result]), false));
  return [`== ${result.title}`, ...result.about.map((line) => `   ${line}`), '', ...tables.map((t) => `${renderText(t)}\n`)].join('\n');
}

/** bench/results/<bench>.md: everything the bench reported, detail tables included. */
export function renderResultMarkdown(result: BenchResult): string {
  const parts = [`# ${result.title}`, '', ...result.about.map((line) => `- ${line}`), ''];
  if (result.targets?.length) parts.push(renderMarkdown(targetsTable(gatherTargets([result]), false), 2), '');
  for (const table of [...result.tables, ...(result.detailTables ?? [])]) parts.push(renderMarkdown(table, 2), '');
  parts.push(...chartLinks(result));
  return parts.join('\n');
}

function loadLine(load: readonly number[]): string {
  return load.map((l) => l.toFixed(2)).join(' / ');
}

function machineSection(run: SuiteRun): string[] {
  const m = run.machine;
  const notRun = run.known.filter((n) => !run.selected.includes(n));
  return [
    '## Machine and run',
    '',
    `- Date: ${m.startedAt} to ${m.finishedAt}`,
    `- Commit: ${m.commit}`,
    `- Node ${m.node}; Redis ${m.redisVersion} (INFO server of ${m.redisBinary})`,
    `- CPU: ${m.cpuCount} × ${m.cpuModel}`,
    `- Load average (1 / 5 / 15 min): ${loadLine(m.loadStart)} at the start, ${loadLine(m.loadEnd)} at the end`,
    `- Mode: ${run.quick ? 'quick (--quick: few jobs, one round; a smoke run, not for comparison)' : 'full'}`,
    `- Benches in this run: ${run.selected.join(', ') || 'none'}${
      notRun.length ? `. Not run: ${notRun.join(', ')} (any of their files in this folder are from an earlier run and are not summarised here)` : ''
    }`,
    '',
  ];
}

function benchSection(result: BenchResult): string[] {
  const parts = [`## ${result.title}`, '', `Full report, with detail tables: [${result.name}.md](${result.name}.md)`, ''];
  parts.push(...result.about.map((line) => `- ${line}`), '');
  for (const table of result.tables) parts.push(renderMarkdown(table, 3), '');
  parts.push(...chartLinks(result));
  return parts;
}

/** bench/results/README.md: the machine, every target in one table, then a section per bench that ran. */
export function renderSummaryMarkdown(run: SuiteRun): string {
  const parts = ['# Bench results', '', ...machineSection(run)];
  const targets = gatherTargets(run.results);
  parts.push('## Targets', '');
  if (targets.length) parts.push(renderMarkdown({ ...targetsTable(targets), title: `${targets.filter((t) => t.met).length} of ${targets.length} met` }, 3), '');
  else parts.push('No bench in this run reports targets.', '');
  if (run.failures.length) {
    parts.push('## Failed benches', '');
    for (const f of run.failures) parts.push(`- **${f.name}**: ${f.error.split('\n')[0]}`);
    parts.push('');
  }
  const order = (r: BenchResult) => {
    const i = run.selected.indexOf(r.name);
    return i === -1 ? Number.MAX_SAFE_INTEGER : i;
  };
  for (const result of [...run.results].sort((a, b) => order(a) - order(b))) parts.push(...benchSection(result));
  return `${parts.join('\n').trimEnd()}\n`;
}

/** results.json: the run as data; NaN and Infinity (a rate with no time) become null. */
export function renderSummaryJson(run: SuiteRun): string {
  return `${JSON.stringify({ machine: run.machine, quick: run.quick, selected: run.selected, failures: run.failures, results: run.results }, null, 2)}\n`;
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

/** Writes <dir>/README.md and <dir>/results.json; returns their paths. */
export function writeSummary(dir: string, run: SuiteRun): string[] {
  mkdirSync(dir, { recursive: true });
  const readme = join(dir, 'README.md');
  const json = join(dir, 'results.json');
  writeFileSync(readme, renderSummaryMarkdown(run));
  writeFileSync(json, renderSummaryJson(run));
  return [readme, json];
}
