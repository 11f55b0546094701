import { createInterface } from 'node:readline/promises';
import type { Argv } from 'yargs';
import { CodedError } from '../errors.js';
import { CliErrorCode, UsageError } from './exit.js';

/**
 * Output rules shared by the admin commands: data goes to stdout (tables for people, `--json`
 * for scripts), progress and notes go to stderr so they never corrupt what a script parses.
 */

export type Cell = string | number;

/** Columns padded to their widest cell; numbers right-aligned so magnitudes line up. */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (cells: Cell[]) =>
    cells
      .map((c, i) => (numeric[i] ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `key  value` lines for one record, keys aligned. */
export function formatFields(fields: Array<[string, string]>): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${k.padEnd(width)}  ${v.replace(/\n/g, `\n${' '.repeat(width + 2)}`)}`).join('\n') + '\n';
}

/** 850ms, 12.3s, 5m 03s, 2h 10m, 3d 4h: precise when short, coarse when long. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)}ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(abs / 1000);
  const sign = ms < 0 ? '-' : '';
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${sign}${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${sign}${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** "5m 03s ago" for the past, "in 12.0s" for the future (delayed jobs, pause ends). */
export function formatAge(at: number | undefined, now = Date.now()): string {
  if (!at) return '-';
  const delta = now - at;
  return delta >= 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
}

/** An absolute time for records people may need to correlate with logs. */
export function formatTime(at: number | undefined, now = Date.now()): string {
  if (!at) return '-';
  return `${new Date(at).toISOString()} (${formatAge(at, now)})`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** One line of at most `max` characters: tables must stay one row per job. */
export function oneLine(text: string | undefined, max = 80): string {
  if (!text) return '';
  const first = text.split('\n', 1)[0]!.trim();
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

/**
 * Buffers would print as {type:'Buffer', data:[...every byte...]}; scripts need to know there
 * are bytes and how many, not the bytes themselves.
 */
export function jsonSafe(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { type: 'bytes', length: value.byteLength };
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}

/** A payload or result shown in a table: bytes as a size, JSON compact and shortened. */
export function describeValue(value: unknown, max = 200): string {
  if (value === undefined) return '-';
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `${formatBytes(value.byteLength)} of bytes`;
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}… (${formatBytes(text.length)} of JSON)` : text;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(jsonSafe(value), null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function note(text: string): void {
  process.stderr.write(`troupe: ${text}\n`);
}

/** Thrown when a person answers "no": the command did nothing, which is not success. */
export class DeclinedError extends CodedError<typeof CliErrorCode.Declined> {
  override name = 'DeclinedError';
  constructor(message: string) {
    super(CliErrorCode.Declined, message);
  }
}

/**
 * Destructive commands ask first. Without a terminal nobody can answer, so refuse (usage error)
 * rather than hang on stdin or delete silently; `--yes` is the scripted way to confirm.
 */
export function assertCanConfirm(yes: boolean | undefined, what: string): void {
  if (yes || process.stdin.isTTY) return;
  throw new UsageError(`${what} needs confirmation, and standard input is not a terminal; pass --yes to confirm`);
}

export async function confirm(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new DeclinedError('not confirmed: nothing was changed');
  } finally {
    rl.close();
  }
}

export interface JsonArgs {
  json?: boolean;
}

export function withJsonOption<T>(yargs: Argv<T>): Argv<T & JsonArgs> {
  return yargs.option('json', { type: 'boolean', describe: 'print JSON for scripts instead of a table' }) as Argv<T & JsonArgs>;
}
