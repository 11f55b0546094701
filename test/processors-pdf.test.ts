import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PDF_DEFAULTS, parsePageRanges, validatePdf } from '../src/processors/pdf/options.js';
import type { PdfResult } from '../src/processors/pdf/index.js';
import { isThreadEvent, type JobOutcome, type ThreadEvent } from '../src/threads/protocol.js';
import { startServer, trickyRoutes, type TestServer } from './fixtures/http/server.js';
import { knownTextDocument, makePdf, type PdfSpec } from './fixtures/pdf/make-pdf.js';
import { makePdfPool } from './fixtures/pdf/pool.js';
import { job, runJobs, type Pool } from './fixtures/threads/pool.js';

const REAL_WORLD = new URL('./fixtures/pdf/real-world/', import.meta.url);

let pool: Pool;
let server: TestServer;
const events: ThreadEvent[] = [];
const known = knownTextDocument(60, 30);
const knownPdf = makePdf(known.spec);

before(async () => {
  // Documents by URL come from a loopback server, which jobs may reach only when allowed.
  pool = makePdfPool({ allowHosts: ['loopback'] });
  pool.on('message', (m: unknown) => {
    if (isThreadEvent(m)) events.push(m);
  });
  server = await startServer(trickyRoutes({ 'known.pdf': knownPdf, 'not.pdf': Buffer.from('<html><body>Sign in</body></html>') }));
});
after(async () => {
  await pool.destroy();
  await server.close();
});

async function runPdf(data: unknown, overrides = {}): Promise<JobOutcome> {
  const { outcomes } = await runJobs(pool, [job('pdf', data, overrides)]);
  return outcomes[0]!;
}

async function extracted(data: unknown): Promise<PdfResult> {
  const outcome = await runPdf(data);
  assert.equal(outcome.status, 'completed', `expected success, got ${JSON.stringify(outcome).slice(0, 500)}`);
  return (outcome as { result: PdfResult }).result;
}

function failure(outcome: JobOutcome) {
  assert.equal(outcome.status, 'failed', `expected a failure, got ${JSON.stringify(outcome).slice(0, 300)}`);
  return outcome as Extract<JobOutcome, { status: 'failed' }>;
}

const b64 = (bytes: Buffer): string => bytes.toString('base64');

describe('pdf: text', () => {
  test('a generated 60-page PDF gives its known text exactly, per page and whole, with progress per page', async () => {
    const jobData = job('pdf', knownPdf);
    const started = performance.now();
    const { outcomes } = await runJobs(pool, [jobData]);
    const seconds = (performance.now() - started) / 1000;
    const outcome = outcomes[0]!;
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome).slice(0, 300));
    const result = (outcome as { result: PdfResult }).result;
    assert.equal(result.pageCount, 60);
    assert.equal(result.pages.length, 60);
    for (let p = 0; p < 60; p++) {
      assert.equal(result.pages[p]!.number, p + 1);
      assert.equal(result.pages[p]!.text, known.pageTexts[p], `page ${p + 1}`);
    }
    assert.equal(result.text, known.pageTexts.join('\f'));
    // Progress travels apart from the result; give late messages a moment.
    const deadline = Date.now() + 2000;
    const mine = () => events.filter((e) => e.kind === 'progress' && e.jobId === jobData.id);
    while (mine().length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const progress = mine().map((e) => (e as { value: { page: number; done: number; total: number } }).value);
    assert.equal(progress.length, 60, 'one progress report per page');
    assert.deepEqual(progress[0], { page: 1, done: 1, total: 60 });
    assert.deepEqual(progress[59], { page: 60, done: 60, total: 60 });
    console.log(`# pdf: 60 pages in ${seconds.toFixed(2)} s (${Math.round(60 / seconds)} pages/s, first run in this thread includes loading pdf.js)`);
  });

  test('metadata: title, author, subject, keywords, creator, producer, dates, page count, version', async () => {
    const spec: PdfSpec = {
      version: '1.5',
      pages: [{ lines: [{ text: 'metadata page', x: 72, y: 700 }] }],
      info: {
        Title: 'Quarterly report',
        Author: 'Ada Lovelace',
        Subject: 'Numbers',
        Keywords: 'troupe, pdf',
        Creator: 'make-pdf.ts',
        Producer: 'Troupe tests',
        CreationDate: "D:20240131120000+01'00'",
        ModDate: 'D:20240201083000Z',
      },
    };
    const result = await extracted(makePdf(spec));
    assert.deepEqual(result.metadata, {
      title: 'Quarterly report',
      author: 'Ada Lovelace',
      subject: 'Numbers',
      keywords: 'troupe, pdf',
      creator: 'make-pdf.ts',
      producer: 'Troupe tests',
      creationDate: '2024-01-31T11:00:00.000Z',
      modificationDate: '2024-02-01T08:30:00.000Z',
      pageCount: 1,
      pdfVersion: '1.5',
      encrypted: false,
    });
  });

  test('page ranges select pages; perPage, text and metadata can be turned off', async () => {
    const result = await extracted({ base64: b64(knownPdf), pages: '2-3, 5, 59-', perPage: false, metadata: false });
    assert.deepEqual(result.pages.map((p) => p.number), [2, 3, 5, 59, 60]);
    assert.ok(result.pages.every((p) => p.text === undefined));
    assert.equal(result.metadata, undefined);
    assert.equal(result.text, [2, 3, 5, 59, 60].map((n) => known.pageTexts[n - 1]).join('\f'));
    const perPageOnly = await extracted({ base64: b64(knownPdf), pages: '7', text: false });
    assert.equal(perPageOnly.text, undefined);
    assert.equal(perPageOnly.pages[0]!.text, known.pageTexts[6]);
  });

  test('rotated pages report their rotation and size; words hyphenated over a line are joined', async () => {
    const pdf = makePdf({
      pages: [
        { lines: [{ text: 'upright', x: 72, y: 700 }] },
        { rotate: 90, width: 842, height: 595, lines: [{ text: 'turned on its side, super-', x: 72, y: 500 }, { text: 'visor and well-', x: 72, y: 480 }, { text: 'Known', x: 72, y: 460 }] },
      ],
    });
    const result = await extracted(pdf);
    assert.deepEqual(result.pages.map((p) => [p.rotation, p.width, p.height]), [[0, 612, 792], [90, 842, 595]]);
    assert.equal(result.pages[1]!.text, 'turned on its side, supervisor and well-\nKnown');
    const kept = await extracted({ base64: b64(pdf), dehyphenate: false, pages: '2' });
    assert.equal(kept.pages[0]!.text, 'turned on its side, super-\nvisor and well-\nKnown');
  });

  test('images: count and sizes per page, and the decoded pixels when asked', async () => {
    const rgb = new Uint8Array(6 * 4 * 3).map((_, i) => (i * 37) & 255);
    const pdf = makePdf({
      pages: [
        { lines: [{ text: 'two images', x: 72, y: 700 }], images: [{ width: 6, height: 4, rgb, x: 72, y: 400, w: 120, h: 80 }, { width: 2, height: 2, rgb: new Uint8Array(12).fill(9), x: 300, y: 400, w: 20, h: 20 }] },
        { lines: [{ text: 'none here', x: 72, y: 700 }] },
      ],
    });
    const info = await extracted({ base64: b64(pdf), images: 'info' });
    assert.equal(info.imageCount, 2);
    assert.deepEqual(info.pages[0]!.images!.map((i) => [i.width, i.height, i.kind, i.bytes]), [[6, 4, 'rgb', undefined], [2, 2, 'rgb', undefined]]);
    assert.deepEqual(info.pages[1]!.images, []);
    const withBytes = await extracted({ base64: b64(pdf), images: 'bytes', pages: '1' });
    const first = withBytes.pages[0]!.images![0]!;
    assert.ok(first.bytes instanceof Uint8Array, 'pixels come back as bytes');
    assert.deepEqual([...first.bytes], [...rgb]);
    const plain = await extracted(pdf);
    assert.equal(plain.imageCount, undefined, 'no image work unless asked');
    assert.equal(plain.pages[0]!.images, undefined);
  });

  test('encrypted documents open with their password: RC4 (generated) and AES-256 (qpdf)', async () => {
    const locked = makePdf({ ...knownTextDocument(2, 3).spec, encrypt: { userPassword: 'open sesame' } });
    const result = await extracted({ base64: b64(locked), password: 'open sesame' });
    assert.equal(result.pages[1]!.text, knownTextDocument(2, 3).pageTexts[1]);
    assert.equal(result.metadata?.encrypted, true);
    assert.equal(result.metadata?.title, 'Known text', 'encrypted metadata strings are decrypted');
    const aes = readFileSync(new URL('qpdf-aes256-rotated.pdf', REAL_WORLD));
    const fromQpdf = await extracted({ base64: b64(aes), password: 'troupe', pages: '2' });
    assert.equal(fromQpdf.pages[0]!.rotation, 90);
    assert.ok((fromQpdf.pages[0]!.text ?? '').length > 100);
  });

  test('a URL is downloaded within limits, then extracted', async () => {
    const result = await extracted({ url: `${server.url}/file/known.pdf`, pages: '1' });
    assert.equal(result.pages[0]!.text, known.pageTexts[0]);
  });
});

describe('pdf: every bad document is a typed, unrecoverable error', () => {
  const truncated = knownPdf.subarray(0, Math.floor(knownPdf.length * 0.6));
  const garbage = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) & 255)), Buffer.from('\nstartxref\n12\n%%EOF\n')]);
  const badRoot = Buffer.from(makePdf(knownTextDocument(1, 2).spec).toString('latin1').replace(/\/Root \d+ 0 R/, '/Root 99 0 R').replace('/Type /Catalog', '/Type /Xatalog'), 'latin1');
  const locked = makePdf({ ...knownTextDocument(1, 2).spec, encrypt: { userPassword: 'right' } });
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['corrupt (garbage between header and end marker)', garbage, 'PDF_CORRUPT', /corrupt and cannot be read \(Invalid PDF structure\.\)/],
    ['corrupt (no document catalog)', badRoot, 'PDF_CORRUPT', /corrupt and cannot be read/],
    ['truncated (cut at 60%)', truncated, 'PDF_TRUNCATED', /truncated: its \d+ bytes do not end with the %%EOF marker.*send the whole file/],
    ['not a PDF (HTML)', Buffer.from('<!DOCTYPE html><html><body>Sign in</body></html>'), 'PDF_NOT_A_PDF', /not a PDF \(no %PDF- header\); it looks like an HTML page/],
    ['not a PDF (PNG)', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), 'PDF_NOT_A_PDF', /looks like a PNG image/],
    ['empty input', new Uint8Array(0), 'PDF_NOT_A_PDF', /the input is empty \(0 bytes\)/],
    ['encrypted, no password', locked, 'PDF_PASSWORD_REQUIRED', /encrypted with a password; give it as data\.password/],
    ['encrypted, wrong password', { base64: b64(locked), password: 'wrong' }, 'PDF_PASSWORD_INCORRECT', /data\.password is not its password/],
    ['over maxBytes', { base64: b64(knownPdf), maxBytes: 1000 }, 'PDF_TOO_LARGE', new RegExp(`is ${knownPdf.length} bytes, over maxBytes \\(1000\\); raise data\\.maxBytes`)],
    ['over maxBytes, by URL (stops mid-download)', { url: 'SERVER/file/known.pdf', maxBytes: 1000 }, 'PDF_TOO_LARGE', /over maxBytes \(1000\)/],
    ['over maxPages', { base64: b64(knownPdf), maxPages: 59 }, 'PDF_TOO_MANY_PAGES', /60 pages to extract, over maxPages \(59\); select fewer with data\.pages/],
    ['0 pages', makePdf({ pages: [] }), 'PDF_NO_PAGES', /has 0 pages/],
    ['page range past the end', { base64: b64(knownPdf), pages: '61-70' }, 'PDF_PAGE_RANGE', /asks for page 61, but the document has 60 pages/],
  ];
  for (const [name, data, code, message] of cases) {
    test(name, async () => {
      // The server starts in before(), after this table is built: its address goes in late.
      const input = typeof data === 'object' && data !== null && 'url' in data ? { ...data, url: String(data.url).replace('SERVER', server.url) } : data;
      const outcome = failure(await runPdf(input));
      assert.equal(outcome.error.name, 'PdfError');
      assert.equal(outcome.error.code, code);
      assert.match(outcome.error.message, message);
      assert.equal(outcome.unrecoverable, true, 'no pointless retries');
    });
  }

  test('a URL that answers 404 is unrecoverable, 503 is retried, a page that is not a PDF says so', async () => {
    const missing = failure(await runPdf({ url: `${server.url}/file/nope.pdf` }));
    assert.deepEqual([missing.error.code, missing.unrecoverable], ['FETCH_HTTP_STATUS', true]);
    const busy = failure(await runPdf({ url: `${server.url}/status/503?retryAfter=7` }));
    assert.deepEqual([busy.error.code, busy.unrecoverable, busy.retryAfterMs], ['FETCH_HTTP_STATUS', false, 7000]);
    const html = failure(await runPdf({ url: `${server.url}/file/not.pdf` }));
    assert.equal(html.error.code, 'PDF_NOT_A_PDF');
  });

  test('deployment defaults come from the environment; a bad value names the variable', async () => {
    process.env.TROUPE_PDF_MAX_PAGES = '3';
    const strict = makePdfPool();
    try {
      const { outcomes } = await runJobs(strict, [job('pdf', knownPdf), job('pdf', { base64: b64(knownPdf), pages: '1-3' })]);
      assert.equal(failure(outcomes[0]!).error.code, 'PDF_TOO_MANY_PAGES');
      assert.equal(outcomes[1]!.status, 'completed');
    } finally {
      delete process.env.TROUPE_PDF_MAX_PAGES;
      await strict.destroy();
    }
    process.env.TROUPE_PDF_MAX_BYTES = 'lots';
    const broken = makePdfPool();
    try {
      const { outcomes } = await runJobs(broken, [job('pdf', knownPdf)]);
      const outcome = failure(outcomes[0]!);
      assert.match(outcome.error.message, /TROUPE_PDF_MAX_BYTES="lots" must be a whole number/);
      assert.equal(outcome.unrecoverable, false, 'fixing the environment makes a retry succeed');
    } finally {
      delete process.env.TROUPE_PDF_MAX_BYTES;
      await broken.destroy();
    }
  });
});

describe('pdf: input validation', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /exactly one of "url" or "base64".*got neither/],
    [{ url: 'https://a/x.pdf', base64: 'AAAA' }, /got both/],
    ['just a string', /data must be an object like/],
    [{ url: 'ftp://example.com/a.pdf' }, /data\.url must use http or https, got "ftp"/],
    [{ base64: '%%%' }, /data\.base64 must be the document as a base64 string/],
    [{ base64: 'AAAA', pages: '3-1' }, /data\.pages "3-1" has a bad part "3-1"/],
    [{ base64: 'AAAA', pages: 0 }, /data\.pages must be a string like "1-3,7,10-"/],
    [{ base64: 'AAAA', images: 'all' }, /data\.images must be one of none, info, bytes, got "all"/],
    [{ base64: 'AAAA', maxPages: 0 }, /data\.maxPages must be a whole number from 1 to 100000, got 0/],
    [{ base64: 'AAAA', perPage: 'yes' }, /data\.perPage must be true or false/],
    [{ base64: 'AAAA', password: 1234 }, /data\.password must be a string/],
  ];
  for (const [data, message] of cases) {
    test(`${JSON.stringify(data)} is refused with a clear message`, async () => {
      const outcome = failure(await runPdf(data));
      assert.deepEqual([outcome.error.code, outcome.unrecoverable], ['INVALID_INPUT', true]);
      assert.match(outcome.error.message, message);
    });
  }

  test('page ranges parse and bytes always pass validation', () => {
    assert.deepEqual(parsePageRanges('1-3,7, 10-'), [{ from: 1, to: 3 }, { from: 7, to: 7 }, { from: 10 }]);
    assert.equal(validatePdf(new Uint8Array([1, 2, 3])), undefined);
    assert.equal(PDF_DEFAULTS.maxPages, 2000);
  });
});
