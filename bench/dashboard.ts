/**
 * The dashboard against a queue of 1,000,000 jobs (quick: 50,000): page times over HTTP, p50
 * and p99, for the overview (counts recomputed, and shared within the 2 s interval), a queue
 * page (first page and one half a million jobs deep), a job page, a bounded search and the
 * JSON overview. The pages are served by `troupe dashboard`'s code (Dashboard behind
 * GuardedHttpServer) in this process, against a private redis-server; requests are sequential
 * from one client, so a figure is one viewer's wait, not a throughput. No peer: Bull Board and
 * asynqmon need their own queue systems' data.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { Queue } from '../src/index.js';
import { Dashboard } from '../src/dashboard/dashboard.js';
import { GuardedHttpServer } from '../src/supervisor/http-server.js';
import { createLogger } from '../src/supervisor/logger.js';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import type { Bench, BenchOptions, BenchResult } from './lib/report.js';
import { loadLine, machineLine, redisVersion } from './lib/env.js';
import { fmtInt } from './lib/stats.js';

const FULL = { jobs: 1_000_000, requests: 200 };
const QUICK = { jobs: 50_000, requests: 40 };
const CHUNK = 1000;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const fmtMs = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));

interface PageCase {
  label: string;
  path: string;
  /** Before each request (the overview's fresh case drops the shared counts). */
  before?: () => void;
}

async function timeRequests(base: string, c: PageCase, n: number): Promise<{ p50: number; p99: number; max: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n + 3; i += 1) {
    c.before?.();
    const t0 = performance.now();
    const res = await fetch(`${base}${c.path}`, { headers: { accept: 'text/html' } });
    const body = await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${c.path} answered ${res.status}: ${Buffer.from(body).toString().slice(0, 200)}`);
    bytes = body.byteLength;
    if (i >= 3) times.push(ms); // the first three warm the connection and the code
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), max: times.at(-1)!, bytes };
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const size = options.quick ? QUICK : FULL;
  const load = os.loadavg();
  const redis = await startPrivateRedis();
  const client = new Redis(redis.url);
  const logger = createLogger('silent');
  try {
    const version = await redisVersion(client);
    const queue = new Queue('big', { connection: client });
    const fill = options.progress(`enqueue ${fmtInt(size.jobs)} jobs`, size.jobs / CHUNK);
    const t0 = performance.now();
    for (let i = 0; i < size.jobs; i += CHUNK) {
      await queue.enqueueMany(Array.from({ length: CHUNK }, (_, j) => ({ processor: (i + j) % 10 === 0 ? 'report' : 'echo', data: { n: i + j }, options: { metadata: { customer: `c${(i + j) % 100}` } } })));
      fill.tick();
    }
    fill.done();
    const fillS = (performance.now() - t0) / 1000;
    const counts = await queue.counts();
    if (counts.pending !== size.jobs) throw new Error(`expected ${size.jobs} pending jobs, found ${counts.pending}`);
    const keys = await client.dbsize();
    const memory = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? 0);
    const someId = (await queue.listJobs('pending', { offset: Math.floor(size.jobs / 2), limit: 1 }))[0]!.id;
    await queue.close();

    // Every queue found by SCAN, as without --queues: the scan runs at start (timed), then in the background.
    const dashboard = new Dashboard({ client, queues: [], readOnly: false, logger });
    const t1 = performance.now();
    await dashboard.start();
    await dashboard.data.firstScan();
    const discoveryMs = performance.now() - t1;
    const server = new GuardedHttpServer({ what: 'the dashboard', host: '127.0.0.1', port: 0, token: '', logger, handlers: [dashboard.handler], isOpen: () => true });
    await server.listen();
    const base = server.url!;
    const deep = Math.floor(size.jobs / 2);
    const cases: PageCase[] = [
      { label: 'overview, counts recomputed (first viewer of an interval)', path: '/', before: () => dashboard.data.overview.invalidate() },
      { label: 'overview, shared counts (every other viewer)', path: '/' },
      { label: 'queue page: pending, first 25', path: '/queues/big?state=pending' },
      { label: `queue page: pending, 25 at offset ${fmtInt(deep)}`, path: `/queues/big?state=pending&offset=${deep}` },
      { label: 'job page', path: `/queues/big/jobs/${someId}` },
      { label: 'search by metadata (newest 5,000 looked at)', path: '/queues/big?state=pending&by=metadata&q=customer%3Dc7' },
      { label: 'JSON /api/overview, counts recomputed', path: '/api/overview', before: () => dashboard.data.overview.invalidate() },
    ];
    const rows: string[][] = [];
    const bar = options.progress('page timings', cases.length);
    for (const c of cases) {
      const r = await timeRequests(base, c, size.requests);
      rows.push([c.label, fmtMs(r.p50), fmtMs(r.p99), fmtMs(r.max), fmtInt(r.bytes)]);
      options.log(`dashboard: ${c.label}: p50 ${fmtMs(r.p50)} ms, p99 ${fmtMs(r.p99)} ms`);
      bar.tick();
    }
    bar.done();
    await server.close();
    await dashboard.stop();
    return {
      name: 'dashboard',
      title: `Dashboard page times with ${fmtInt(size.jobs)} jobs in a queue${options.quick ? ' (quick run: too small to compare)' : ''}`,
      about: [
        machineLine(version),
        `One queue of ${fmtInt(size.jobs)} pending jobs (filled in ${fillS.toFixed(1)} s; Redis used_memory ${(memory / 2 ** 20).toFixed(0)} MiB), served by the dashboard in this process over HTTP on loopback.`,
        `${size.requests} sequential requests per page after 3 warm-up ones, one client; times are from request to last byte.`,
        `Queue discovery (SCAN of the whole keyspace, ${fmtInt(keys)} keys): ${discoveryMs.toFixed(0)} ms, in the background (at start, then every 10 s or 10× its own time), never in a request.`,
        loadLine(load),
      ],
      tables: [{ title: 'Page times (ms)', headers: ['page', 'p50', 'p99', 'max', 'bytes'], rows, textColumns: [0] }],
    };
  } finally {
    client.disconnect();
    await redis.destroy();
  }
}

export const bench: Bench = { name: 'dashboard', run };
