/**
 * PDF engines side by side (issue 19): pdf.js (the `pdf` processor as it runs in a thread),
 * PDFium built to WebAssembly (@embedpdf/pdfium, MIT; PDFium BSD-3-Clause) and poppler's
 * pdftotext (GPL: the reference only, a process per file), on the same corpus in one run:
 *   - pages/s in one thread, warm (each file run `reps` times after one warm-up run);
 *   - word F1 against pdftotext, and for the generated right-to-left and CJK fixtures F1 of each
 *     line against the source text they were printed from;
 *   - whether a filled form's values come out;
 *   - start-up per thread (a fresh worker thread: load the engine, open one page) and the
 *     thread's heap and external memory after it;
 *   - corrupt and encrypted documents: what each engine says.
 * The corpus: test/fixtures/pdf (real-world producers, scripts), a generated 60-page document and
 * form, and up to 6 PDFs from Debian's doc packages under /usr/share/doc when present.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ProcessorContext } from '../src/processors/contract.js';
import { pdf, type PdfResult } from '../src/processors/pdf/index.js';
import { dehyphenate } from '../src/processors/pdf/pages.js';
import { normaliseText } from '../src/processors/pdf/text-order.js';
import { knownTextDocument, makePdf } from '../test/fixtures/pdf/make-pdf.js';
import { makeFilledForm } from '../test/fixtures/pdf/form.js';
import { pdfiumText } from './lib/pdfium-engine.js';
import type { Bench, BenchOptions, BenchResult, TargetResult } from './lib/report.js';
import type { Table } from './lib/table.js';
import { wordF1 as wordScores } from '../test/helpers/word-f1.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(ROOT, 'test', 'fixtures', 'pdf');

interface Doc {
  name: string;
  bytes: Buffer;
  /** Source lines the document was printed from (right-to-left and CJK fixtures). */
  lines?: string[];
  /** Timed once (not `reps` times): it is there for memory and a long run, not for the mean. */
  huge?: boolean;
}

/** F1 alone; two empty texts agree (a line with no words read back as none). */
function wordF1(ours: string, reference: string): number {
  const { f1 } = wordScores(ours, reference);
  return f1 === 0 && ours.trim() === '' && reference.trim() === '' ? 1 : f1;
}

function hasPdftotext(): boolean {
  return spawnSync('pdftotext', ['-v']).status === 0;
}

function pdftotext(bytes: Buffer): string {
  return execFileSync('pdftotext', ['-enc', 'UTF-8', '-', '-'], { input: bytes, maxBuffer: 1 << 28 }).toString('utf8');
}

/** The PDF manuals of installed Debian doc packages (plain or gzipped), by path, at most 10. */
function debianDocs(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      // Not a directory, or not readable: nothing of ours to find there.
      return;
    }
    for (const e of entries) {
      const path = join(dir, e);
      if (/\.pdf(\.gz)?$/.test(e) && statSync(path).size < 20 * 1024 * 1024) found.push(path);
      else if (depth < 3 && !e.includes('.')) walk(path, depth + 1);
    }
  };
  walk('/usr/share/doc', 0);
  return found.slice(0, 10);
}

function corpus(): Doc[] {
  const docs: Doc[] = [];
  for (const f of readdirSync(join(FIXTURES, 'real-world')).filter((f) => f.endsWith('.pdf') && !f.includes('aes256'))) {
    docs.push({ name: f.replace(/\.pdf$/, ''), bytes: readFileSync(join(FIXTURES, 'real-world', f)) });
  }
  const scripts = join(FIXTURES, 'scripts');
  const tagged = (file: string, tag: string) => [...readFileSync(join(scripts, file), 'utf8').matchAll(new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]!);
  docs.push({ name: 'chromium-scripts (Latin, Arabic, Hebrew, CJK)', bytes: readFileSync(join(scripts, 'chromium-scripts.pdf')), lines: tagged('scripts.html', 'p') });
  docs.push({ name: 'cairo-rtl (Arabic, Hebrew drawn right to left)', bytes: readFileSync(join(scripts, 'cairo-rtl.pdf')), lines: tagged('rtl.svg', 'text') });
  docs.push({ name: 'generated, 60 pages', bytes: makePdf(knownTextDocument(60, 30).spec) });
  docs.push({ name: 'generated, 1000 pages', bytes: makePdf(knownTextDocument(1000, 30).spec), huge: true });
  for (const path of debianDocs()) {
    const raw = readFileSync(path);
    docs.push({ name: `debian: ${path.replace('/usr/share/doc/', '')}`, bytes: path.endsWith('.gz') ? gunzipSync(raw) : raw });
  }
  return docs;
}

const ctx = (): ProcessorContext => ({ signal: new AbortController().signal, progress() {}, log() {} }) as unknown as ProcessorContext;

async function pdfjsText(bytes: Buffer, password?: string): Promise<{ text: string; pages: number; fields: string[] }> {
  const r = (await pdf.run(password === undefined ? bytes : { base64: bytes.toString('base64'), password }, ctx())) as PdfResult;
  return { text: r.text ?? '', pages: r.pageCount, fields: (r.fields ?? []).map((f) => String(f.value)) };
}

async function pdfiumAll(bytes: Buffer, password?: string): Promise<{ text: string; pages: number; fields: string[] }> {
  const r = await pdfiumText(bytes, password);
  return { text: r.pages.join('\f'), pages: r.pages.length, fields: r.fields };
}

/**
 * PDFium's text with the pass the processor gives pdf.js's (presentation forms, ligatures, accents,
 * hyphenated words, trailing blanks): what PDFium would give as the `pdf` engine. Line order and
 * word gaps are PDFium's own (the processor's are built from pdf.js's positioned runs).
 */
function textPass(text: string): string {
  return text
    .split('\f')
    .map((page) => dehyphenate(page.split('\n').map((line) => normaliseText(line).trimEnd()).join('\n')))
    .join('\f');
}

async function timed(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const start = performance.now();
  for (let i = 0; i < reps; i++) await fn();
  return (performance.now() - start) / reps;
}

/**
 * A fresh worker thread: load the engine, extract one page; its time, heap and external memory,
 * and how much the process's RSS grew meanwhile (threads share one RSS: this is the thread's share
 * only while nothing else runs).
 */
async function startUp(engine: 'pdfjs' | 'pdfium', doc: Buffer): Promise<{ ms: number; heapMb: number; externalMb: number; rssMb: number }> {
  const rssBefore = process.memoryUsage.rss();
  // A worker's entry module is loaded before `--import tsx` takes effect in it, so the entry is a
  // line of JavaScript that registers tsx and then imports the TypeScript file.
  const entry = new URL('./lib/pdf-engine-startup.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(code, { eval: true, workerData: { engine, doc } });
  try {
    const m = await new Promise<{ ms: number; heapMb: number; externalMb: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    return { ...m, rssMb: (process.memoryUsage.rss() - rssBefore) / 1048576 };
  } finally {
    await worker.terminate();
  }
}

/** What pdftotext says: its exit status and the first line it writes to stderr. */
function pdftotextOutcome(bytes: Buffer, password?: string): string {
  if (!hasPdftotext()) return '–';
  const r = spawnSync('pdftotext', ['-enc', 'UTF-8', ...(password ? ['-upw', password] : []), '-', '-'], { input: bytes, maxBuffer: 1 << 28 });
  const said = r.stderr.toString('utf8').split('\n').find((l) => l.trim() !== '') ?? '';
  return `exit ${r.status}${said ? `: ${said.slice(0, 50)}` : ''}`;
}

async function outcome(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'no error';
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return (e.code ?? e.message ?? String(err)).slice(0, 60);
  }
}

const f2 = (n: number) => n.toFixed(2);
const f3 = (n: number) => n.toFixed(3);
const f0 = (n: number) => Math.round(n).toString();

interface Measured {
  doc: Doc;
  pages: number;
  /** Pages per second: pdf.js, PDFium, pdftotext (NaN when not installed). */
  rate: [number, number, number];
  /** Word F1 against pdftotext: pdf.js, PDFium, PDFium with the processor's text pass. */
  f1: [number, number, number];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Multi-page: the documents the pages/s target is about (short ones measure opening a file). */
const MULTI_PAGE = 10;

async function run(options: BenchOptions): Promise<BenchResult> {
  const reps = options.quick ? 2 : 5;
  const reference = hasPdftotext();
  const docs = corpus();
  const speed: Table = {
    title: 'Pages/s in one thread, warm, and word F1 against pdftotext',
    headers: ['document', 'pages', 'pdf.js p/s', 'PDFium p/s', 'pdftotext p/s', 'pdf.js ÷ pdftotext', 'PDFium ÷ pdftotext', 'pdf.js F1', 'PDFium F1', 'PDFium + text pass F1'],
    rows: [],
    textColumns: [0],
  };
  const rtl: Table = {
    title: 'Right-to-left and CJK lines against the source text (mean line F1)',
    headers: ['document', 'pdf.js', 'PDFium', 'PDFium + text pass', 'pdftotext'],
    rows: [],
    textColumns: [0],
  };
  const measured: Measured[] = [];
  const rtlScores: Array<[number, number, number]> = [];
  const bar = options.progress('pdf engines', docs.length);
  for (const doc of docs) {
    const a = await pdfjsText(doc.bytes);
    const b = await pdfiumAll(doc.bytes);
    const ref = reference ? pdftotext(doc.bytes) : '';
    const n = doc.huge ? 1 : reps;
    const msA = await timed(() => pdfjsText(doc.bytes), n);
    const msB = await timed(() => pdfiumAll(doc.bytes), n);
    const msC = reference ? await timed(async () => pdftotext(doc.bytes), n) : NaN;
    const m: Measured = { doc, pages: a.pages, rate: [(a.pages * 1000) / msA, (b.pages * 1000) / msB, (a.pages * 1000) / msC], f1: [wordF1(a.text, ref), wordF1(b.text, ref), wordF1(textPass(b.text), ref)] };
    measured.push(m);
    const dash = (x: number, f: (n: number) => string) => (Number.isNaN(x) || !reference ? '–' : f(x));
    speed.rows.push([doc.name, String(m.pages), f0(m.rate[0]), f0(m.rate[1]), dash(m.rate[2], f0), dash(m.rate[0] / m.rate[2], f2), dash(m.rate[1] / m.rate[2], f2), dash(m.f1[0], f3), dash(m.f1[1], f3), dash(m.f1[2], f3)]);
    if (doc.lines) {
      const lineF1 = (text: string) => {
        const got = text.split(/[\n\f]/).map((l) => l.replace(/[\u200e\u200f\u202a-\u202e]/g, '').trim()).filter(Boolean);
        return doc.lines!.reduce((sum, line, i) => sum + wordF1(got[i] ?? '', line), 0) / doc.lines!.length;
      };
      const scores: [number, number, number] = [lineF1(a.text), lineF1(b.text), reference ? lineF1(ref) : NaN];
      rtlScores.push(scores);
      rtl.rows.push([doc.name, f3(scores[0]), f3(scores[1]), f3(lineF1(textPass(b.text))), reference ? f3(scores[2]) : '–']);
    }
    bar.tick();
  }
  bar.done?.();

  // The targets of issue 19, for each engine.
  const multi = measured.filter((m) => m.pages >= MULTI_PAGE && !m.doc.huge);
  const text = measured.filter((m) => !m.doc.lines);
  const summary: Table = { title: 'Against the targets (issue 19)', headers: ['', 'target', 'pdf.js', 'PDFium'], rows: [], textColumns: [0, 1, 2, 3] };
  const targets: TargetResult[] = [];
  const engines = ['pdf.js', 'PDFium'] as const;
  if (reference) {
    const ratios = engines.map((_, e) => multi.map((m) => m.rate[e]! / m.rate[2]));
    summary.rows.push([`pages/s ÷ pdftotext's, ${multi.length} documents of ${MULTI_PAGE}+ pages (min–max, median)`, '≥ 0.8', ...ratios.map((r) => `${f2(Math.min(...r))}–${f2(Math.max(...r))}, ${f2(median(r))}`)]);
    const vs = multi.map((m) => m.rate[1] / m.rate[0]);
    summary.rows.push([`PDFium's pages/s ÷ pdf.js's, the same documents (min–max, median)`, '', '1', `${f2(Math.min(...vs))}–${f2(Math.max(...vs))}, ${f2(median(vs))}`]);
    const f1s = engines.map((_, e) => text.map((m) => m.f1[e]!));
    const passed = text.map((m) => m.f1[2]);
    summary.rows.push([`word F1 vs pdftotext, ${text.length} Latin and CJK documents (median, min)`, '≥ 0.99 median, none < 0.95', ...f1s.map((f) => `${f3(median(f))}, ${f3(Math.min(...f))}`)]);
    summary.rows.push(['... PDFium with the processor\'s text pass (median, min)', '', '', `${f3(median(passed))}, ${f3(Math.min(...passed))}`]);
    const rtlOk = engines.map((_, e) => rtlScores.every((s) => s[e]! >= s[2]! - 1e-9));
    summary.rows.push(['RTL lines vs the source text', '≥ pdftotext\'s', ...rtlOk.map((ok, e) => `${ok ? 'met' : 'not met'} (${rtlScores.map((s) => f3(s[e]!)).join(', ')} vs ${rtlScores.map((s) => f3(s[2]!)).join(', ')})`)]);
    engines.forEach((name, e) => {
      targets.push({ target: `pdf ${name}: pages/s vs pdftotext, multi-page (lowest)`, goal: '>= 0.8x', measured: `${f2(Math.min(...ratios[e]!))}x (median ${f2(median(ratios[e]!))}x)`, met: Math.min(...ratios[e]!) >= 0.8 });
      targets.push({ target: `pdf ${name}: word F1 vs pdftotext`, goal: '>= 0.99 median, none < 0.95', measured: `${f3(median(f1s[e]!))} median, ${f3(Math.min(...f1s[e]!))} lowest`, met: median(f1s[e]!) >= 0.99 && Math.min(...f1s[e]!) >= 0.95 });
      targets.push({ target: `pdf ${name}: RTL lines vs pdftotext`, goal: '>= pdftotext', measured: rtlScores.map((s) => `${f3(s[e]!)} vs ${f3(s[2]!)}`).join(', '), met: rtlOk[e]! });
    });
  }

  const form = makeFilledForm({ pageText: 'Application form', name: 'Zoë Brontë', address: 'Main Street 1', country: 'Norway' });
  const want = ['Zoë Brontë', 'Main Street 1', 'Norway'];
  const found = (values: string) => `${want.filter((w) => values.includes(w)).length} of ${want.length}`;
  const [fa, fb] = [await pdfjsText(form), await pdfiumAll(form)];
  const behaviour: Table = {
    title: 'Forms, start-up per thread, bad documents',
    headers: ['', 'pdf.js', 'PDFium', 'pdftotext'],
    rows: [['filled form values in the text or fields', found(fa.text + fa.fields.join(' ')), found(fb.text + fb.fields.join(' ')), reference ? found(pdftotext(form)) : '–']],
    textColumns: [0, 1, 2, 3],
  };
  const one = makePdf(knownTextDocument(1, 10).spec);
  const [sa, sb] = [await startUp('pdfjs', one), await startUp('pdfium', one)];
  behaviour.rows.push(['start-up in a fresh thread (load, one page), ms', f0(sa.ms), f0(sb.ms), '–']);
  behaviour.rows.push(['thread heap after it, MiB', f0(sa.heapMb), f0(sb.heapMb), '–']);
  behaviour.rows.push(['thread external memory after it (WebAssembly memory included), MiB', f0(sa.externalMb), f0(sb.externalMb), '–']);
  behaviour.rows.push(['process RSS growth while the thread started, MiB', f0(sa.rssMb), f0(sb.rssMb), '–']);
  const huge = makePdf(knownTextDocument(options.quick ? 300 : 2000, 30).spec);
  const hugePages = options.quick ? 300 : 2000;
  const [ha, hb] = [await startUp('pdfjs', huge), await startUp('pdfium', huge)];
  behaviour.rows.push([`huge: ${hugePages} pages (${f2(huge.byteLength / 1048576)} MiB) in a fresh thread, s`, f2(ha.ms / 1000), f2(hb.ms / 1000), '–']);
  behaviour.rows.push(['... heap and external memory after it, MiB', `${f0(ha.heapMb)} + ${f0(ha.externalMb)}`, `${f0(hb.heapMb)} + ${f0(hb.externalMb)}`, '–']);
  behaviour.rows.push(['... process RSS growth, MiB', f0(ha.rssMb), f0(hb.rssMb), '–']);
  const corrupt = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(3000, 0x5a), Buffer.from('\n%%EOF\n')]);
  const locked = makePdf({ ...knownTextDocument(1, 2).spec, encrypt: { userPassword: 'pw' } });
  const aes = readFileSync(join(FIXTURES, 'real-world', 'qpdf-aes256-rotated.pdf'));
  const cut = aes.subarray(0, Math.floor(aes.byteLength / 2));
  behaviour.rows.push(['corrupt (garbage between header and %%EOF)', await outcome(() => pdfjsText(corrupt)), await outcome(() => pdfiumAll(corrupt)), pdftotextOutcome(corrupt)]);
  behaviour.rows.push(['cut in half (no %%EOF)', await outcome(() => pdfjsText(cut)), await outcome(() => pdfiumAll(cut)), pdftotextOutcome(cut)]);
  behaviour.rows.push(['RC4-128, no password', await outcome(() => pdfjsText(locked)), await outcome(() => pdfiumAll(locked)), pdftotextOutcome(locked)]);
  behaviour.rows.push(['AES-256 with its password', await outcome(() => pdfjsText(aes, 'troupe')), await outcome(() => pdfiumAll(aes, 'troupe')), pdftotextOutcome(aes, 'troupe')]);
  behaviour.rows.push(['AES-256, wrong password', await outcome(() => pdfjsText(aes, 'nope')), await outcome(() => pdfiumAll(aes, 'nope')), pdftotextOutcome(aes, 'nope')]);

  return {
    name: 'pdf-engines',
    title: 'PDF engines: pdf.js, PDFium (WebAssembly), pdftotext',
    about: [
      `${docs.length} documents, ${reps} warm runs each after one warm-up, one thread; pdftotext ${reference ? 'starts a process per run' : 'is not installed: its columns are empty'}`,
      'pdf.js is the `pdf` processor as a job runs it (inflate count, metadata, line layout, dehyphenation, text fixes included); PDFium is @embedpdf/pdfium 2.15.1 through FPDFText and FPDFAnnot only (no metadata, no layout or text fixes), run in the same thread',
    ],
    tables: [summary, speed, rtl, behaviour],
    targets,
  };
}

export const bench: Bench = { name: 'pdf-engines', run };
