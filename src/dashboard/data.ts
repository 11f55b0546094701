/**
 * What the dashboard reads from Redis, through the same functions as the CLI: queue counts as
 * `troupe stats` gets them (statsFor), latency as it merges them (readClusterHistograms), the
 * supervisors as `troupe status` lists them, pages of jobs as `troupe jobs` (Queue.listJobs),
 * one job as `troupe job`, schedules as `troupe schedule list`. Never KEYS.
 *
 * The overview is computed at most once per interval and shared by every viewer and every
 * page: ten open tabs cost Redis what one costs. Queue discovery (a SCAN of the keyspace, as
 * `troupe stats` does) is slower still with millions of job keys, so it runs in the background
 * every DISCOVERY_MS and never in a request; `--queues` skips it.
 */
import { discoverQueues, statsFor, type QueueStats } from '../queue/queue-stats.js';
import type { RedisClient } from '../queue/connection.js';
import type { Durability } from '../queue/scripts.js';
import { queueKeys, type JobState, PRIORITIES } from '../queue/keys.js';
import type { JobRecord } from '../queue/job.js';
import { Queue } from '../queue/queue.js';
import { readClusterHistograms, summarizeCluster, type QueueLatency } from '../metrics/cluster.js';
import { listSupervisors, type SupervisorEntry } from '../supervisor/registry.js';
import { ScheduleStore, type StoredSchedule } from '../scheduler/store.js';
import { readMinutes, type Minutes } from './latency.js';

/** How often the shared overview is recomputed at most. */
export const OVERVIEW_INTERVAL_MS = 2_000;
/** Per-minute charts change once a minute; 15 s keeps the newest minute fresh enough. */
export const MINUTES_INTERVAL_MS = 15_000;
/** Queue discovery runs this often, or ten times as long as the last scan took, whichever is longer. */
export const DISCOVERY_MS = 10_000;
/** The first overview waits this long at most for the first queue scan. */
const FIRST_SCAN_WAIT_MS = 500;
/** Latency window of the overview's figures (as `troupe stats`' default). */
export const LATENCY_WINDOW_MS = 5 * 60_000;
/** Jobs per page: the default, and the cap whatever a URL asks for. */
export const PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;
/** A search by processor or metadata looks at this many of a state's newest jobs, no more. */
export const SEARCH_SCAN_LIMIT = 5_000;
const SEARCH_CHUNK = 500;
/** Follow-ups of a job are looked up by their derived ids `<id>.0`, `<id>.1`, ... up to this many. */
const MAX_FOLLOW_UPS = 20;
/** Dead-job counts are sampled this often (at most) for the DLQ-growth chart, an hour's worth kept. */
const DEAD_SAMPLE_MS = 10_000;
const DEAD_SAMPLES = 360;

export interface QueueSummary extends QueueStats {
  name: string;
  /** Live (not stale) supervisors that take jobs from it. */
  supervisors: string[];
  latency?: QueueLatency;
}

export interface Overview {
  at: number;
  /** The first scan for queues is still running: queues only supervisors serve are listed so far. */
  discovering: boolean;
  queues: QueueSummary[];
  supervisors: SupervisorEntry[];
  latencyWindowMs: number;
}

/** Runs `compute` at most once per `intervalMs`; callers meanwhile share the last result or the one in flight. */
export class Shared<T> {
  private value: { at: number; data: T } | undefined;
  private inFlight: Promise<T> | undefined;
  /** Times `compute` ran (tests count it). */
  computed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly compute: () => Promise<T>,
    private readonly clock: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    if (this.value && this.clock() - this.value.at < this.intervalMs) return Promise.resolve(this.value.data);
    this.inFlight ??= this.compute()
      .then((data) => {
        this.computed += 1;
        this.value = { at: this.clock(), data };
        return data;
      })
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** After an action: the next read recomputes. */
  invalidate(): void {
    this.value = undefined;
  }
}

export interface DataOptions {
  client: RedisClient;
  /** Queues to show; empty = every queue found in Redis. */
  queues: readonly string[];
  durability?: Durability;
  clock?: () => number;
}

export interface JobPage {
  queue: string;
  state: JobState;
  total: number;
  offset: number;
  limit: number;
  jobs: JobRecord[];
}

export interface SearchResult {
  queue: string;
  state: JobState;
  by: SearchBy;
  term: string;
  jobs: JobRecord[];
  /** How many of the state's jobs were looked at, and how many it holds. */
  scanned: number;
  total: number;
}

export type SearchBy = 'id' | 'processor' | 'metadata';
export const SEARCH_FIELDS: readonly SearchBy[] = ['id', 'processor', 'metadata'];

export interface JobDetail {
  job: JobRecord;
  /** The lease deadline while active (the active zset's score). */
  leaseDeadline?: number;
  /** Parent (by the derived id `<parent>.<n>`), when it is still stored in this queue. */
  parent?: string;
  followUps: Array<{ id: string; state: string }>;
}

export class DashboardData {
  readonly overview: Shared<Overview>;
  readonly minutes: Shared<Minutes>;
  private discovered: string[] = [];
  private discovery: Promise<void> | undefined;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly queues = new Map<string, Queue>();
  readonly schedules: ScheduleStore;
  readonly clock: () => number;
  /** Per queue: [when, dead jobs], oldest first, since this dashboard started. */
  readonly deadSamples = new Map<string, Array<readonly [number, number]>>();

  constructor(private readonly options: DataOptions) {
    this.clock = options.clock ?? Date.now;
    this.overview = new Shared(OVERVIEW_INTERVAL_MS, () => this.computeOverview(), this.clock);
    this.minutes = new Shared(MINUTES_INTERVAL_MS, () => readMinutes(options.client, this.clock()), this.clock);
    this.schedules = new ScheduleStore(options.client);
  }

  get client(): RedisClient {
    return this.options.client;
  }

  /** Fixed by --queues, or found in Redis (and among the supervisors' queues). */
  get fixedQueues(): boolean {
    return this.options.queues.length > 0;
  }

  /** True until the first scan for queues has finished (millions of job keys take seconds to scan). */
  get discovering(): boolean {
    return !this.fixedQueues && !this.scanned;
  }
  private scanned = false;

  /**
   * The first scan starts with the first page (not here: a supervisor starts its endpoint before
   * it connects to Redis), and pages are served meanwhile, with a note.
   */
  async start(): Promise<void> {
    this.stopped = false;
  }

  private ensureScanning(): void {
    if (!this.fixedQueues && !this.scanStarted && !this.stopped) {
      this.scanStarted = true;
      void this.discover();
    }
  }
  private scanStarted = false;

  /** Waits for the scan in progress (tests, the bench). */
  async firstScan(): Promise<void> {
    this.ensureScanning();
    await this.discovery;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.discoveryTimer);
    await this.discovery?.catch(() => undefined);
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }

  /** Scans in the background, then again after DISCOVERY_MS or 10× the scan's own time (a big keyspace is scanned less often). */
  private discover(): Promise<void> {
    const began = Date.now();
    this.discovery ??= discoverQueues(this.options.client)
      .then((names) => {
        this.discovered = [...new Set([...names, ...this.discovered.filter((n) => this.confirmed.has(n))])].sort();
        if (!this.scanned) this.overview.invalidate();
        this.scanned = true;
      })
      .catch(() => undefined) // a failed scan keeps the last list; the next one tries again
      .finally(() => {
        this.discovery = undefined;
        if (this.stopped) return;
        this.discoveryTimer = setTimeout(() => void this.discover(), Math.max(DISCOVERY_MS, 10 * (Date.now() - began)));
        this.discoveryTimer.unref();
      });
    return this.discovery;
  }

  private readonly confirmed = new Set<string>();

  /**
   * A queue named in a URL that the last scan did not see (made since): its few fixed keys are
   * looked up directly, which costs one round trip, not a scan.
   */
  async lookUp(name: string): Promise<boolean> {
    if (this.fixedQueues) return this.options.queues.includes(name);
    if (this.discovered.includes(name)) return true;
    const keys = queueKeys(name);
    const found = Number(await this.options.client.exists(keys.meta, ...Object.values(keys.pending), keys.delayed, keys.active, keys.completed, keys.dead)) > 0;
    if (found) {
      this.confirmed.add(name);
      this.discovered = [...this.discovered, name].sort();
      this.overview.invalidate();
    }
    return found;
  }

  /** A queue is shown when it is listed, found, or served by a supervisor. */
  isShown(name: string, overview?: Overview): boolean {
    if (this.fixedQueues) return this.options.queues.includes(name);
    return this.discovered.includes(name) || (overview?.queues.some((q) => q.name === name) ?? false);
  }

  /** One Queue client per queue, over the shared connection. */
  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.options.client, ...(this.options.durability ? { durability: this.options.durability } : {}) });
      this.queues.set(name, q);
    }
    return q;
  }

  private async computeOverview(): Promise<Overview> {
    this.ensureScanning();
    // A small keyspace is scanned in milliseconds: worth a short wait for a complete first page.
    if (this.discovering && this.discovery) await Promise.race([this.discovery, new Promise((r) => setTimeout(r, FIRST_SCAN_WAIT_MS).unref())]);
    const now = this.clock();
    const supervisors = await listSupervisors(this.options.client, now);
    const names = new Set(this.fixedQueues ? this.options.queues : this.discovered);
    if (!this.fixedQueues) for (const s of supervisors) if (!s.stale) for (const q of s.queues) names.add(q);
    const sorted = [...names].sort();
    const [stats, histograms] = await Promise.all([
      statsFor(this.options.client, sorted),
      readClusterHistograms(this.options.client, { windowMs: LATENCY_WINDOW_MS, now, queues: sorted }),
    ]);
    const latency = summarizeCluster(histograms).queues;
    const queues = sorted.map((name): QueueSummary => {
      const summary: QueueSummary = {
        name,
        ...stats[name]!,
        supervisors: supervisors.filter((s) => !s.stale && s.queues.includes(name)).map((s) => s.id),
      };
      if (latency[name]) summary.latency = latency[name];
      return summary;
    });
    for (const q of queues) this.sampleDead(q.name, now, q.counts.dead);
    return { at: now, discovering: this.discovering, queues, supervisors, latencyWindowMs: LATENCY_WINDOW_MS };
  }

  private sampleDead(queue: string, at: number, dead: number): void {
    let samples = this.deadSamples.get(queue);
    if (!samples) this.deadSamples.set(queue, (samples = []));
    const last = samples.at(-1);
    if (last && at - last[0] < DEAD_SAMPLE_MS) return;
    samples.push([at, dead]);
    if (samples.length > DEAD_SAMPLES) samples.shift();
  }

  /** One page of a state, as `troupe jobs` lists it; the total comes from the shared overview. */
  async page(name: string, state: JobState, offset: number, limit: number): Promise<JobPage> {
    const size = Math.min(Math.max(1, limit), MAX_PAGE_SIZE);
    const [jobs, overview] = await Promise.all([this.queue(name).listJobs(state, { offset, limit: size }), this.overview.get()]);
    const summary = overview.queues.find((q) => q.name === name);
    const total = summary ? summary.counts[state] : (await this.queue(name).counts())[state];
    return { queue: name, state, total, offset, limit: size, jobs };
  }

  /**
   * By id: one lookup. By processor or metadata (`key` or `key=value`): the state's newest
   * SEARCH_SCAN_LIMIT jobs, their two fields only, a chunk per round trip; no index exists,
   * and a search never reads a whole million-job queue.
   */
  async search(name: string, state: JobState, by: SearchBy, term: string, limit: number): Promise<SearchResult> {
    const queue = this.queue(name);
    const total = (await queue.counts())[state];
    const base = { queue: name, state, by, term, total };
    if (by === 'id') {
      const job = await queue.getJob(term);
      return { ...base, jobs: job ? [job] : [], scanned: job ? 1 : 0 };
    }
    const [metaKey, metaValue] = term.includes('=') ? [term.slice(0, term.indexOf('=')), term.slice(term.indexOf('=') + 1)] : [term, undefined];
    const matches = (processor: string | null, metadata: string | null): boolean => {
      if (by === 'processor') return processor === term;
      if (!metadata) return false;
      let parsed: unknown;
      try {
        parsed = JSON.parse(metadata);
      } catch {
        return false;
      }
      if (typeof parsed !== 'object' || parsed === null || !(metaKey in parsed)) return false;
      if (metaValue === undefined) return true;
      const v = (parsed as Record<string, unknown>)[metaKey];
      return (typeof v === 'string' ? v : JSON.stringify(v)) === metaValue;
    };
    const keys = queueKeys(name);
    const found: string[] = [];
    let scanned = 0;
    while (scanned < Math.min(total, SEARCH_SCAN_LIMIT) && found.length < limit) {
      const ids = await this.ids(name, state, scanned, SEARCH_CHUNK);
      if (ids.length === 0) break;
      const pipeline = this.options.client.pipeline();
      for (const id of ids) pipeline.hmget(keys.job(id), 'processor', 'metadata');
      const replies = (await pipeline.exec()) ?? [];
      replies.forEach(([err, value], i) => {
        if (err) throw err;
        const [processor, metadata] = value as [string | null, string | null];
        if (found.length < limit && matches(processor, metadata)) found.push(ids[i]!);
      });
      scanned += ids.length;
    }
    const jobs = (await Promise.all(found.map((id) => queue.getJob(id)))).filter((j): j is JobRecord => j !== null);
    return { ...base, jobs, scanned };
  }

  /** Ids of one state in listing order (as Queue.listJobs orders them). */
  private async ids(name: string, state: JobState, offset: number, limit: number): Promise<string[]> {
    const { client } = this.options;
    const keys = queueKeys(name);
    if (state === 'pending') {
      const out: string[] = [];
      let skip = offset;
      for (const p of PRIORITIES) {
        if (out.length >= limit) break;
        const length = await client.llen(keys.pending[p]);
        if (skip >= length) {
          skip -= length;
          continue;
        }
        out.push(...(await client.lrange(keys.pending[p], skip, skip + (limit - out.length) - 1)));
        skip = 0;
      }
      return out;
    }
    const zset = keys[state];
    const [start, stop] = [String(offset), String(offset + limit - 1)];
    return state === 'completed' || state === 'dead' ? client.zrange(zset, start, stop, 'REV') : client.zrange(zset, start, stop);
  }

  async job(name: string, id: string): Promise<JobDetail | null> {
    const job = await this.queue(name).getJob(id);
    if (!job) return null;
    const keys = queueKeys(name);
    const { client } = this.options;
    const detail: JobDetail = { job, followUps: [] };
    if (job.state === 'active') {
      const score = await client.zscore(keys.active, id);
      if (score !== null) detail.leaseDeadline = Number(score);
    }
    const parent = /^(.+)\.(\d+)$/.exec(id)?.[1];
    const pipeline = client.pipeline();
    for (let n = 0; n < MAX_FOLLOW_UPS; n += 1) pipeline.hget(keys.job(`${id}.${n}`), 'state');
    if (parent) pipeline.exists(keys.job(parent));
    const replies = (await pipeline.exec()) ?? [];
    for (let n = 0; n < MAX_FOLLOW_UPS; n += 1) {
      const state = replies[n]?.[1] as string | null | undefined;
      if (state) detail.followUps.push({ id: `${id}.${n}`, state });
    }
    if (parent && Number(replies[MAX_FOLLOW_UPS]?.[1]) === 1) detail.parent = parent;
    return detail;
  }

  async scheduleList(): Promise<{ schedules: StoredSchedule[]; broken: Array<{ name: string; problem: string }> }> {
    return this.schedules.list();
  }
}
