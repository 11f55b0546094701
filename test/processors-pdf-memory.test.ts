/**
 * Memory outside the heap (issue 16 item 7): a PDF whose content stream inflates to hundreds of
 * MB. pdf.js inflates it into one ArrayBuffer, outside the V8 heap that --max-memory-mb caps.
 * - The pdf processor counts what the streams inflate to first and refuses a bomb with
 *   PDF_TOO_LARGE_INFLATED, before pdf.js allocates it.
 * - With that limit raised past the bomb, the supervisor's RSS watch (--max-rss-mb) stops the
 *   thread and fails the job THREAD_MEMORY_CAP; the RSS stays under the cap (see below).
 * Both with a real supervisor process, and each job goes dead after one attempt.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Queue } from '../src/index.js';
import type { PdfResult } from '../src/processors/pdf/index.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually, SupervisorProcess } from './helpers/supervisor-process.js';
import { zeroBombPdf } from './fixtures/pdf/bomb.js';
import { knownTextDocument, makePdf } from './fixtures/pdf/make-pdf.js';

const MiB = 1024 * 1024;
const BOMB_INFLATED = 768 * MiB;

let redis: PrivateRedis;
let bomb: Buffer;
const supervisors: SupervisorProcess[] = [];
const queues: Queue[] = [];

before(async () => {
  redis = await startPrivateRedis();
  bomb = await zeroBombPdf(BOMB_INFLATED);
});
after(async () => {
  for (const q of queues) await q.close();
  for (const s of supervisors) await s.kill();
  await redis?.destroy();
});

function peakRssMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

async function startSupervisor(queue: string, extra: string[] = []): Promise<{ supervisor: SupervisorProcess; queue: Queue }> {
  const supervisor = new SupervisorProcess(['--threads', '1', '--queues', queue, '--max-memory-mb', '256', ...extra], { TROUPE_REDIS_URL: redis.url });
  supervisors.push(supervisor);
  await supervisor.started();
  const q = new Queue(queue, { connection: redis.url });
  queues.push(q);
  return { supervisor, queue: q };
}

async function deadJob(queue: Queue, id: string) {
  return eventually(async () => {
    const job = await queue.getJob(id);
    return job?.state === 'dead' ? job : undefined;
  }, 60_000, `job ${id} to be dead`);
}

/** A normal document first, so pdf.js is loaded and the RSS measured is a warm supervisor's. */
async function warmUp(queue: Queue): Promise<void> {
  const known = knownTextDocument(3, 10);
  const { id } = await queue.enqueue('pdf', makePdf(known.spec));
  const result = (await queue.waitForResult(id, { timeoutMs: 60_000 })) as PdfResult;
  assert.equal(result.text, known.pageTexts.join('\f'));
}

test('a zip-bomb PDF is refused before it is inflated: PDF_TOO_LARGE_INFLATED, one attempt, RSS unchanged', async () => {
  const { supervisor, queue } = await startSupervisor('pdf-bomb-limit');
  await warmUp(queue);
  const before = supervisor.rssMb();
  const { id } = await queue.enqueue('pdf', bomb, { attempts: 3 });
  const job = await deadJob(queue, id);
  assert.equal(job.attempts, 1, 'no retries');
  assert.equal(job.error?.code, 'PDF_TOO_LARGE_INFLATED');
  assert.match(job.error?.message ?? '', /inflate to more than \d+ bytes/);
  assert.match(job.error?.message ?? '', /raise data\.maxInflateRatio \(or TROUPE_PDF_MAX_INFLATE_RATIO\)/);
  // The check counts zlib's output in 256 KB chunks and keeps none of it.
  assert.ok(peakRssMb(supervisor.pid) < before + 100, `peak RSS ${peakRssMb(supervisor.pid)} MiB, before the job ${before} MiB`);
  assert.ok(supervisor.rssMb() < before + 50, `RSS ${supervisor.rssMb()} MiB after, ${before} MiB before`);

  // The limit is the job's to raise: the same bytes with maxInflatedBytes and maxInflateRatio high enough run.
  const small = await zeroBombPdf(80 * MiB);
  const refused = await queue.enqueue('pdf', small);
  assert.equal((await deadJob(queue, refused.id)).error?.code, 'PDF_TOO_LARGE_INFLATED', '80 MiB from an 80 KB file is over 64 MiB');
  const allowed = await queue.enqueue('pdf', { base64: small.toString('base64'), maxInflateRatio: 10_000 });
  const result = (await queue.waitForResult(allowed.id, { timeoutMs: 60_000 })) as PdfResult;
  assert.equal(result.pageCount, 1);
  assert.equal(result.text, '');
});

test('past the inflate limit, the RSS watch stops the thread: THREAD_MEMORY_CAP, one attempt, and RSS stays bounded', async () => {
  const { supervisor, queue } = await startSupervisor('pdf-bomb-rss', ['--max-rss-mb', '600']);
  await warmUp(queue);
  const before = supervisor.rssMb();
  assert.ok(before < 450, `a warm supervisor holds ${before} MiB, leaving room under the 600 MiB cap`);
  const data = { base64: bomb.toString('base64'), maxInflatedBytes: 4 * 1024 * MiB, maxInflateRatio: 1_000_000 };
  const { id } = await queue.enqueue('pdf', data, { attempts: 3 });
  const job = await deadJob(queue, id);
  assert.equal(job.attempts, 1, 'no retries');
  assert.equal(job.error?.code, 'THREAD_MEMORY_CAP');
  assert.match(job.error?.message ?? '', /passed --max-rss-mb 600/);
  const stopped = await supervisor.waitForLog((l) => /RSS over --max-rss-mb/.test(l.msg));
  assert.equal(stopped.code, 'THREAD_MEMORY_CAP');
  // pdf.js doubles its buffer as it inflates, so one step can overshoot the cap; the bomb alone
  // would take the process past 1.5 GiB (768 MiB of buffer plus the copy it grows from).
  const peak = peakRssMb(supervisor.pid);
  assert.ok(peak < 1300, `peak RSS ${peak} MiB`);
  // The thread is gone, but glibc keeps what it freed for reuse (pdf.js's inflate allocates a
  // Huffman table per deflate block, thousands of small arrays in the thread's malloc arena):
  // measured 547 MiB after the stop and 120 MiB after a malloc_trim(0). So the RSS stays under
  // the cap, and the same bomb again reuses that memory instead of adding to it.
  const afterFirst = supervisor.rssMb();
  assert.ok(afterFirst < 600, `RSS ${afterFirst} MiB after the stop, under the cap`);
  const again = await queue.enqueue('pdf', data, { attempts: 3 });
  const second = await deadJob(queue, again.id);
  assert.equal(second.attempts, 1);
  assert.equal(second.error?.code, 'THREAD_MEMORY_CAP');
  const afterSecond = supervisor.rssMb();
  assert.ok(afterSecond < afterFirst + 64, `RSS ${afterSecond} MiB after a second bomb, ${afterFirst} MiB after the first: reused, not added`);
  assert.ok(peakRssMb(supervisor.pid) < 1300);
  // The supervisor goes on: a new thread runs the next document, and is not blamed for the
  // memory the allocator kept (no running thread holds enough to be worth stopping).
  await warmUp(queue);
});
