/**
 * A producer of the latency bench, run as a child process (forked by paced-client.ts) so that its
 * CPU is not the consumer's event loop; the bench runs several (paced-pool.ts). Every job carries
 * its scheduled and actual send time. It sends either as fast as it can, single or bulk enqueues
 * (capacity probe), or its share of an open-loop schedule, one enqueue per job.
 */
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { Queue as BullQueue } from 'bullmq';
import { Queue } from '../../src/index.js';
import type { ProbeData } from './latency-record.js';
import type { FromProducer, ProducerSystem, SendReport, Shard, ToProducer } from './paced-protocol.js';
import { pacedPlan, pacerStep, scheduledAt, wallNow } from './paced-schedule.js';
import { shardIndices } from './paced-split.js';

interface Sender {
  send(processor: string, data: ProbeData): Promise<unknown>;
  /** One bulk call for all of `data` (Troupe enqueueMany, BullMQ addBulk). */
  sendMany(processor: string, data: readonly ProbeData[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Troupe keeps 10,000 completed jobs by default; a 10 s level can finish more, and the bench
 * reads every job's result afterwards, so nothing may be trimmed before then.
 */
const TROUPE_OPTIONS = { keepCompleted: { count: 10_000_000 } };

async function openSender(system: ProducerSystem, redisUrl: string, queue: string): Promise<Sender> {
  if (system === 'troupe') {
    const q = new Queue<ProbeData>(queue, { connection: redisUrl });
    await q.counts(); // connects before the first timed send
    return {
      send: (processor, data) => q.enqueue(processor, data, TROUPE_OPTIONS),
      sendMany: (processor, data) => q.enqueueMany(data.map((d) => ({ processor, data: d, options: TROUPE_OPTIONS }))),
      close: () => q.close(),
    };
  }
  const url = new URL(redisUrl);
  const q = new BullQueue<ProbeData>(queue, { connection: { host: url.hostname, port: Number(url.port) } });
  await q.waitUntilReady();
  return {
    send: (processor, data) => q.add(processor, data),
    sendMany: (processor, data) => q.addBulk(data.map((d) => ({ name: processor, data: d }))),
    close: () => q.close(),
  };
}

class Tally {
  sent = 0;
  failed = 0;
  firstError: string | undefined;
  first = 0;
  last = 0;

  /** Counts a call that sent `jobs` jobs, stamped `at`. */
  track(promise: Promise<unknown>, at: number, jobs = 1): Promise<void> {
    if (this.sent === 0) this.first = at;
    this.last = at;
    this.sent += jobs;
    return promise.then(
      () => undefined,
      (err: unknown) => {
        // Counted and reported with the results; one failed enqueue must not stop the schedule.
        this.failed += jobs;
        this.firstError ??= err instanceof Error ? err.message : String(err);
      },
    );
  }

  report(): SendReport {
    const firstAt = this.sent > 0 ? this.first : Number.NaN;
    const lastAt = this.sent > 0 ? this.last : Number.NaN;
    return { sent: this.sent, failed: this.failed, sendingMs: this.last - this.first, firstAt, lastAt, ...(this.firstError ? { firstError: this.firstError } : {}) };
  }
}

async function flood(sender: Sender, processor: string, jobs: number, window: number, batch: number): Promise<SendReport> {
  const tally = new Tally();
  const perCall = Math.max(1, Math.floor(batch));
  let next = 0;
  const lane = async () => {
    while (next < jobs) {
      const n = Math.min(perCall, jobs - next);
      next += n;
      // A bulk call's jobs share its send stamp: they all leave in the one round trip.
      const at = wallNow();
      if (n === 1) await tally.track(sender.send(processor, { s: at, a: at }), at);
      else await tally.track(sender.sendMany(processor, Array.from({ length: n }, () => ({ s: at, a: at }))), at, n);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, window) }, lane));
  return tally.report();
}

/** Blocks this thread for a sub-millisecond wait: idle, unlike a busy loop, and precise, unlike a timer. */
const blocker = new Int32Array(new SharedArrayBuffer(4));

async function paced(sender: Sender, processor: string, rate: number, durationMs: number, startAt: number, shard: Shard): Promise<SendReport> {
  const plan = pacedPlan(rate, durationMs);
  const tally = new Tally();
  const inFlight: Array<Promise<void>> = [];
  // Only this producer's slots of the one shared schedule; the other producers send the rest.
  for (const i of shardIndices(plan.count, shard)) {
    const due = scheduledAt(plan, startAt, i);
    for (;;) {
      const step = pacerStep(due - wallNow());
      if (step.kind === 'send') break;
      if (step.kind === 'sleep') await sleep(step.ms);
      else Atomics.wait(blocker, 0, 0, step.ms);
    }
    const at = wallNow();
    inFlight.push(tally.track(sender.send(processor, { s: due, a: at }), at));
    // Lets the client write the command and read earlier replies before the next precise wait.
    await yieldToLoop();
  }
  await Promise.all(inFlight);
  return tally.report();
}

const senders = new Map<string, Sender>();

function senderFor(queue: string): Sender {
  const sender = senders.get(queue);
  if (!sender) throw new Error(`no client open for queue ${queue}`);
  return sender;
}

async function closeAll(): Promise<void> {
  const all = [...senders.values()];
  senders.clear();
  await Promise.all(all.map((s) => s.close()));
}

async function handle(msg: ToProducer): Promise<FromProducer> {
  switch (msg.kind) {
    case 'ping':
      return { id: msg.id, kind: 'pong', at: wallNow() };
    case 'open':
      await senders.get(msg.queue)?.close();
      senders.set(msg.queue, await openSender(msg.system, msg.redisUrl, msg.queue));
      return { id: msg.id, kind: 'ok' };
    case 'flood':
      return { id: msg.id, kind: 'sent', report: await flood(senderFor(msg.queue), msg.processor, msg.jobs, msg.window, msg.batch) };
    case 'paced':
      return { id: msg.id, kind: 'sent', report: await paced(senderFor(msg.queue), msg.processor, msg.rate, msg.durationMs, msg.startAt, msg.shard) };
    case 'close':
      await closeAll();
      return { id: msg.id, kind: 'ok' };
  }
}

process.on('message', (msg: ToProducer) => {
  handle(msg).then(
    (reply) => {
      process.send?.(reply);
      if (msg.kind === 'close') process.disconnect();
    },
    (err: unknown) => process.send?.({ id: msg.id, kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromProducer),
  );
});
// The bench going away (crash, Ctrl-C) ends the IPC channel: nothing is left to produce for.
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 2000).unref(); // a client stuck closing must not keep us alive
  void closeAll().finally(() => process.exit(0));
});
