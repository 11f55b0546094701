/**
 * The deployment's caps win over a pdf job's data (issue 18): TROUPE_PDF_*_CAP bound maxBytes,
 * maxPages, maxInflatedBytes and maxInflateRatio, and the fetch caps bound a URL job's timeoutMs
 * and maxRedirects. A job over a cap fails before anything is downloaded or parsed with
 * PDF_OVER_CAP (unrecoverable); a default above its cap is lowered to it; a bad cap variable fails
 * the job retryable, naming it. Jobs run in a real thread, which reads the environment it started with.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkPdfCaps, pdfCap, pdfDefault } from '../src/processors/pdf/options.js';
import type { JobOutcome } from '../src/threads/protocol.js';
import { startServer, trickyRoutes, type TestServer } from './fixtures/http/server.js';
import { zeroBombPdf } from './fixtures/pdf/bomb.js';
import { knownTextDocument, makePdf } from './fixtures/pdf/make-pdf.js';
import { makePdfPool } from './fixtures/pdf/pool.js';
import { job, runJobs, type Pool } from './fixtures/threads/pool.js';

const MiB = 1024 * 1024;
const known = makePdf(knownTextDocument(5, 10).spec);
const b64 = (bytes: Buffer): string => bytes.toString('base64');
let server: TestServer;

before(async () => {
  server = await startServer(trickyRoutes({ 'known.pdf': known }));
});
after(async () => {
  await server.close();
});

/** A one-thread pdf pool whose thread starts with these variables (threads copy the environment when they start). */
function poolWith(env: Record<string, string>): Pool {
  Object.assign(process.env, env);
  try {
    return makePdfPool({ allowHosts: ['loopback'] });
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
  }
}

async function outcomes(env: Record<string, string>, data: unknown[]): Promise<JobOutcome[]> {
  const pool = poolWith(env);
  try {
    return (await runJobs(pool, data.map((d) => job('pdf', d)))).outcomes;
  } finally {
    await pool.destroy();
  }
}

function failure(outcome: JobOutcome | undefined) {
  assert.equal(outcome?.status, 'failed', `expected a failure, got ${JSON.stringify(outcome).slice(0, 300)}`);
  return outcome as Extract<JobOutcome, { status: 'failed' }>;
}

function overCap(outcome: JobOutcome | undefined, message: RegExp): void {
  const f = failure(outcome);
  assert.deepEqual([f.error.name, f.error.code, f.unrecoverable], ['PdfError', 'PDF_OVER_CAP', true]);
  assert.match(f.error.message, message);
}

test('a job asking for more than a TROUPE_PDF_*_CAP fails with PDF_OVER_CAP; asking for the cap itself works', async () => {
  const [bytes, pages, inflated, ratio, fits] = await outcomes(
    { TROUPE_PDF_MAX_BYTES_CAP: '200000', TROUPE_PDF_MAX_PAGES_CAP: '10', TROUPE_PDF_MAX_INFLATED_BYTES_CAP: String(100 * MiB), TROUPE_PDF_MAX_INFLATE_RATIO_CAP: '300' },
    [
      { base64: b64(known), maxBytes: 1024 * MiB },
      { base64: b64(known), maxPages: 100_000 },
      { base64: b64(known), maxInflatedBytes: 16 * 1024 * MiB },
      { base64: b64(known), maxInflateRatio: 1_000_000 },
      { base64: b64(known), maxBytes: 200_000, maxPages: 10, maxInflatedBytes: 100 * MiB, maxInflateRatio: 300 },
    ],
  );
  overCap(bytes, /pdf: data\.maxBytes 1073741824 is over this deployment's cap of 200000 \(TROUPE_PDF_MAX_BYTES_CAP\); ask for at most 200000/);
  overCap(pages, /data\.maxPages 100000 is over this deployment's cap of 10 \(TROUPE_PDF_MAX_PAGES_CAP\)/);
  overCap(inflated, /data\.maxInflatedBytes 17179869184 is over this deployment's cap of 104857600 \(TROUPE_PDF_MAX_INFLATED_BYTES_CAP\)/);
  overCap(ratio, /data\.maxInflateRatio 1000000 is over this deployment's cap of 300 \(TROUPE_PDF_MAX_INFLATE_RATIO_CAP\)/);
  assert.equal(fits!.status, 'completed', JSON.stringify(fits).slice(0, 300));
});

test('a URL job over a cap is refused before any request, its timeoutMs and maxRedirects by the fetch caps', async () => {
  const hits = () => server.hits.get('/file/known.pdf') ?? 0;
  const before = hits();
  const url = `${server.url}/file/known.pdf`;
  const [bytes, timeout, redirects, fits] = await outcomes({ TROUPE_PDF_MAX_BYTES_CAP: '200000', TROUPE_FETCH_TIMEOUT_MS_CAP: '5000', TROUPE_FETCH_MAX_REDIRECTS_CAP: '2' }, [
    { url, maxBytes: 300_000 },
    { url, timeoutMs: 3_600_000 },
    { url, maxRedirects: 20 },
    { url, timeoutMs: 5000, maxRedirects: 2 },
  ]);
  overCap(bytes, /data\.maxBytes 300000 is over this deployment's cap of 200000 \(TROUPE_PDF_MAX_BYTES_CAP\)/);
  overCap(timeout, /data\.timeoutMs 3600000 is over this deployment's cap of 5000 \(TROUPE_FETCH_TIMEOUT_MS_CAP\)/);
  overCap(redirects, /data\.maxRedirects 20 is over this deployment's cap of 2 \(TROUPE_FETCH_MAX_REDIRECTS_CAP\)/);
  assert.equal(fits!.status, 'completed', JSON.stringify(fits).slice(0, 300));
  assert.equal(hits(), before + 1, 'only the job within the caps was downloaded');
});

test('a default above its cap is lowered to it: TROUPE_PDF_MAX_BYTES over TROUPE_PDF_MAX_BYTES_CAP', async () => {
  const [bytes] = await outcomes({ TROUPE_PDF_MAX_BYTES: String(50 * MiB), TROUPE_PDF_MAX_BYTES_CAP: '1000' }, [known]);
  const big = failure(bytes);
  assert.equal(big.error.code, 'PDF_TOO_LARGE');
  assert.match(big.error.message, /over maxBytes \(1000\)/);
});

test('the inflate and page defaults are lowered to their caps', async () => {
  const bomb = await zeroBombPdf(80 * MiB);
  const [pages, selected, inflated] = await outcomes({ TROUPE_PDF_MAX_PAGES_CAP: '4', TROUPE_PDF_MAX_INFLATED_BYTES_CAP: String(70 * MiB), TROUPE_PDF_MAX_INFLATE_RATIO_CAP: '1000000' }, [
    known,
    { base64: b64(known), pages: '1-4' },
    { base64: b64(bomb), maxInflateRatio: 1_000_000 },
  ]);
  const many = failure(pages);
  assert.equal(many.error.code, 'PDF_TOO_MANY_PAGES');
  assert.match(many.error.message, /5 pages to extract, over maxPages \(4\)/);
  assert.equal(selected!.status, 'completed');
  const bombed = failure(inflated);
  assert.equal(bombed.error.code, 'PDF_TOO_LARGE_INFLATED');
  assert.match(bombed.error.message, /more than 73400320 bytes/, 'the 256 MiB default maxInflatedBytes is lowered to the 70 MiB cap');
});

test('a bad cap variable fails the job as retryable, naming the variable', async () => {
  const [outcome] = await outcomes({ TROUPE_PDF_MAX_PAGES_CAP: 'many' }, [known]);
  const f = failure(outcome);
  assert.equal(f.unrecoverable, false, 'fixing the environment makes a retry succeed');
  assert.match(f.error.message, /TROUPE_PDF_MAX_PAGES_CAP="many" must be a whole number from 1 to 100000; fix the environment of the supervisor/);
});

test('without caps set, the hard limits are the caps and the defaults are unchanged', () => {
  assert.equal(pdfCap('maxBytes', {}), 1024 * MiB);
  assert.equal(pdfDefault('maxPages', {}), 2000);
  assert.equal(pdfDefault('maxPages', { TROUPE_PDF_MAX_PAGES_CAP: '7' }), 7);
  assert.doesNotThrow(() => checkPdfCaps({ maxPages: 100_000, maxBytes: 1024 * MiB }, {}));
  // timeoutMs and maxRedirects of a document given as bytes download nothing: not checked.
  assert.doesNotThrow(() => checkPdfCaps({ timeoutMs: 3_600_000 }, { TROUPE_FETCH_TIMEOUT_MS_CAP: '10' }));
});
