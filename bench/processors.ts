/**
 * Processor throughput per thread count (1 to the machine's cores), each against its peer on
 * the same input in the same run:
 *   - HTML extraction: the `wasm` processor's built-in extractor against the same algorithm in
 *     plain JavaScript (bench/lib/extract-js.ts), on real-looking pages of three sizes, on the
 *     real thread pool at each thread count, and in one thread without the pool;
 *   - PDF text: the `pdf` processor at each thread count, against poppler's pdftotext on the
 *     same files, as many processes at a time (that comparison is skipped, with a line saying
 *     why, when pdftotext is missing).
 */
import { execFile, spawnSync } from 'node:child_process';
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
import { CELL_INDEX, CELL_SLOTS, toColumns, type ThreadJob, type ThreadTask, type ThreadTaskResult } from '../src/threads/protocol.js';
import { knownTextDocument, makePdf } from '../test/fixtures/pdf/make-pdf.js';
import { extractJs } from './lib/extract-js.js';
import { makePage } from './lib/html-corpus.js';
import type { Bench, BenchOptions, BenchResult, Chart } from './lib/report.js';
import { gitCommit, loadLine } from './lib/env.js';
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
/** 1 to the cores this process may use: a bigger machine shows how far each processor scales. */
const THREADS = Array.from({ length: os.availableParallelism() }, (_, i) => i + 1);
const PAGES_PER_SIZE = 8;
const FULL = { rounds: 3, mbPerPhase: 40, pdfRepeats: 6 };
const QUICK = { rounds: 1, mbPerPhase: 8, pdfRepeats: 1 };
const MB = 1e6;

type Engine = 'wasm' | 'js';
type PdfEngine = 'troupe' | 'pdftotext';
const PROCESSOR: Record<Engine, string> = { wasm: 'wasm', js: 'html-js' };
type Pool = Piscina<ThreadTask, ThreadTaskResult>;
/** Seconds per phase in one round, keyed by the phase (see the key helpers below). */
type Round = Map<string, number>;

const htmlKey = (size: string, engine: Engine, threads: number): string => `html/${size}/${engine}/${threads}`;
const directKey = (size: string, engine: Engine): string => `direct/${size}/${engine}`;
const pdfKey = (engine: PdfEngine, threads: number): string => `pdf/${engine}/${threads}`;

/** MB/s with one decimal: PDF rates are a few MB/s, which whole numbers would flatten. */
function fmtMb(values: readonly number[]): string {
  if (values.length === 0) return '—';
  return `${median(values).toFixed(1)}${values.length > 1 ? ` ±${halfSpreadPct(values).toFixed(0)}%` : ''}`;
}

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
  return { jobs: toColumns(jobs), cell };
}

/** Runs `count` jobs, `perTask` to a task, keeping one task per thread in flight; returns seconds. */
async function drive(pool: Pool, threads: number, processor: string, inputs: readonly unknown[], count: number, perTask: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) {
      const batch: unknown[] = [];
      while (batch.length < perTask && next < count) batch.push(inputs[next++ % inputs.length]);
      const { outcomes } = await pool.run(task(processor, batch));
      for (const outcome of outcomes) {
        if (outcome.status !== 'completed') throw new Error(`${processor} failed in the bench: ${outcome.error.name}: ${outcome.error.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: threads }, lane));
  return (performance.now() - started) / 1000;
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

interface Corpus {
  label: string;
  perTask: number;
  docs: string[];
  avgBytes: number;
  /** Documents per phase: `mbPerPhase` of HTML. */
  count: number;
}

async function htmlCorpora(config: typeof FULL): Promise<Corpus[]> {
  const corpora = SIZES.map((size) => {
    const docs = Array.from({ length: PAGES_PER_SIZE }, (_, i) => makePage(1000 * size.bytes + i, size.bytes));
    const avgBytes = docs.reduce((sum, d) => sum + Buffer.byteLength(d), 0) / docs.length;
    return { label: size.label, perTask: size.perTask, docs, avgBytes, count: Math.max(PAGES_PER_SIZE, Math.ceil((config.mbPerPhase * MB) / avgBytes)) };
  });
  // Both engines must do the same work, or the comparison means nothing.
  for (const c of corpora) {
    for (const doc of c.docs) {
      if (!isDeepStrictEqual(await wasm.run(doc, ctx), extractJs(doc, 'html'))) throw new Error(`wasm and plain JS disagree on a ${c.label} page`);
    }
  }
  return corpora;
}

interface PdfFile {
  name: string;
  path: string;
  bytes: Buffer;
  pages: number;
}

interface PdfSet {
  files: PdfFile[];
  pagesPerPass: number;
  mbPerPass: number;
  /** Why pdftotext is not compared, when it is not. */
  pdftotextMissing?: string;
}

async function pdftotextPages(path: string): Promise<number> {
  const { stdout } = await run('pdftotext', ['-q', path, '-'], { maxBuffer: 256 * 1024 * 1024 });
  return (stdout.match(/\f/g) ?? []).length;
}

/** Why pdftotext cannot be used, or undefined when it can. Old poppler exits 99 on -v, so only a failure to start counts. */
function pdftotextMissing(): string | undefined {
  const probe = spawnSync('pdftotext', ['-v'], { stdio: 'ignore' });
  return probe.error ? `pdftotext is not installed (${probe.error.message}; apt-get install poppler-utils)` : undefined;
}

/** The real-world fixtures plus a generated 40-page document, minus any the pdf processor (or pdftotext) reads differently. */
async function pdfSet(log: (line: string) => void): Promise<PdfSet> {
  const missing = pdftotextMissing();
  const dir = join(ROOT, 'tmp', 'bench-processors');
  mkdirSync(dir, { recursive: true });
  const generated = join(dir, 'generated-40-pages.pdf');
  writeFileSync(generated, makePdf(knownTextDocument(40).spec));
  const paths = [...readdirSync(PDF_FIXTURES).filter((f) => f.endsWith('.pdf')).map((f) => join(PDF_FIXTURES, f)), generated];
  const files: PdfFile[] = [];
  const pool = makePool(1);
  try {
    for (const path of paths) {
      const name = path.split('/').pop()!;
      const bytes = readFileSync(path);
      const outcome = (await pool.run(task('pdf', [bytes]))).outcomes[0]!;
      if (outcome.status !== 'completed') {
        log(`processors: ${name} left out: the pdf processor fails on it (${outcome.error.code ?? outcome.error.name})`);
        continue;
      }
      const pages = (outcome.result as { pageCount: number }).pageCount;
      const reference = missing ? pages : await pdftotextPages(path).catch(() => -1);
      if (reference !== pages) {
        log(`processors: ${name} left out: pdftotext reads ${reference} pages, the pdf processor ${pages}`);
        continue;
      }
      files.push({ name, path, bytes, pages });
    }
  } finally {
    await pool.destroy();
  }
  return {
    files,
    pagesPerPass: files.reduce((s, f) => s + f.pages, 0),
    mbPerPass: files.reduce((s, f) => s + f.bytes.length, 0) / MB,
    ...(missing ? { pdftotextMissing: missing } : {}),
  };
}

async function pdftotextRun(files: readonly PdfFile[], repeats: number, concurrency: number): Promise<number> {
  const queue = Array.from({ length: repeats }, () => files).flat();
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < queue.length) await pdftotextPages(queue[next++]!.path);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return (performance.now() - started) / 1000;
}

interface Work {
  config: typeof FULL;
  corpora: Corpus[];
  pdf?: PdfSet;
  pdfEngines: PdfEngine[];
}

/**
 * One round. A pool exists for one thread count at a time (a pool per count would keep
 * 1 + 2 + ... + cores threads, each with pdf.js loaded), warmed before it is timed; the
 * engines compared at a thread count run back to back, in an order that rotates with the round.
 */
async function runRound(options: BenchOptions, work: Work, r: number): Promise<Round> {
  const { config, corpora, pdf, pdfEngines } = work;
  const round: Round = new Map();
  const total = THREADS.length * (corpora.length * 2 + pdfEngines.length) + corpora.length * 2;
  const bar = options.progress(`processors round ${r + 1}/${config.rounds}`, total);
  const note = (what: string, rate: number, unit: string) => {
    bar.tick();
    options.log(`processors round ${r + 1}/${config.rounds}  ${what.padEnd(30)} ${fmtInt(rate).padStart(7)} ${unit}`);
  };
  const pdfInputs = pdf?.files.map((f) => f.bytes) ?? [];
  try {
    for (const threads of THREADS) {
      const pool = makePool(threads);
      try {
        for (const c of corpora) {
          for (const engine of ['wasm', 'js'] as Engine[]) await drive(pool, threads, PROCESSOR[engine], c.docs, c.docs.length * 2, c.perTask);
        }
        if (pdf) await drive(pool, threads, 'pdf', pdfInputs, Math.max(pdfInputs.length, 2 * threads), 1);
        for (const c of corpora) {
          for (const engine of rotate(['wasm', 'js'] as Engine[], r)) {
            const seconds = await drive(pool, threads, PROCESSOR[engine], c.docs, c.count, c.perTask);
            round.set(htmlKey(c.label, engine, threads), seconds);
            note(`${c.label} ${engine} ${threads}T`, c.count / seconds, 'docs/s');
          }
        }
        for (const engine of rotate(pdfEngines, r)) {
          const seconds =
            engine === 'troupe'
              ? await drive(pool, threads, 'pdf', pdfInputs, pdfInputs.length * config.pdfRepeats, 1)
              : await pdftotextRun(pdf!.files, config.pdfRepeats, threads);
          round.set(pdfKey(engine, threads), seconds);
          note(`pdf ${engine} ${threads} at a time`, (pdf!.pagesPerPass * config.pdfRepeats) / seconds, 'pages/s');
        }
      } finally {
        await pool.destroy();
      }
    }
    for (const c of corpora) {
      for (const engine of rotate(['wasm', 'js'] as Engine[], r)) {
        if (r === 0) await direct(engine, c.docs, c.docs.length * 3);
        const seconds = await direct(engine, c.docs, c.count);
        round.set(directKey(c.label, engine), seconds);
        note(`${c.label} ${engine} no pool`, c.count / seconds, 'docs/s');
      }
    }
  } finally {
    bar.done();
  }
  return round;
}

/** Per-round values of one phase; `per` turns its seconds into the figure wanted. */
const across = (rounds: readonly Round[], key: string, per: (seconds: number) => number) => rounds.map((r) => per(r.get(key)!));
/** Median over rounds of a ratio taken within each round (the two ran back to back). */
const pairedRatio = (rounds: readonly Round[], num: string, den: string) => median(rounds.map((r) => r.get(num)! / r.get(den)!));

function htmlTables(rounds: Round[], corpora: Corpus[], config: typeof FULL): Table[] {
  const docs = (c: Corpus, key: string) => across(rounds, key, (s) => c.count / s);
  const mb = (c: Corpus, key: string) => across(rounds, key, (s) => (c.count * c.avgBytes) / MB / s);
  const spread = `median of ${config.rounds} round${config.rounds > 1 ? 's, ± half the min-max range' : ''}`;
  const perThreads: Table = {
    title: 'WASM docs/s per thread count (the built-in extractor on the thread pool, per page size)',
    headers: ['threads', ...corpora.flatMap((c) => [`${c.label} docs/s`, `${c.label} vs 1T`])],
    rows: THREADS.map((t) => [
      String(t),
      ...corpora.flatMap((c) => [fmtRate(docs(c, htmlKey(c.label, 'wasm', t))), fmtRatio(pairedRatio(rounds, htmlKey(c.label, 'wasm', 1), htmlKey(c.label, 'wasm', t)))]),
    ]),
    textColumns: [],
    notes: [
      `pages from bench/lib/html-corpus.ts (${PAGES_PER_SIZE} per size, seeded): head with CSS, scripts and JSON-LD, navigation, article with inline links and references, lists, tables, code, aside, footer`,
      `each phase extracts ${config.mbPerPhase} MB of HTML (MB = 10^6 bytes in); ${spread}; vs 1T: docs/s over the 1-thread docs/s (ideal: the thread count, up to the cores)`,
      `the real thread entry (src/threads/worker.ts), one task per thread in flight; ${SIZES.map((s) => `${s.label}: ${s.perTask} job${s.perTask > 1 ? 's' : ''} per task`).join(', ')} (the supervisor packs jobs of ≤ 1 ms)`,
      'WASM: a fresh instance per document in a 128 MiB capped memory, input encoded into it, output JSON parsed back (all of it timed)',
    ],
  };
  const versusJs: Table = {
    title: 'HTML extraction on the thread pool: built-in WASM extractor vs the same algorithm in plain JS',
    headers: ['page', 'threads', 'WASM docs/s', 'WASM MB/s', 'JS docs/s', 'JS MB/s', 'WASM/JS'],
    rows: corpora.flatMap((c) =>
      THREADS.map((t) => {
        const [w, j] = [htmlKey(c.label, 'wasm', t), htmlKey(c.label, 'js', t)];
        return [c.label, String(t), fmtRate(docs(c, w)), fmtMb(mb(c, w)), fmtRate(docs(c, j)), fmtMb(mb(c, j)), fmtRatio(pairedRatio(rounds, j, w))];
      }),
    ),
    textColumns: [0],
    notes: [
      'JS: the same algorithm on strings (bench/lib/extract-js.ts), returning the object directly; the two produce identical results (checked before timing)',
      'WASM/JS: median of per-round ratios of docs/s (above 1: WASM faster)',
    ],
  };
  const noPool: Table = {
    title: 'HTML extraction in one thread, no pool (the engines alone)',
    headers: ['page', 'WASM docs/s', 'WASM MB/s', 'JS docs/s', 'JS MB/s', 'WASM/JS'],
    rows: corpora.map((c) => {
      const [w, j] = [directKey(c.label, 'wasm'), directKey(c.label, 'js')];
      return [c.label, fmtRate(docs(c, w)), fmtMb(mb(c, w)), fmtRate(docs(c, j)), fmtMb(mb(c, j)), fmtRatio(pairedRatio(rounds, j, w))];
    }),
    textColumns: [0],
  };
  return [perThreads, versusJs, noPool];
}

function pdfTable(rounds: Round[], pdf: PdfSet, config: typeof FULL): Table {
  const pages = (engine: PdfEngine, t: number) => across(rounds, pdfKey(engine, t), (s) => (pdf.pagesPerPass * config.pdfRepeats) / s);
  const mb = (engine: PdfEngine, t: number) => across(rounds, pdfKey(engine, t), (s) => (pdf.mbPerPass * config.pdfRepeats) / s);
  const peer = !pdf.pdftotextMissing;
  return {
    title: `PDF pages/s per thread count: the pdf processor (pdf.js) on the thread pool${peer ? ' vs pdftotext (poppler), same files' : ''}`,
    headers: ['threads', 'Troupe pages/s', 'Troupe MB/s', 'vs 1T', ...(peer ? ['pdftotext pages/s', 'pdftotext MB/s', 'Troupe/pdftotext'] : [])],
    rows: THREADS.map((t) => [
      String(t),
      fmtRate(pages('troupe', t)),
      fmtMb(mb('troupe', t)),
      fmtRatio(pairedRatio(rounds, pdfKey('troupe', 1), pdfKey('troupe', t))),
      ...(peer ? [fmtRate(pages('pdftotext', t)), fmtMb(mb('pdftotext', t)), fmtRatio(pairedRatio(rounds, pdfKey('pdftotext', t), pdfKey('troupe', t)))] : []),
    ]),
    textColumns: [],
    notes: [
      `files: ${pdf.files.map((f) => `${f.name} (${f.pages} p)`).join(', ')}; each phase reads the set ${config.pdfRepeats} times (${fmtInt(pdf.pagesPerPass * config.pdfRepeats)} pages)`,
      'Troupe: one document per job on the real thread entry, text per page and whole (the default); vs 1T: pages/s over the 1-thread pages/s',
      peer
        ? 'pdftotext: one `pdftotext -q FILE -` process per document, as many processes at a time as Troupe has threads (its process start is part of what a job runner pays); page counts checked to agree before timing; Troupe/pdftotext above 1: Troupe faster'
        : `no pdftotext comparison: ${pdf.pdftotextMissing}`,
    ],
  };
}

function lineChart(title: string, yLabel: string, series: Array<{ name: string; y: (t: number) => number }>): Chart {
  return { kind: 'line', title, xLabel: 'threads', yLabel, series: series.map((s) => ({ name: s.name, points: THREADS.map((t) => [t, s.y(t)] as const) })) };
}

function charts(rounds: Round[], work: Work): NonNullable<BenchResult['charts']> {
  const med = (key: string, per: (s: number) => number) => median(across(rounds, key, per));
  const out: NonNullable<BenchResult['charts']> = [];
  const { pdf, config } = work;
  if (pdf) {
    const pages = (s: number) => (pdf.pagesPerPass * config.pdfRepeats) / s;
    out.push({
      file: 'pdf-threads',
      chart: lineChart('PDF text extraction: pages/s by threads (median)', 'pages/s', [
        { name: 'Troupe pdf processor', y: (t) => med(pdfKey('troupe', t), pages) },
        ...(work.pdfEngines.includes('pdftotext') ? [{ name: 'pdftotext, N processes', y: (t: number) => med(pdfKey('pdftotext', t), pages) }] : []),
      ]),
    });
  }
  // One chart per page size: docs/s of 8 KB and 512 KB pages differ ~50x, so one axis would flatten the big pages.
  for (const c of work.corpora) {
    const docs = (s: number) => c.count / s;
    out.push({
      file: `wasm-threads-${c.label.replace(/\s+/g, '').toLowerCase()}`,
      chart: lineChart(`HTML extraction, ${c.label} pages: docs/s by threads (median)`, 'docs/s', [
        { name: 'WASM (built-in extractor)', y: (t) => med(htmlKey(c.label, 'wasm', t), docs) },
        { name: 'plain JS, same algorithm', y: (t) => med(htmlKey(c.label, 'js', t), docs) },
      ]),
    });
  }
  return out;
}

async function runBench(options: BenchOptions): Promise<BenchResult> {
  const config = options.quick ? QUICK : FULL;
  const started = new Date();
  const commit = gitCommit();
  const loadBefore = os.loadavg();
  const corpora = await htmlCorpora(config);
  options.log(`processors: HTML corpus checked (wasm and plain JS agree on ${corpora.length * PAGES_PER_SIZE} pages); threads ${THREADS.join(', ')}`);
  const about: string[] = [];
  let pdf: PdfSet | undefined;
  if (!BUILTIN_PROCESSORS.some((p) => p.name === 'pdf')) about.push('PDF: skipped, this build has no pdf processor');
  else {
    const set = await pdfSet(options.log);
    options.log(`processors: PDF set of ${set.files.length} files, ${set.pagesPerPass} pages, read ${config.pdfRepeats}x per phase`);
    if (set.files.length === 0) about.push('PDF: skipped, no file was read alike by the pdf processor and pdftotext (see the log)');
    else pdf = set;
    if (set.pdftotextMissing) about.push(`PDF vs pdftotext: skipped, ${set.pdftotextMissing}; the pdf processor is still measured per thread count`);
    else if (pdf) await pdftotextRun(pdf.files, 1, 1);
  }
  const work: Work = { config, corpora, ...(pdf ? { pdf } : {}), pdfEngines: !pdf ? [] : pdf.pdftotextMissing ? ['troupe'] : ['troupe', 'pdftotext'] };
  const rounds: Round[] = [];
  for (let r = 0; r < config.rounds; r++) rounds.push(await runRound(options, work, r));

  const [perThreads, versusJs, noPool] = htmlTables(rounds, corpora, config);
  const cpus = os.cpus();
  return {
    name: 'processors',
    title: `Processors per thread count: WASM extraction vs plain JS, ${pdf?.pdftotextMissing ? 'pdf alone' : pdf ? 'pdf vs pdftotext' : 'no PDF'}${options.quick ? ' (quick run: 1 round, little work; not for comparison)' : ''}`,
    about: [
      `${started.toISOString()}, commit ${commit}`,
      `Node ${process.version}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? '?'}); threads 1 to ${THREADS.length} (os.availableParallelism())`,
      loadLine(loadBefore),
      `${config.rounds} round${config.rounds > 1 ? 's' : ''}; each round builds one pool per thread count in turn and warms it before timing; engines alternate which goes first from round to round`,
      ...about,
    ],
    tables: [...(pdf ? [pdfTable(rounds, pdf, config)] : []), perThreads!, versusJs!, noPool!],
    charts: charts(rounds, work),
  };
}

export const bench: Bench = { name: 'processors', run: runBench };
