/** The bench's side of one producer process: fork it, talk to it one request at a time, stop it (paced-pool.ts runs several). */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromProducer, ProducerSystem, SendReport, Shard, ToProducer } from './paced-protocol.js';
import { clockOffsetBounds, wallNow, type ClockSample } from './paced-schedule.js';

const ENTRY = fileURLToPath(new URL('./paced-producer.ts', import.meta.url));
/** No request legitimately takes this long: the longest is one load level (≤ ~10 s) plus draining sends. */
const REQUEST_TIMEOUT_MS = 120_000;

type Request = ToProducer extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export class ProducerProcess {
  private nextId = 1;
  private waiting = new Map<number, { resolve(msg: FromProducer): void; reject(err: Error): void }>();
  private exited = false;
  private readonly exit: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    this.exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.on('message', (msg: FromProducer) => {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.kind === 'error') w.reject(new Error(`producer: ${msg.message}`));
      else w.resolve(msg);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error(`producer exited (code ${code}, signal ${signal})`));
      this.waiting.clear();
    });
  }

  /** A child running paced-producer.ts through tsx, as the bench itself runs. */
  static start(): ProducerProcess {
    const child = fork(ENTRY, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new ProducerProcess(child);
  }

  private request(body: Request): Promise<FromProducer> {
    if (this.exited) return Promise.reject(new Error('producer has exited'));
    const id = this.nextId++;
    return new Promise<FromProducer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`producer: no answer to ${body.kind} within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      const done = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        f(v);
      };
      this.waiting.set(id, { resolve: done(resolve), reject: done(reject) });
      this.child.send({ ...body, id } as ToProducer);
    });
  }

  /** Bounds on (producer clock − our clock), ms, from `pings` round trips. */
  async clockOffset(pings = 50): Promise<{ low: number; high: number }> {
    const samples: ClockSample[] = [];
    for (let i = 0; i < pings; i++) {
      const before = wallNow();
      const reply = await this.request({ kind: 'ping' });
      const after = wallNow();
      if (reply.kind === 'pong') samples.push({ before, remote: reply.at, after });
    }
    return clockOffsetBounds(samples);
  }

  async open(system: ProducerSystem, redisUrl: string, queue: string): Promise<void> {
    await this.request({ kind: 'open', system, redisUrl, queue });
  }

  /** `jobs` as fast as it goes, `batch` jobs per enqueue call, `window` calls in flight. */
  async flood(queue: string, processor: string, jobs: number, window: number, batch = 1): Promise<SendReport> {
    return sendReport(await this.request({ kind: 'flood', queue, processor, jobs, window, batch }));
  }

  /** The open-loop schedule, or only `shard`'s slots of it when several producers share it. */
  async paced(queue: string, processor: string, rate: number, durationMs: number, startAt: number, shard: Shard = { index: 0, of: 1 }): Promise<SendReport> {
    return sendReport(await this.request({ kind: 'paced', queue, processor, rate, durationMs, startAt, shard }));
  }

  /** Closes the producer's client and waits for the process to end; kills it if it does not. */
  async stop(): Promise<void> {
    if (this.exited) return;
    await this.request({ kind: 'close' }).catch(() => undefined); // a dead or stuck child is killed below
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    if (this.child.connected) this.child.disconnect();
    await this.exit;
    clearTimeout(timer);
  }
}

function sendReport(msg: FromProducer): SendReport {
  if (msg.kind !== 'sent') throw new Error(`producer: expected a send report, got ${msg.kind}`);
  return msg.report;
}
