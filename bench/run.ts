/**
 * Entry for `npm run bench`: runs every bench (or those named with --only), prints result
 * tables to stdout and progress to stderr, and writes bench/results/<name>.md per bench.
 *   npm run bench -- --quick              smoke run: fewer jobs, one round
 *   npm run bench -- --only queue-ops     one bench (comma-separate several)
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startProgress } from '../src/cli/progress.js';
import { renderResultText, writeReport, type Bench } from './lib/report.js';

/**
 * Bench modules (bench/<name>.ts, each exporting `bench`), in the order they run. They are
 * imported only when selected, so one bench's heavy imports do not slow another's start.
 */
const BENCHES = ['end-to-end', 'cpu', 'latency', 'processors', 'resources', 'queue-ops'] as const;

async function loadBench(name: string): Promise<Bench> {
  const mod = (await import(`./${name}.js`)) as { bench: Bench };
  return mod.bench;
}

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

function selectBenches(only: string | undefined): string[] {
  if (only === undefined) return [...BENCHES];
  const names = only.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new Error(`unknown bench ${unknown.join(', ')}; known: ${BENCHES.join(', ')}`);
  }
  return BENCHES.filter((b) => names.includes(b));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
    strict: true,
  });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  for (const name of selectBenches(values.only)) {
    const bench = await loadBench(name);
    const began = performance.now();
    log(`bench ${bench.name}: starting${values.quick ? ' (quick)' : ''}`);
    const result = await bench.run({ quick: values.quick ?? false, log, progress: (label, total) => startProgress(label, total) });
    process.stdout.write(`${renderResultText(result)}\n`);
    const [path] = writeReport(RESULTS_DIR, result);
    log(`bench ${bench.name}: done in ${((performance.now() - began) / 1000).toFixed(0)} s, report in ${path}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  // A failed phase may leave peer clients retrying a server that is gone; do not wait on them.
  process.exit(1);
});
