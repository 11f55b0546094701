/**
 * What a supervisor and its threads keep in memory is, for the most part, the code they
 * imported: each thread is an isolate of its own, so a module a thread imports costs memory in
 * every thread for as long as it runs (docs/performance.md, "Idle memory"). These tests record
 * every ES module a process loads (through a loader hook) and count the ones that must wait for
 * their first use: a processor's run() code until a job of it runs, the other CLI commands and
 * the dashboard until they are used.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { COMMAND_SOURCES } from '../src/cli/commands/index.js';
import { PROJECT_DIR } from './helpers/supervisor-process.js';

const run = promisify(execFile);
const RECORD = join(PROJECT_DIR, 'test/fixtures/module-loads/record.mjs');
const THREAD_ENTRY = join(PROJECT_DIR, 'test/fixtures/module-loads/thread-entry.ts');
const MARK = 'troupe-test:entry-imported';

/** Each processor's code that its first job loads, as paths under src/. */
const PROCESSOR_CODE: Record<string, readonly string[]> = {
  pdf: ['processors/pdf/index.ts', 'processors/pdf/document.ts', 'processors/pdf/inflate-limit.ts'],
  fetch: ['processors/fetch/fetch.ts', 'processors/fetch/http-client.ts'],
  crawl: ['processors/fetch/crawl.ts'],
  http: ['processors/http-executor/index.ts', 'processors/http-executor/pool.ts'],
  wasm: ['processors/wasm/host.ts', 'processors/wasm/modules.ts'],
  maintenance: ['processors/maintenance.ts'],
};
/** Loaded by no thread until it opens a document. */
const PDFJS = 'node_modules/pdfjs-dist/';

/** Runs node with the loader hook and returns the module URLs it loaded, in order. */
async function loadsOf(args: string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-loads-'));
  const file = join(dir, 'loads.txt');
  try {
    await run(process.execPath, ['--import', 'tsx', '--import', RECORD, ...args], {
      cwd: PROJECT_DIR,
      env: { ...process.env, TROUPE_TEST_LOADS_FILE: file, NODE_OPTIONS: '' },
      timeout: 60_000,
    }).catch((err: { code?: unknown }) => {
      // --help and usage errors exit non-zero on purpose; a crash shows as missing modules below.
      if (typeof err.code !== 'number') throw err;
    });
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loaded = (urls: readonly string[], paths: readonly string[]) => paths.filter((p) => urls.some((u) => u.endsWith(`/src/${p}`)));

test('a thread imports no processor code until a job of that processor runs', async () => {
  const names = Object.keys(PROCESSOR_CODE);
  const urls = await loadsOf([THREAD_ENTRY, ...names]);
  const mark = urls.indexOf(MARK);
  assert.ok(mark > 0, 'the thread entry was imported');
  const atStart = urls.slice(0, mark);
  const afterJobs = urls.slice(mark);
  const heavy = names.flatMap((n) => PROCESSOR_CODE[n]!);
  assert.deepEqual(loaded(atStart, heavy), [], 'processor code loaded by importing the thread entry');
  assert.equal(atStart.filter((u) => u.includes(PDFJS)).length, 0, 'pdf.js loaded at thread start');
  // The count proves the recording works: each processor's job loaded its own code.
  assert.equal(loaded(afterJobs, heavy).length, heavy.length, `after one job of each: ${loaded(afterJobs, heavy).join(', ')}`);
  // The failing pdf job is refused before any document is opened, so pdf.js still waits.
  assert.equal(afterJobs.filter((u) => u.includes(PDFJS)).length, 0, 'pdf.js loaded for input that is not a PDF');
});

test('one processor job loads that processor only', async () => {
  const urls = await loadsOf([THREAD_ENTRY, 'wasm']);
  const others = Object.entries(PROCESSOR_CODE).filter(([n]) => n !== 'wasm').flatMap(([, p]) => p);
  assert.deepEqual(loaded(urls, others), []);
  assert.equal(loaded(urls, PROCESSOR_CODE.wasm!).length, PROCESSOR_CODE.wasm!.length);
});

/** Modules `troupe supervise` never needs: the other commands, the dashboard, the tune sweep. */
const NOT_FOR_SUPERVISE = ['cli/commands/tune.ts', 'cli/commands/dashboard.ts', 'cli/commands/bench.ts', 'cli/commands/admin.ts', 'cli/commands/schedule.ts', 'tune/run.ts', 'dashboard/dashboard.ts', 'charts/svg.ts'];

test('the CLI imports only the module of the command it runs', async () => {
  const supervise = await loadsOf(['src/cli/main.ts', 'supervise', '--help']);
  assert.equal(loaded(supervise, ['cli/commands/supervise.ts']).length, 1, 'supervise --help loaded the supervise command');
  assert.deepEqual(loaded(supervise, NOT_FOR_SUPERVISE), []);
  // Help over every command needs every command: they are all still there.
  const help = await loadsOf(['src/cli/main.ts', '--help']);
  const commands = ['supervise', 'demo', 'admin', 'schedule', 'dashboard', 'bench', 'tune'].map((c) => `cli/commands/${c}.ts`);
  assert.equal(loaded(help, commands).length, commands.length);
});

test('the command table names each command its modules define', async () => {
  for (const source of COMMAND_SOURCES) {
    const words = (await source.load()).map((c) => String(c.command).split(' ')[0]);
    assert.deepEqual(words, source.names);
  }
});
