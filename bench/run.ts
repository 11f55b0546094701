/**
 * Entry for `npm run bench`: runs every bench (or those named with --only), prints result
 * tables to stdout and progress to stderr, and writes bench/results/<name>.md per bench, then
 * bench/results/README.md (machine, targets, a section per bench) and results.json.
 *   npm run bench -- --quick              smoke run: fewer jobs, one round
 *   npm run bench -- --only queue-ops     one bench (comma-separate several)
 */
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { progressConsole } from '../src/cli/progress.js';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import { renderText } from './lib/table.js';
import { gitCommit, redisVersion } from './lib/env.js';
import { gatherTargets, renderResultText, targetsTable, writeReport, writeSummary, type Bench, type BenchResult, type MachineInfo, type SuiteRun } from './lib/report.js';

/**
 * Bench modules (bench/<name>.ts, each exporting `bench`), in the order they run. They are
 * imported only when selected, so one bench's heavy imports do not slow another's start.
 */
const BENCHES = ['end-to-end', 'cpu', 'latency', 'processors', 'resources', 'queue-ops', 'scale', 'cluster', 'dashboard', 'pdf-engines'] as const;

async function loadBench(name: string): Promise<Bench> {
  const mod = (await import(`./${name}.js`)) as { bench: Bench };
  return mod.bench;
}

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** A bad flag or bench name: said in one line, exit 2, as the CLI does for usage errors. */
class BenchUsageError extends Error {}

function selectBenches(only: string | undefined): string[] {
  if (only === undefined) return [...BENCHES];
  const names = only.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new BenchUsageError(`unknown bench ${unknown.join(', ')}; pick from: ${BENCHES.join(', ')} (comma-separated, e.g. --only cpu,latency)`);
  }
  return BENCHES.filter((b) => names.includes(b));
}

/** The file `redis-server` resolves to on PATH, as spawn() finds it. */
function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory (or not executable): keep looking along PATH.
    }
  }
  return undefined;
}

/**
 * The version the benches really measure: they start `redis-server` from PATH (startPrivateRedis),
 * which may differ from whatever answers on :6379, so ask a private one of the same binary.
 */
async function redisInfo(): Promise<{ version: string; binary: string }> {
  let server: Awaited<ReturnType<typeof startPrivateRedis>> | undefined;
  try {
    server = await startPrivateRedis();
    const client = new Redis(server.url);
    try {
      // Not INFO's `executable` for the binary: for a bare argv[0] it is the server's cwd joined
      // to it, a file that need not exist. startPrivateRedis spawns `redis-server` from PATH.
      return { version: await redisVersion(client), binary: onPath('redis-server') ?? 'redis-server' };
    } finally {
      client.disconnect();
    }
  } catch (err) {
    return { version: 'unknown', binary: `no redis-server could be started: ${(err as Error).message}` };
  } finally {
    await server?.destroy();
  }
}

async function machineAtStart(): Promise<MachineInfo> {
  const cpus = os.cpus();
  const loadStart = os.loadavg();
  const redis = await redisInfo();
  return {
    node: process.version,
    redisVersion: redis.version,
    redisBinary: redis.binary,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    loadStart,
    loadEnd: loadStart,
    startedAt: new Date().toISOString(),
    finishedAt: '',
    commit: gitCommit(),
  };
}

async function main(): Promise<number> {
  let values: { quick?: boolean; only?: string };
  try {
    ({ values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new BenchUsageError(`${(err as Error).message}; the flags are --quick and --only NAMES`);
  }
  const quick = values.quick ?? false;
  const selected = selectBenches(values.only);
  const terminal = progressConsole(process.stderr);
  const machine = await machineAtStart();
  const run: SuiteRun = { machine, quick, known: BENCHES, selected, results: [], failures: [] };
  for (const name of selected) {
    const began = performance.now();
    terminal.log(`bench ${name}: starting${quick ? ' (quick)' : ''}`);
    let result: BenchResult;
    try {
      const bench = await loadBench(name);
      result = await bench.run({ quick, log: terminal.log, progress: terminal.progress });
    } catch (err) {
      // The other benches still run and the summary still gets written; the exit code says it failed.
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      terminal.log(`bench ${name}: FAILED after ${((performance.now() - began) / 1000).toFixed(0)} s: ${error}`);
      run.failures.push({ name, error });
      continue;
    }
    run.results.push(result);
    process.stdout.write(`${renderResultText(result)}\n`);
    const [path] = writeReport(RESULTS_DIR, result);
    terminal.log(`bench ${name}: done in ${((performance.now() - began) / 1000).toFixed(0)} s, report in ${path}`);
  }
  machine.loadEnd = os.loadavg();
  machine.finishedAt = new Date().toISOString();
  const targets = gatherTargets(run.results);
  if (targets.length) process.stdout.write(`${renderText(targetsTable(targets))}\n`);
  const [readme] = writeSummary(RESULTS_DIR, run);
  terminal.log(`summary in ${readme}${run.failures.length ? `; failed: ${run.failures.map((f) => f.name).join(', ')}` : ''}`);
  return run.failures.length ? 1 : 0;
}

main().then(
  // Exit rather than wait for the event loop: a failed phase may leave peer clients retrying a
  // server that is gone, and they would keep the process alive.
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof BenchUsageError) {
      process.stderr.write(`bench: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
