import { createInterface } from 'node:readline/promises';
import type { Argv } from 'yargs';
import { CodedError } from '../errors.js';
import { formatAge, formatBytes, jsonSafe } from '../format.js';
import { CliErrorCode, UsageError } from './exit.js';

// Defined below the CLI since the dashboard uses them too; re-exported so commands keep one import.
export { formatAge, formatBytes, formatDuration, jsonSafe } from '../format.js';

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

/** An absolute time for records people may need to correlate with logs. */
export function formatTime(at: number | undefined, now = Date.now()): string {
  if (!at) return '-';
  return `${new Date(at).toISOString()} (${formatAge(at, now)})`;
}

/** One line of at most `max` characters: tables must stay one row per job. */
export function oneLine(text: string | undefined, max = 80): string {
  if (!text) return '';
  const first = text.split('\n', 1)[0]!.trim();
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

/** A payload or result shown in a table: bytes as a size, JSON compact and shortened. */
export function describeValue(value: unknown, max = 200): string {
  if (value === undefined) return '-';
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `${formatBytes(value.byteLength)} of bytes`;
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}… (${formatBytes(text.length)} of JSON)` : text;
}

/**
 * A reader that stops early (`troupe stats --watch --json | head -c 100`) closes the pipe, and the
 * next write to stdout fails with EPIPE, which Node throws as an unhandled 'error' event with a
 * stack trace. Nobody is left to read the rest, so the command has done its job: end at once,
 * quietly, with 0. Any other stdout error is a real failure and is thrown as before. Process-wide,
 * so every command is covered; pino writes the supervisor's log through a stream of its own, which
 * handles a closed pipe itself, so `troupe supervise` is not stopped by this.
 */
export function endQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
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
