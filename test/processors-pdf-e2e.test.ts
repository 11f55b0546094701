/**
 * The pdf processor behind real supervisors: a document enqueued as bytes comes back as text, and
 * every bad document ends in the dead-letter queue after one attempt, with its code and reason.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from '../src/index.js';
import type { PdfResult } from '../src/processors/pdf/index.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually, SupervisorProcess } from './helpers/supervisor-process.js';
import { knownTextDocument, makePdf } from './fixtures/pdf/make-pdf.js';

let redis: PrivateRedis;
let supervisor: SupervisorProcess;
let queue: Queue;
before(async () => {
  redis = await startPrivateRedis();
  supervisor = new SupervisorProcess(['--threads', '2', '--queues', 'pdf-e2e'], { TROUPE_REDIS_URL: redis.url });
  await supervisor.started();
  queue = new Queue('pdf-e2e', { connection: redis.url });
});
after(async () => {
  await queue?.close();
  await supervisor?.kill();
  await redis?.destroy();
});

test('a PDF enqueued as bytes is extracted by a supervisor', async () => {
  const known = knownTextDocument(55, 20);
  const { id } = await queue.enqueue('pdf', makePdf(known.spec));
  const result = (await queue.waitForResult(id, { timeoutMs: 60_000 })) as PdfResult;
  assert.equal(result.pageCount, 55);
  assert.equal(result.text, known.pageTexts.join('\f'));
  const job = await queue.getJob(id);
  assert.deepEqual(job?.progress, { page: 55, done: 55, total: 55 }, 'the last progress report is stored on the job');
});

test('every bad document goes to the dead-letter queue at once, with its code and reason', async () => {
  const good = makePdf(knownTextDocument(3, 5).spec);
  const locked = makePdf({ ...knownTextDocument(1, 2).spec, encrypt: { userPassword: 'pw' } });
  const corrupt = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(3000, 0x5a), Buffer.from('\n%%EOF\n')]);
  const cases: Array<[unknown, string]> = [
    [corrupt, 'PDF_CORRUPT'],
    [good.subarray(0, good.length - 200), 'PDF_TRUNCATED'],
    [Buffer.from('{"not":"a pdf"}'), 'PDF_NOT_A_PDF'],
    [locked, 'PDF_PASSWORD_REQUIRED'],
    [{ base64: locked.toString('base64'), password: 'nope' }, 'PDF_PASSWORD_INCORRECT'],
    [{ base64: good.toString('base64'), maxBytes: 100 }, 'PDF_TOO_LARGE'],
    [{ base64: good.toString('base64'), maxPages: 2 }, 'PDF_TOO_MANY_PAGES'],
    [makePdf({ pages: [] }), 'PDF_NO_PAGES'],
  ];
  const ids = [];
  for (const [data, code] of cases) ids.push([(await queue.enqueue('pdf', data, { attempts: 5 })).id, code] as const);
  for (const [id, code] of ids) {
    const job = await eventually(async () => {
      const j = await queue.getJob(id);
      return j?.state === 'dead' ? j : undefined;
    }, 30_000, `job ${id} (${code}) to be dead`);
    assert.equal(job.attempts, 1, `${code}: no retries`);
    assert.equal(job.error?.code, code);
    assert.equal(job.error?.name, 'PdfError');
    assert.match(job.error?.message ?? '', /^pdf: /);
  }
  const dead = await queue.counts();
  assert.equal(dead.dead, cases.length);
});
