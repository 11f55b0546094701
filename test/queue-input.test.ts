import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Queue, QueueConsumer, ValidationError, type JobOptions, type JobSpec, type JobState } from '../src/queue/index.js';
import { startPrivateRedis, uniqueQueue, type PrivateRedis } from './helpers/redis-server.js';

// A private server: "nothing was written" is then simply DBSIZE 0 after every case.
let redis: PrivateRedis;
let admin: Redis;
let queue: Queue;
let tiny: Queue;
let consumer: QueueConsumer;
const name = uniqueQueue('input');

before(async () => {
  redis = await startPrivateRedis();
  admin = new Redis(redis.url);
  queue = new Queue(name, { connection: redis.url });
  tiny = new Queue(`${name}-tiny`, { connection: redis.url, maxPayloadBytes: 16 });
  consumer = new QueueConsumer(name, { connection: redis.url });
});
// A case that wrongly writes must not make the following cases fail too.
afterEach(async () => {
  await admin.flushdb();
});
after(async () => {
  await Promise.all([queue?.close(), tiny?.close(), consumer?.close()]);
  admin?.disconnect();
  await redis?.destroy();
});

type Code = 'INVALID_OPTION' | 'PAYLOAD_TOO_LARGE' | 'NOT_SERIALISABLE' | 'UNKNOWN_STATE';
interface Case {
  label: string;
  act: () => Promise<unknown>;
  field: string;
  message: RegExp;
  code?: Code;
}

/** Options the type system would reject: the point is what happens at runtime. */
const opts = (value: Record<string, unknown>) => value as unknown as JobOptions;
const withOptions = (label: string, options: Record<string, unknown>, field: string, message: RegExp): Case => ({
  label, act: () => queue.enqueue('echo', 1, opts(options)), field: `options.${field}`, message,
});
const withData = (label: string, data: unknown, field: string, message: RegExp): Case => ({
  label, act: () => queue.enqueue('echo', data), field, message, code: 'NOT_SERIALISABLE',
});
const circular: { a: { back?: unknown } } = { a: {} };
circular.a.back = circular;

async function expectRejected({ act, field, message, code = 'INVALID_OPTION' }: Case): Promise<void> {
  await assert.rejects(act, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.field, field);
    assert.ok(err.message.startsWith(`${field}: `), err.message);
    assert.match(err.message, message);
    return true;
  });
  assert.equal(await admin.dbsize(), 0, 'a rejected call must write nothing');
}

const cases: Case[] = [
  withOptions('unknown priority', { priority: 'urgent' }, 'priority', /"urgent" is not one of critical, high, normal, low/),
  withOptions('negative delayMs', { delayMs: -5 }, 'delayMs', /must be a whole number from 0 to \d+, got -5/),
  withOptions('fractional delayMs', { delayMs: 1.5 }, 'delayMs', /whole number .* got 1\.5/),
  withOptions('delayMs and runAt together', { delayMs: 10, runAt: Date.now() + 10 }, 'delayMs', /give delayMs or runAt, not both/),
  withOptions('runAt an invalid Date', { runAt: new Date('nope') }, 'runAt', /whole number .* got null/),
  withOptions('attempts 0', { attempts: 0 }, 'attempts', /from 1 to 1000, got 0/),
  withOptions('backoff of unknown type', { backoff: { type: 'linear' } }, 'backoff.type', /"exponential" or "fixed", got "linear"/),
  withOptions('backoff not an object', { backoff: 'fast' }, 'backoff', /must be \{ type: "exponential"/),
  withOptions('empty backoff list', { backoff: [] }, 'backoff', /needs at least one delay/),
  withOptions('negative delay in backoff list', { backoff: [100, -1] }, 'backoff[1]', /got -1/),
  withOptions('negative fixed backoff', { backoff: { type: 'fixed', ms: -1 } }, 'backoff.ms', /got -1/),
  withOptions('backoff maxMs below initialMs', { backoff: { type: 'exponential', initialMs: 5000, maxMs: 1000 } }, 'backoff.maxMs', /at least initialMs \(5000\)/),
  withOptions('backoff jitter above 1', { backoff: { type: 'exponential', jitter: 1.5 } }, 'backoff.jitter', /from 0 to 1, got 1\.5/),
  withOptions('backoff multiplier below 1', { backoff: { type: 'exponential', multiplier: 0.5 } }, 'backoff.multiplier', /from 1 to 100, got 0\.5/),
  withOptions('jobId with a space', { jobId: 'a b' }, 'jobId', /1-256 characters with no spaces or braces/),
  withOptions('jobId with braces', { jobId: 'a{b}' }, 'jobId', /no spaces or braces/),
  withOptions('jobId too long', { jobId: 'x'.repeat(257) }, 'jobId', /1-256 characters/),
  withOptions('empty jobId', { jobId: '' }, 'jobId', /1-256 characters/),
  withOptions('unknown option key', { retries: 3 }, 'retries', /unknown option; known options are priority, delayMs/),
  withOptions('unknown retention key', { keepCompleted: { days: 1 } }, 'keepCompleted.days', /unknown key \(use ageMs and\/or count\)/),
  withOptions('negative retention count', { keepDead: { count: -1 } }, 'keepDead.count', /got -1/),
  withOptions('metadata not an object', { metadata: [1, 2] }, 'metadata', /must be a plain object/),
  {
    label: 'oversize JSON payload', act: () => tiny.enqueue('echo', 'x'.repeat(100)), field: 'data',
    message: /is 102 bytes, over the limit of 16 bytes; raise maxPayloadBytes/, code: 'PAYLOAD_TOO_LARGE',
  },
  {
    label: 'oversize bytes payload', act: () => tiny.enqueue('echo', new Uint8Array(17)), field: 'data',
    message: /is 17 bytes, over the limit of 16 bytes/, code: 'PAYLOAD_TOO_LARGE',
  },
  withData('a function', () => 1, 'data', /is a function, which JSON cannot carry/),
  withData('a nested BigInt', { n: 10n }, 'data.n', /is a bigint/),
  withData('a nested symbol', { s: Symbol('x') }, 'data.s', /is a symbol/),
  withData('NaN', { x: NaN }, 'data.x', /is NaN, which JSON cannot carry \(it would arrive as null\)/),
  withData('Infinity in an array', [1, Infinity], 'data[1]', /is Infinity/),
  withData('a Map', { m: new Map([[1, 2]]) }, 'data.m', /is a Map \(convert it with Object\.fromEntries\)/),
  withData('a Set', { s: new Set([1]) }, 'data.s', /is a Set \(convert it with Array\.from\)/),
  withData('a circular object', circular, 'data.a.back', /refers back to one of its parents \(a cycle\)/),
  withData('a Buffer nested inside JSON', { file: Buffer.from('pdf') }, 'data.file', /holds bytes inside a JSON payload/),
  withData('a Uint8Array nested in an array', [new Uint8Array(2)], 'data[0]', /holds bytes inside a JSON payload/),
  { label: 'empty processor name', act: () => queue.enqueue('', 1), field: 'processor', message: /must name the processor to run.*\(got an empty value\)/ },
  { label: 'processor name with spaces', act: () => queue.enqueue('my job', 1), field: 'processor', message: /"my job" is not a valid processor name/ },
  ...(['listJobs', 'clear'] as const).map((method): Case => ({
    label: `unknown state for ${method}`, act: () => queue[method]('running' as JobState), field: 'state',
    message: /"running" is not a job state; use one of pending, delayed, active, completed, dead/, code: 'UNKNOWN_STATE',
  })),
  { label: 'listJobs limit 0', act: () => queue.listJobs('pending', { limit: 0 }), field: 'limit', message: /from 1 to 10000, got 0/ },
  { label: 'listJobs negative offset', act: () => queue.listJobs('pending', { offset: -1 }), field: 'offset', message: /at least 0, got -1/ },
  { label: 'waitForResult timeout 0', act: () => queue.waitForResult('x', { timeoutMs: 0 }), field: 'timeoutMs', message: /from 1 to 2147483647 .*got 0/ },
  { label: 'lease max 0', act: () => consumer.lease('sup', 0, 1000), field: 'max', message: /from 1 to 1000, got 0/ },
  { label: 'lease max over 1000', act: () => consumer.lease('sup', 1001, 1000), field: 'max', message: /got 1001/ },
  { label: 'lease shorter than 100 ms', act: () => consumer.lease('sup', 1, 50), field: 'leaseMs', message: /at least 100, got 50/ },
  ...[['braces', 'a{b}'], ['empty', ''], ['a space', 'a b']].flatMap(([what, bad]): Case[] => [
    { label: `Queue name with ${what}`, act: async () => construct(() => new Queue(bad!, { connection: redis.url })), field: 'queue', message: /is not a valid queue name: use 1-128 letters/ },
    { label: `QueueConsumer name with ${what}`, act: async () => construct(() => new QueueConsumer(bad!, { connection: redis.url })), field: 'queue', message: /is not a valid queue name/ },
  ]),
  { label: 'maxPayloadBytes 0', act: async () => construct(() => new Queue(name, { connection: redis.url, maxPayloadBytes: 0 })), field: 'maxPayloadBytes', message: /at least 1, got 0/ },
  { label: 'eventsMaxLen below 100', act: async () => construct(() => new Queue(name, { connection: redis.url, eventsMaxLen: 5 })), field: 'eventsMaxLen', message: /at least 100, got 5/ },
  {
    label: 'bad defaultJobOptions', act: async () => construct(() => new Queue(name, { connection: redis.url, defaultJobOptions: opts({ attempts: 0 }) })),
    field: 'defaultJobOptions.attempts', message: /from 1 to 1000, got 0/,
  },
];

/** A constructor that wrongly accepts bad input must not leak its connection. */
async function construct(make: () => Queue | QueueConsumer): Promise<void> {
  await make().close();
}

for (const c of cases) {
  test(`rejects ${c.label}`, () => expectRejected(c));
}

// Metadata is stored as JSON like the payload, so it deserves the same refusal of lossy values.
test('rejects metadata JSON cannot carry', async (t) => {
  const metadataCases: Case[] = [
    withOptions('BigInt in metadata', { metadata: { n: 1n } }, 'metadata.n', /is a bigint/),
    withOptions('function in metadata', { metadata: { f: () => 1 } }, 'metadata.f', /is a function/),
  ];
  for (const c of metadataCases) await t.test(c.label, () => expectRejected({ ...c, code: 'NOT_SERIALISABLE' }));
});

test('a bad job in an enqueueMany batch writes none of the batch', async (t) => {
  const good = (i: number): JobSpec => ({ processor: 'echo', data: { i } });
  const batch = (bad: JobSpec, size = 5, at = 2) => Array.from({ length: size }, (_, i) => (i === at ? bad : good(i)));
  const batchCases: Case[] = [
    {
      label: 'bad option in job 3 of 5', act: () => queue.enqueueMany(batch({ processor: 'echo', options: opts({ priority: 'urgent' }) })),
      field: 'jobs[2].options.priority', message: /^jobs\[2\]\.options\.priority: "urgent" is not one of/,
    },
    {
      label: 'unserialisable data in job 3 of 5', act: () => queue.enqueueMany(batch({ processor: 'echo', data: { when: 1n } })),
      field: 'jobs[2].data.when', message: /^jobs\[2\]\.data\.when: is a bigint/, code: 'NOT_SERIALISABLE',
    },
    {
      label: 'oversize data in job 3 of 5', act: () => tiny.enqueueMany(batch({ processor: 'echo', data: 'y'.repeat(64) })),
      field: 'jobs[2].data', message: /is 66 bytes, over the limit of 16/, code: 'PAYLOAD_TOO_LARGE',
    },
    {
      label: 'bad processor in job 3 of 5', act: () => queue.enqueueMany(batch({ processor: 'no spaces' })),
      field: 'jobs[2].processor', message: /"no spaces" is not a valid processor name/,
    },
    // Later chunks of 1000 are validated before the first chunk is sent.
    {
      label: 'bad job 1501 of 2500', act: () => queue.enqueueMany(batch({ processor: 'echo', options: opts({ attempts: -1 }) }, 2500, 1500)),
      field: 'jobs[1500].options.attempts', message: /got -1/,
    },
  ];
  for (const c of batchCases) await t.test(c.label, () => expectRejected(c));
});

// Guards the guard: DBSIZE must move when something is written, or every check above is vacuous.
test('a valid enqueue on the same server does write keys', async () => {
  assert.equal(await admin.dbsize(), 0);
  const { id, outcome } = await queue.enqueue('echo', { ok: true });
  assert.equal(outcome, 'created');
  assert.ok((await admin.dbsize()) > 0);
  assert.equal(await admin.exists(`troupe:{${name}}:job:${id}`), 1);
});
