/**
 * A network partition across real (namespaced) hosts: a Redis Cluster on host "redis",
 * supervisor A on h1 and supervisor B on h2. Mid-run h1's cable is pulled (packets vanish, no
 * resets) and later plugged back in. A's leases expire, B reclaims and completes those jobs, A's
 * late outcomes are refused by the fencing token once its stalled connections resume, nothing is
 * lost, and a job runs twice only where its lease was lost.
 *
 * The test process (root namespace) cannot reach the cluster, so everything that talks to Redis
 * runs inside h2: the supervisors, and a small "agent" (this very file, started with AGENT_ENV
 * set) that enqueues, counts and reads job records for the test over stdin/stdout.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanupStaleLabs, createLab, netnsAvailable, type TestLab } from './helpers/netns.js';
import { startRedisCluster } from './helpers/redis-cluster.js';
import { PLUGIN_DIR, PROJECT_DIR, readRecord, type LogLine } from './helpers/supervisor-process.js';

const AGENT_ENV = 'TROUPE_PARTITION_TEST_AGENT';
const SELF = fileURLToPath(import.meta.url);
const QUEUE = 'work';
const LEASE_MS = 3_000;
const HEARTBEAT_MS = 500;
const JOBS = 3_000;
/**
 * 20 ms per job, two threads per supervisor: about 100 jobs/s each, so the run spans the cut,
 * the restore and A's recovery (at 5 ms B alone would drain the queue before h1 is back, and A
 * would have nothing left to show it recovered), and A always holds running and buffered jobs
 * at the cut, whose outcomes it can only try to write after the restore.
 */
const JOB_MS = 20;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The agent: runs inside a lab host, one request per stdin line, one reply per stdout line.

interface AgentJob {
  id: string;
  state: string | null;
  leaseExpiries: number;
  owner: string | null;
  finishedAt: number | null;
}

interface AgentCounts {
  pending: number;
  delayed: number;
  active: number;
  completed: number;
  dead: number;
}

async function runAgent(): Promise<void> {
  const { Queue } = await import('../src/index.js');
  const queue = new Queue(QUEUE, { connection: process.env.TROUPE_REDIS_URL! });
  const reply = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const request = JSON.parse(line) as { seq: number; op: string; count?: number; ms?: number; ids?: string[] };
    try {
      let result: unknown;
      if (request.op === 'enqueue') {
        const specs = Array.from({ length: request.count ?? 0 }, (_, i) => ({
          processor: 'record',
          data: { ms: request.ms, i },
          options: { keepCompleted: { count: 100_000 }, attempts: 10 },
        }));
        result = (await queue.enqueueMany(specs)).map((r) => r.id);
      } else if (request.op === 'counts') {
        result = await queue.counts();
      } else if (request.op === 'jobs') {
        const ids = request.ids ?? [];
        const jobs: AgentJob[] = [];
        for (let i = 0; i < ids.length; i += 500) {
          const chunk = ids.slice(i, i + 500);
          const records = await Promise.all(chunk.map((id) => queue.getJob(id)));
          records.forEach((job, j) =>
            jobs.push({ id: chunk[j]!, state: job?.state ?? null, leaseExpiries: job?.leaseExpiries ?? 0, owner: job?.owner ?? null, finishedAt: job?.finishedAt ?? null }),
          );
        }
        result = jobs;
      } else {
        throw new Error(`unknown op ${request.op}`);
      }
      reply({ seq: request.seq, ok: true, result });
    } catch (err) {
      reply({ seq: request.seq, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  }
  await queue.close();
}

/** A child env without the test runner's marker (the agent imports node:test, as this file does). */
function childEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Ends a lab child: SIGTERM to its process group, and its exit code (or signal) once it exits. */
async function terminate(child: ChildProcess, exited: Promise<number | string | null>, graceMs: number): Promise<number | string | null | 'timeout'> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    // Already gone.
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The test's side of the agent. */
class HostQueue {
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | string | null>;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private stderr = '';

  constructor(lab: TestLab, host: string, url: string) {
    this.child = lab.spawn(host, process.execPath, ['--import', 'tsx', SELF], { cwd: PROJECT_DIR, env: childEnv({ [AGENT_ENV]: '1', TROUPE_REDIS_URL: url }) });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let message: { seq: number; ok: boolean; result?: unknown; error?: string };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        return; // Not a reply.
      }
      const waiter = this.waiting.get(message.seq);
      if (!waiter) return;
      this.waiting.delete(message.seq);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`agent: ${message.error}`));
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        for (const waiter of this.waiting.values()) waiter.reject(new Error(`the agent exited (${signal ?? code}); stderr: ${this.stderr}`));
        this.waiting.clear();
        resolve(code ?? signal);
      }),
    );
  }

  call<T>(request: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
    const seq = (this.seq += 1);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        reject(new Error(`agent ${String(request.op)} did not answer within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.waiting.set(seq, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.child.stdin!.write(`${JSON.stringify({ ...request, seq })}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end();
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5_000)))]);
    clearTimeout(timer);
    if (!closed) await terminate(this.child, this.exited, 3_000);
  }
}

// ---------------------------------------------------------------------------------------------
// A supervisor process inside a lab host.

interface TimedLog extends LogLine {
  /** When the test read the line (epoch ms). */
  receivedAt: number;
}

class HostSupervisor {
  readonly child: ChildProcess;
  readonly logs: TimedLog[] = [];
  readonly exited: Promise<number | string | null>;
  stderr = '';

  constructor(
    readonly label: string,
    lab: TestLab,
    host: string,
    url: string,
    record: string,
  ) {
    const args = [
      '--import', 'tsx', 'src/cli/main.ts', 'supervise',
      '--queues', QUEUE, '--threads', '2', '--plugin', join(PLUGIN_DIR, 'record.mjs'),
      '--lease-ms', String(LEASE_MS), '--heartbeat-ms', String(HEARTBEAT_MS), '--http-port', '0',
    ];
    this.child = lab.spawn(host, process.execPath, args, {
      cwd: PROJECT_DIR,
      env: childEnv({ TROUPE_REDIS_URL: url, TROUPE_TEST_RECORD: record, TROUPE_LOG_LEVEL: 'info' }),
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.trim()) return;
      try {
        this.logs.push({ ...(JSON.parse(line) as LogLine), receivedAt: Date.now() });
      } catch (err) {
        this.logs.push({ level: 0, msg: `unparsed: ${line} (${String(err)})`, receivedAt: Date.now() });
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-8000)));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? signal)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** When pino stamped the line (epoch ms). */
  static timeOf(line: LogLine): number {
    const parsed = typeof line.time === 'string' ? Date.parse(line.time) : Number(line.time);
    return Number.isFinite(parsed) ? parsed : (line as TimedLog).receivedAt;
  }

  /** Lines carrying a non-empty `lost` array: outcomes refused by the fencing token, or renewals that found the lease gone. */
  lostLines(): TimedLog[] {
    return this.logs.filter((l) => Array.isArray(l.lost) && (l.lost as unknown[]).length > 0);
  }

  reclaimLines(): TimedLog[] {
    return this.logs.filter((l) => l.msg.startsWith('reclaimed expired leases') && Array.isArray(l.requeued) && (l.requeued as unknown[]).length > 0);
  }

  context(): string {
    return `\n--- ${this.label} last log lines ---\n${this.logs.slice(-12).map((l) => JSON.stringify(l)).join('\n')}\n--- ${this.label} stderr ---\n${this.stderr.slice(-2000)}`;
  }

  stop(graceMs = 35_000): Promise<number | string | null | 'timeout'> {
    return terminate(this.child, this.exited, graceMs);
  }
}

/** Polls until `probe` returns something truthy; the timeout error carries `context()`. */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | false | Promise<T | undefined | false>, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = `; last error: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}${context()}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------

if (process.env[AGENT_ENV]) {
  await runAgent();
} else {
  test('partition of one supervisor host mid-run: the other reclaims and completes its jobs, late results are refused by the fencing token, nothing is lost', { timeout: 150_000 }, async (t) => {
    if (!netnsAvailable()) {
      t.skip('needs root and network namespaces (ip netns, veth, bridge)');
      return;
    }
    await cleanupStaleLabs();
    const cleanup: Array<() => unknown> = [];
    t.after(async () => {
      for (const fn of cleanup.reverse()) {
        try {
          await fn();
        } catch (err) {
          t.diagnostic(`cleanup step failed: ${String(err)}`);
        }
      }
    });

    const t0 = Date.now();
    const lab = await createLab(['redis', 'h1', 'h2']);
    cleanup.push(() => lab.destroy());
    // Bound to the lab address with no password, Redis's protected mode would refuse every
    // client from another host; the lab's /24 reaches nothing outside it.
    const cluster = await startRedisCluster({ bindHost: lab.hosts.redis!.address, spawnPrefix: lab.prefix('redis'), extraArgs: ['--protected-mode', 'no'] });
    cleanup.push(() => cluster.destroy());
    const dir = mkdtempSync(join(tmpdir(), 'troupe-partition-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const record = join(dir, 'runs.txt');

    const agent = new HostQueue(lab, 'h2', cluster.url);
    cleanup.push(() => agent.close());
    const a = new HostSupervisor('A (h1)', lab, 'h1', cluster.url, record);
    const b = new HostSupervisor('B (h2)', lab, 'h2', cluster.url, record);
    cleanup.push(() => b.stop(5_000), () => a.stop(5_000));
    const both = () => a.context() + b.context();

    const startedLine = (s: HostSupervisor) =>
      waitFor(`${s.label} to start`, 30_000, () => {
        if (!s.running) throw new Error(`${s.label} exited`);
        return s.logs.find((l) => l.msg === 'supervisor started');
      }, () => s.context());
    const [aStarted, bStarted] = await Promise.all([startedLine(a), startedLine(b), agent.call<AgentCounts>({ op: 'counts' })]);
    // `ip netns exec` execs node in place, so the record's pid (the supervisor's, shared by its
    // worker threads) is the spawned child's own.
    const aPid = Number(aStarted.pid);
    const bPid = Number(bStarted.pid);
    assert.equal(aPid, a.child.pid, "A's logged pid is the spawned process's");
    assert.equal(bPid, b.child.pid, "B's logged pid is the spawned process's");
    const aId = String(aStarted.supervisor);
    const setupMs = Date.now() - t0;

    const ids = await agent.call<string[]>({ op: 'enqueue', count: JOBS, ms: JOB_MS });
    assert.equal(ids.length, JOBS);
    const runsBy = (pid: number) => readRecord(record).filter((r) => r.pid === pid);
    await waitFor('A to run 200 jobs', 30_000, () => runsBy(aPid).length >= 200, both);

    // --- Cut h1 ------------------------------------------------------------------------------
    const cutAt = Date.now();
    await lab.cut('h1');
    const aRunsAtCut = runsBy(aPid).length;

    const firstReclaim = await waitFor('B to reclaim A\'s expired leases', 20_000, () => b.reclaimLines().find((l) => HostSupervisor.timeOf(l) >= cutAt), both);
    const firstReclaimMs = HostSupervisor.timeOf(firstReclaim) - cutAt;
    // Every job B took back (A's in-flight ones) is run again by B.
    await waitFor("B to run every job it reclaimed from A", 20_000, () => {
      const byB = new Set(runsBy(bPid).map((r) => r.id));
      return b.reclaimLines().every((l) => (l.requeued as string[]).every((id) => byB.has(id)));
    }, both);
    await sleep(2 * LEASE_MS);

    // --- Restore h1 --------------------------------------------------------------------------
    const restoreAt = Date.now();
    await lab.restore('h1');
    const cutMs = restoreAt - cutAt;
    const aRunsDuringCut = runsBy(aPid).length - aRunsAtCut;

    // A's stalled connections resume at TCP's next retransmission; its outcomes for jobs whose
    // leases B took are then refused by the fencing token (or its renewal finds them gone).
    const firstRefusal = await waitFor("A to report an outcome refused (or a lease lost) after the restore", 60_000, () => a.lostLines().find((l) => l.receivedAt >= restoreAt), both);
    const aBackMs = HostSupervisor.timeOf(firstRefusal) - restoreAt;

    const drained = await waitFor('the queue to drain', 90_000, async () => {
      const c = await agent.call<AgentCounts>({ op: 'counts' }, 10_000);
      return c.pending + c.delayed + c.active === 0 ? c : undefined;
    }, both);
    const drainedMs = Date.now() - restoreAt;

    // --- Count -------------------------------------------------------------------------------
    const jobs = await agent.call<AgentJob[]>({ op: 'jobs', ids }, 60_000);
    const runs = readRecord(record);
    const perJob = new Map<string, number>();
    for (const r of runs) perJob.set(r.id, (perJob.get(r.id) ?? 0) + 1);
    const aLostLines = a.lostLines();
    const reportedLost = new Set<string>();
    for (const line of [...aLostLines, ...b.lostLines()]) for (const id of line.lost as unknown[]) reportedLost.add(String(id));
    const refusedLate = aLostLines.filter((l) => l.msg.startsWith('lease lost before')).reduce((n, l) => n + (l.lost as unknown[]).length, 0);
    const renewalsLost = aLostLines.filter((l) => l.msg.startsWith('leases lost')).reduce((n, l) => n + (l.lost as unknown[]).length, 0);
    const requeuedByB = new Set(b.reclaimLines().flatMap((l) => l.requeued as string[]));

    const lost = jobs.filter((j) => j.state !== 'completed').map((j) => `${j.id}:${j.state}`);
    const reclaimed = jobs.filter((j) => j.leaseExpiries > 0);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    const doubled = ids.filter((id) => (perJob.get(id) ?? 0) > 1);
    const unexplained = doubled.filter((id) => !((byId.get(id)?.leaseExpiries ?? 0) > 0 || reportedLost.has(id)));
    const neverRan = ids.filter((id) => !perJob.has(id));
    const aCompletedAfter = jobs.filter((j) => j.state === 'completed' && j.owner === aId && (j.finishedAt ?? 0) >= restoreAt).map((j) => j.finishedAt!);
    const aRecoveredMs = aCompletedAfter.length > 0 ? Math.min(...aCompletedAfter) - restoreAt : undefined;

    t.diagnostic(
      `${JOBS} jobs of ${JOB_MS} ms, lease ${LEASE_MS} ms, heartbeat ${HEARTBEAT_MS} ms; lab + cluster + supervisors up in ${setupMs} ms; ` +
        `A ran ${aRunsAtCut} before the cut, ${aRunsDuringCut} during it (from its buffer); h1 cut for ${cutMs} ms`,
    );
    t.diagnostic(
      `completed ${jobs.length - lost.length}/${JOBS}, lost ${lost.length}, never ran ${neverRan.length}, ran twice ${doubled.length} (unexplained ${unexplained.length}), ` +
        `reclaimed ${reclaimed.length} (B requeued ${requeuedByB.size}), A's late outcomes refused ${refusedLate}, A's renewals lost ${renewalsLost}`,
    );
    t.diagnostic(
      `cut → first reclaim by B ${firstReclaimMs} ms; restore → A's first refused outcome ${aBackMs} ms; ` +
        `restore → A completed a job again ${aRecoveredMs === undefined ? 'never (queue drained first)' : `${aRecoveredMs} ms`} (${aCompletedAfter.length} jobs after the restore); ` +
        `restore → drained ${drainedMs} ms (final counts ${JSON.stringify({ completed: drained.completed, dead: drained.dead })})`,
    );

    // What A said about the partition, message by message (first seen relative to the cut).
    const aSaid = new Map<string, { count: number; firstMs: number }>();
    for (const line of a.logs) {
      if (line.level < 40 || line.receivedAt < cutAt) continue;
      const seen = aSaid.get(line.msg) ?? { count: 0, firstMs: HostSupervisor.timeOf(line) - cutAt };
      seen.count += 1;
      aSaid.set(line.msg, seen);
    }
    t.diagnostic(`A's warnings since the cut: ${[...aSaid].map(([msg, { count, firstMs }]) => `${count}× "${msg.slice(0, 70)}" (first at cut+${firstMs} ms)`).join('; ') || 'none'}`);

    assert.deepEqual(lost, [], 'every enqueued job completed');
    assert.deepEqual(neverRan, [], 'every enqueued job ran');
    assert.deepEqual(unexplained, [], 'a job ran twice without its lease being lost');
    assert.ok(requeuedByB.size > 0, 'B reclaimed A\'s expired leases');
    assert.ok(refusedLate + renewalsLost > 0, 'A reported a refused late outcome or a lost lease after the restore');
    // Every refusal of A's is of a job B took back: the fencing token, not chance.
    for (const line of aLostLines) for (const id of line.lost as string[]) assert.ok((byId.get(id)?.leaseExpiries ?? 0) > 0, `A's outcome for ${id} was refused, yet its lease never expired`);

    // --- Stop --------------------------------------------------------------------------------
    const aAlive = a.running;
    const [aExit, bExit] = await Promise.all([a.stop(), b.stop()]);
    t.diagnostic(`exit codes after SIGTERM: A ${String(aExit)}, B ${String(bExit)}; whole test ${Date.now() - t0} ms`);
    assert.equal(bExit, 0, `B exits 0 on SIGTERM${b.context()}`);
    if (aAlive && aRecoveredMs !== undefined) assert.equal(aExit, 0, `A (recovered) exits 0 on SIGTERM${a.context()}`);
  });
}
