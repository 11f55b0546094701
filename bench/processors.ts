/**
 * Processor throughput, each against its peer on the same input in the same run:
 *   - HTML extraction: the `wasm` processor's built-in extractor against the same algorithm in
 *     plain JavaScript (bench/lib/extract-js.ts), on real-looking pages of three sizes, on the
 *     real thread pool at 1 and 2 threads, and in one thread without the pool;
 *   - PDF text: the `pdf` processor against poppler's pdftotext on the same files, at 1 and 2
 *     at a time (skipped, with a line saying why, when either is missing).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, promisify } from 'node:util';
import { Piscina } from 'piscina';
import { BUILTIN_PROCESSORS } from '../src/processors/builtin.js';
import type { ProcessorContext } from '../src/processors/contract.js';
import { wasm } from '../src/processors/wasm/processor.js';
import { threadEntryUrl } from '../src/threads/entry.js';
import { CELL_INDEX, CELL_SLOTS, type ThreadJob, type ThreadTask, type ThreadTaskResult } from '../src/threads/protocol.js';
import { knownTextDocument, makePdf } from '../test/fixtures/pdf/make-pdf.js';
import { extractJs } from './lib/extract-js.js';
import { makePage } from './lib/html-corpus.js';
import type { Bench, BenchOptions, BenchResult } from './lib/report.js';
import { fmtInt, fmtRate, fmtRatio, halfSpreadPct, median, rotate } from './lib/stats.js';
import type { Table } from './lib/table.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const JS_PLUGIN = fileURLToPath(new URL('./lib/extract-js-plugin.cjs', import.meta.url));
const PDF_FIXTURES = join(ROOT, 'test', 'fixtures', 'pdf', 'real-world');

/** Page sizes, and jobs per thread task as the supervisor would pack them (jobs ≤ 1 ms are packed). */
const SIZES = [
  { label: '8 KB', bytes: 8_000, perTask: 16 },
  { label: '64 KB', bytes: 64_000, perTask: 1 },
  { label: '512 KB', bytes: 512_000, perTask: 1 },
] as const;
const THREADS = [1, 2] as const;
const PAGES_PER_SIZE = 8;
const FULL = { rounds: 3, mbPerPhase: 40, pdfRepeats: 6 };
const QUICK = { rounds: 1, mbPerPhase: 8, pdfRepeats: 1 };
const MB = 1e6;

type Engine = 'wasm' | 'js';

/** MB/s with one decimal: PDF rates are a few MB/s, which whole numbers would flatten. */
function fmtMb(values: readonly number[]): string {
  if (values.length === 0) return '—';
  return `${median(values).toFixed(1)}${values.length > 1 ? ` ±${halfSpreadPct(values).toFixed(0)}%` : ''}`;
}
const PROCESSOR: Record<Engine, string> = { wasm: 'wasm', js: 'html-js' };
type Pool = Piscina<ThreadTask, ThreadTaskResult>;

function makePool(threads: number): Pool {
  return new Piscina<ThreadTask, ThreadTaskResult>({
    filename: threadEntryUrl().href,
    workerData: { plugins: [JS_PLUGIN], defaultTimeoutMs: 0 },
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 600_000,
    // The supervisor's default heap per thread; pdf.js needs far more than the thread tests' 64 MB.
    resourceLimits: { maxOldGenerationSizeMb: 512 },
  });
}

let nextId = 0;
function task(processor: string, inputs: unknown[]): ThreadTask {
  const cell = new SharedArrayBuffer(CELL_SLOTS * BigInt64Array.BYTES_PER_ELEMENT);
  Atomics.store(new BigInt64Array(cell), CELL_INDEX, -1n);
  const jobs: ThreadJob[] = inputs.map((data) => ({ id: `b${nextId++}`, queue: 'bench', processor, data, attempt: 1, maxAttempts: 1, timeoutMs: 0 }));
  return { jobs, cell };
}

/** Runs `count` jobs, `perTask` to a task, keeping one task per thread in flight; returns seconds. */
async function drive(pool: Pool, threads: number, processor: string, inputs: readonly unknown[], count: number, perTask: number): Promise<{ seconds: number; results: unknown[] }> {
  let next = 0;
  const results: unknown[] = [];
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) {
      const batch: unknown[] = [];
      while (batch.length < perTask && next < count) batch.push(inputs[next++ % inputs.length]);
      const { outcomes } = await pool.run(task(processor, batch));
      for (const outcome of outcomes) {
        if (outcome.status !== 'completed') throw new Error(`${processor} failed in the bench: ${outcome.error.name}: ${outcome.error.message}`);
        results.push(outcome.result);
      }
    }
  };
  await Promise.all(Array.from({ length: threads }, lane));
  return { seconds: (performance.now() - started) / 1000, results };
}

const ctx = { signal: new AbortController().signal } as ProcessorContext;

async function direct(engine: Engine, docs: readonly string[], count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const doc = docs[i % docs.length]!;
    if (engine === 'wasm') await wasm.run(doc, ctx);
    else extractJs(doc, 'html');
  }
  return (performance.now() - started) / 1000;
}

interface HtmlRound {
  pool: Map<string, number>;
  direct: Map<string, number>;
}

const key = (size: string, engine: Engine, threads?: number): string => `${size}/${engine}/${threads ?? 0}`;

async function htmlBench(options: BenchOptions, config: typeof FULL, pools: Map<number, Pool>): Promise<Table[]> {
  const corpora = SIZES.map((size) => {
    const docs = Array.from({ length: PAGES_PER_SIZE }, (_, i) => makePage(1000 * size.bytes + i, size.bytes));
    const bytes = docs.reduce((sum, d) => sum + Buffer.byteLength(d), 0) / docs.length;
    return { ...size, docs, avgBytes: bytes, count: Math.max(PAGES_PER_SIZE, Math.ceil((config.mbPerPhase * MB) / bytes)) };
  });
  // Both engines must do the same work, or the comparison means nothing.
  for (const c of corpora) {
    for (const doc of c.docs) {
      if (!isDeepStrictEqual(await wasm.run(doc, ctx), extractJs(doc, 'html'))) throw new Error(`wasm and plain JS disagree on a ${c.label} page`);
    }
  }
  options.log(`processors: HTML corpus checked (wasm and plain JS agree on ${corpora.length * PAGES_PER_SIZE} pages); warming up`);
  for (const c of corpora) {
    for (const engine of ['wasm', 'js'] as Engine[]) {
      await direct(engine, c.docs, c.docs.length * 3);
      for (const threads of THREADS) await drive(pools.get(threads)!, threads, PROCESSOR[engine], c.docs, c.docs.length * 2, c.perTask);
    }
  }

  const rounds: HtmlRound[] = [];
  for (let r = 0; r < config.rounds; r++) {
    const round: HtmlRound = { pool: new Map(), direct: new Map() };
    for (const c of corpora) {
      for (const engine of rotate(['wasm', 'js'] as Engine[], r)) {
        round.direct.set(key(c.label, engine), await direct(engine, c.docs, c.count));
        for (const threads of THREADS) {
          const { seconds } = await drive(pools.get(threads)!, threads, PROCESSOR[engine], c.docs, c.count, c.perTask);
          round.pool.set(key(c.label, engine, threads), seconds);
          options.log(`processors round ${r + 1}/${config.rounds}  ${c.label.padEnd(6)} ${engine.padEnd(4)} ${threads} thread${threads > 1 ? 's' : ' '}  ${fmtInt(c.count / seconds).padStart(7)} docs/s`);
        }
      }
    }
    rounds.push(round);
  }

  const rates = (c: (typeof corpora)[number], get: (r: HtmlRound) => number) => ({
    docs: rounds.map((r) => c.count / get(r)),
    mb: rounds.map((r) => (c.count * c.avgBytes) / MB / get(r)),
  });
  const ratio = (get: (r: HtmlRound, e: Engine) => number) => fmtRatio(median(rounds.map((r) => get(r, 'js') / get(r, 'wasm'))));
  const notes = [
    `pages from bench/lib/html-corpus.ts (${PAGES_PER_SIZE} per size, seeded): head with CSS, scripts and JSON-LD, navigation, article with inline links and references, lists, tables, code, aside, footer`,
    `each phase extracts ${config.mbPerPhase} MB of HTML; median of ${config.rounds} round${config.rounds > 1 ? 's' : ''}${config.rounds > 1 ? ', ± half the min-max range' : ''}; MB = 10^6 bytes of HTML in`,
    'WASM: a fresh instance per document in a 128 MiB capped memory, input encoded into it, output JSON parsed back (all of it timed); JS: the same algorithm on strings, returning the object directly',
    'WASM/JS: median of per-round ratios of docs/s (above 1: WASM faster); the two produce identical results (checked before timing)',
  ];
  const poolTable: Table = {
    title: 'HTML extraction on the thread pool: built-in WASM extractor vs the same algorithm in plain JS',
    headers: ['page', 'threads', 'WASM docs/s', 'WASM MB/s', 'JS docs/s', 'JS MB/s', 'WASM/JS'],
    rows: corpora.flatMap((c) =>
      THREADS.map((t) => {
        const w = rates(c, (r) => r.pool.get(key(c.label, 'wasm', t))!);
        const j = rates(c, (r) => r.pool.get(key(c.label, 'js', t))!);
        return [c.label, String(t), fmtRate(w.docs), fmtMb(w.mb), fmtRate(j.docs), fmtMb(j.mb), ratio((r, e) => r.pool.get(key(c.label, e, t))!)];
      }),
    ),
    textColumns: [0],
    notes: [...notes, `thread pool: the real thread entry (src/threads/worker.ts), one task per thread in flight; ${SIZES.map((s) => `${s.label}: ${s.perTask} job${s.perTask > 1 ? 's' : ''} per task`).join(', ')} (the supervisor packs jobs of ≤ 1 ms)`],
  };
  const directTable: Table = {
    title: 'HTML extraction in one thread, no pool (the engines alone)',
    headers: ['page', 'WASM docs/s', 'WASM MB/s', 'JS docs/s', 'JS MB/s', 'WASM/JS'],
    rows: corpora.map((c) => {
      const w = rates(c, (r) => r.direct.get(key(c.label, 'wasm'))!);
      const j = rates(c, (r) => r.direct.get(key(c.label, 'js'))!);
      return [c.label, fmtRate(w.docs), fmtMb(w.mb), fmtRate(j.docs), fmtMb(j.mb), ratio((r, e) => r.direct.get(key(c.label, e))!)];
    }),
    textColumns: [0],
  };
  return [poolTable, directTable];
}

interface PdfFile {
  name: string;
  path: string;
  bytes: Buffer;
  pages: number;
}

async function pdftotextPages(path: string): Promise<number> {
  const { stdout } = await run('pdftotext', ['-q', path, '-'], { maxBuffer: 256 * 1024 * 1024 });
  return (stdout.match(/\f/g) ?? []).length;
}

async function pdfFiles(pool: Pool, log: (line: string) => void): Promise<PdfFile[]> {
  const dir = join(ROOT, 'tmp', 'bench-processors');
  mkdirSync(dir, { recursive: true });
  const generated = join(dir, 'generated-40-pages.pdf');
  writeFileSync(generated, makePdf(knownTextDocument(40).spec));
  const paths = [...readdirSync(PDF_FIXTURES).filter((f) => f.endsWith('.pdf')).map((f) => join(PDF_FIXTURES, f)), generated];
  const files: PdfFile[] = [];
  for (const path of paths) {
    const name = path.split('/').pop()!;
    const bytes = readFileSync(path);
    const { outcomes } = await pool.run(task('pdf', [bytes]));
    const outcome = outcomes[0]!;
    if (outcome.status !== 'completed') {
      log(`processors: ${name} left out: the pdf processor fails on it (${outcome.error.code ?? outcome.error.name})`);
      continue;
    }
    const pages = (outcome.result as { pageCount: number }).pageCount;
    const reference = await pdftotextPages(path).catch(() => -1);
    if (reference !== pages) {
      log(`processors: ${name} left out: pdftotext reads ${reference} pages, the pdf processor ${pages}`);
      continue;
    }
    files.push({ name, path, bytes, pages });
  }
  return files;
}

async function pdftotextRun(files: PdfFile[], repeats: number, concurrency: number): Promise<number> {
  const queue = Array.from({ length: repeats }, () => files).flat();
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < queue.length) await pdftotextPages(queue[next++]!.path);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return (performance.now() - started) / 1000;
}

async function pdfBench(options: BenchOptions, config: typeof FULL, pools: Map<number, Pool>): Promise<{ tables: Table[]; about: string[] }> {
  if (!BUILTIN_PROCESSORS.some((p) => p.name === 'pdf')) return { tables: [], about: ['PDF: skipped, this build has no pdf processor'] };
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
  } catch (err) {
    return { tables: [], about: [`PDF: skipped, pdftotext is not installed (${(err as Error).message}); apt-get install poppler-utils`] };
  }
  const files = await pdfFiles(pools.get(1)!, options.log);
  const pagesPerPass = files.reduce((s, f) => s + f.pages, 0);
  const mbPerPass = files.reduce((s, f) => s + f.bytes.length, 0) / MB;
  const totalPages = pagesPerPass * config.pdfRepeats;
  options.log(`processors: PDF set of ${files.length} files, ${pagesPerPass} pages, repeated ${config.pdfRepeats}x per phase`);
  for (const threads of THREADS) await drive(pools.get(threads)!, threads, 'pdf', files.map((f) => f.bytes), files.length, 1);
  await pdftotextRun(files, 1, 1);

  const rounds: Array<Map<string, number>> = [];
  for (let r = 0; r < config.rounds; r++) {
    const round = new Map<string, number>();
    for (const threads of THREADS) {
      for (const engine of rotate(['troupe', 'pdftotext'], r)) {
        const seconds =
          engine === 'troupe'
            ? (await drive(pools.get(threads)!, threads, 'pdf', files.map((f) => f.bytes), files.length * config.pdfRepeats, 1)).seconds
            : await pdftotextRun(files, config.pdfRepeats, threads);
        round.set(`${engine}/${threads}`, seconds);
        options.log(`processors round ${r + 1}/${config.rounds}  pdf ${engine.padEnd(9)} ${threads} at a time  ${fmtInt(totalPages / seconds).padStart(6)} pages/s`);
      }
    }
    rounds.push(round);
  }
  const table: Table = {
    title: 'PDF text extraction: the pdf processor (pdf.js) on the thread pool vs pdftotext (poppler), same files',
    headers: ['at a time', 'Troupe pages/s', 'Troupe MB/s', 'pdftotext pages/s', 'pdftotext MB/s', 'Troupe/pdftotext'],
    rows: THREADS.map((t) => {
      const get = (engine: string) => rounds.map((r) => r.get(`${engine}/${t}`)!);
      const pages = (engine: string) => fmtRate(get(engine).map((s) => totalPages / s));
      const mb = (engine: string) => fmtMb(get(engine).map((s) => (mbPerPass * config.pdfRepeats) / s));
      return [String(t), pages('troupe'), mb('troupe'), pages('pdftotext'), mb('pdftotext'), fmtRatio(median(rounds.map((r) => r.get(`pdftotext/${t}`)! / r.get(`troupe/${t}`)!)))];
    }),
    textColumns: [],
    notes: [
      `files: ${files.map((f) => `${f.name} (${f.pages} p)`).join(', ')}; each phase reads the set ${config.pdfRepeats} times (${fmtInt(totalPages)} pages)`,
      'Troupe: one document per job on the real thread entry, text per page and whole (the default); pdftotext: one `pdftotext -q FILE -` process per document, N processes at a time (its process start is part of what a job runner pays)',
      'pages and page counts checked to agree between the two before timing; Troupe/pdftotext above 1: Troupe faster',
    ],
  };
  return { tables: [table], about: [] };
}

/** The code measured: HEAD, plus "+dirty" when src/ has uncommitted changes. */
function gitCommit(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src', 'wasm') ? '+dirty' : ''}`;
  } catch {
    return 'unknown'; // Not a checkout (a tarball): the report says so.
  }
}

async function runBench(options: BenchOptions): Promise<BenchResult> {
  const config = options.quick ? QUICK : FULL;
  const started = new Date();
  const commit = gitCommit();
  const loadBefore = os.loadavg();
  const pools = new Map(THREADS.map((t) => [t, makePool(t)] as const));
  try {
    const html = await htmlBench(options, config, pools);
    const pdf = await pdfBench(options, config, pools);
    const cpus = os.cpus();
    return {
      name: 'processors',
      title: `Processors: WASM extraction vs plain JS, pdf vs pdftotext${options.quick ? ' (quick run: 1 round, little work; not for comparison)' : ''}`,
      about: [
        `${started.toISOString()}, commit ${commit}`,
        `Node ${process.version}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? '?'})`,
        `load average before/after: ${loadBefore.map((l) => l.toFixed(2)).join(' ')} / ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
        ...pdf.about,
      ],
      tables: [...html, ...pdf.tables],
    };
  } finally {
    await Promise.all([...pools.values()].map((p) => p.destroy()));
  }
}

export const bench: Bench = { name: 'processors', run: runBench };
