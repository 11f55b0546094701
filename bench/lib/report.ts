import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { renderMarkdown, renderText, type Table } from './table.js';

/** What every bench hands back to run.ts: printed to stdout and written as markdown. */
export interface BenchResult {
  name: string;
  title: string;
  /** Setup and method lines ("Redis 7.0.15, 5 rounds, ..."). */
  about: string[];
  tables: Table[];
  /** Tables for the report file only (too wide or too detailed for a terminal). */
  detailTables?: Table[];
}

export interface BenchOptions {
  quick: boolean;
  /** Progress lines; run.ts sends them to stderr so stdout stays results only. */
  log(line: string): void;
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
  return parts.join('\n');
}

export function writeMarkdown(path: string, result: BenchResult): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderResultMarkdown(result));
}
