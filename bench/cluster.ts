/**
 * Redis Cluster against one standalone server: the end-to-end bench's tiny-job drain and the
 * cpu bench's 5 ms jobs, through one Troupe supervisor leasing from 3 queues, each queue on a
 * different master of a 3-master cluster (3 replicas too), alternating with the same run on one
 * redis-server. On a machine of few cores every server and the supervisor share them, so
 * throughput cannot grow with shards here; the bench reports what does transfer to a bigger
 * machine (Redis CPU per job on each shard, and how evenly the shards split the load) and the
 * cost of WAIT for one replica.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { queueKeys } from '../src/queue/keys.js';
import { startRedisCluster, type TestCluster } from '../test/helpers/redis-cluster.js';
import { startPrivateRedis, type PrivateRedis } from '../test/helpers/redis-server.js';
import { allNodes, CPU_JOB_MS, runClusterPhase, WAIT_TIMEOUT_MS, type NodeAdmin, type PhaseResult, type RedisTarget, type Workload } from './lib/cluster-phase.js';
import { topCommands } from './lib/commandstats.js';
import { fmtShares, jobsPerCoreSecond, maxOverMin } from './lib/cluster-split.js';
import { buildForBench, type BenchBuild } from './lib/e2e-build.js';
import { ENQUEUE_BATCH } from './lib/e2e-producers.js';
import { gitCommit, loadLine, machineLine, redisCpuSeconds, redisVersion } from './lib/env.js';
import type { Bench, BenchOptions, BenchResult } from './lib/report.js';
import { fmtInt, fmtPerJob, fmtRate, fmtRatio, median, rotate } from './lib/stats.js';
import type { Table } from './lib/table.js';

/** Jobs are multiples of 3 so every queue (and so every master) gets the same number. */
const FULL = { tinyJobs: 30_000, cpuJobs: 1_200, rounds: 5, idleMs: 3_000 };
/** Two rounds, so standalone and cluster swap places once even in a smoke run (about 30 s here). */
const QUICK = { tinyJobs: 6_000, cpuJobs: 300, rounds: 2, idleMs: 1_000 };
type Config = typeof FULL;
const WARM: Record<Workload, number> = { tiny: 999, cpu: 60 };
/** As end-to-end runs Troupe (and the cpu bench at its top thread count on this machine). */
const THREADS = 2;
const QUEUE_COUNT = 3;

type TargetId = RedisTarget['id'];
interface PhaseDef {
  workload: Workload;
  target: TargetId;
  waitReplicas: number;
  label: string;
}
const PHASES = {
  'tiny-standalone': { workload: 'tiny', target: 'standalone', waitReplicas: 0, label: 'standalone' },
  'tiny-cluster': { workload: 'tiny', target: 'cluster', waitReplicas: 0, label: 'cluster' },
  'tiny-wait': { workload: 'tiny', target: 'cluster', waitReplicas: 1, label: 'cluster, WAIT 1 replica' },
  'cpu-standalone': { workload: 'cpu', target: 'standalone', waitReplicas: 0, label: 'standalone' },
  'cpu-cluster': { workload: 'cpu', target: 'cluster', waitReplicas: 0, label: 'cluster' },
} as const satisfies Record<string, PhaseDef>;
type PhaseId = keyof typeof PHASES;
/** Run in this order in round 1, each group rotated one step per round. */
const TINY_ORDER: readonly PhaseId[] = ['tiny-standalone', 'tiny-cluster', 'tiny-wait'];
const CPU_ORDER: readonly PhaseId[] = ['cpu-standalone', 'cpu-cluster'];
const WORKLOAD_LABEL: Record<Workload, string> = { tiny: 'tiny (noop)', cpu: `cpu ${CPU_JOB_MS} ms` };

type Round = Map<PhaseId, PhaseResult>;

interface Measured {
  config: Config;
  rounds: Round[];
  targets: Record<TargetId, RedisTarget>;
  queues: string[];
  /** CPU ms per second of each node with no client working, in allNodes() order. */
  idleMsPerSecond: Record<TargetId, number[]>;
}

const US = 1e6;

function jobsOf(m: Measured, id: PhaseId): number {
  return PHASES[id].workload === 'tiny' ? m.config.tinyJobs : m.config.cpuJobs;
}

function pick(m: Measured, id: PhaseId, f: (p: PhaseResult, jobs: number) => number): number[] {
  return m.rounds.map((r) => f(r.get(id)!, jobsOf(m, id)));
}

function med(m: Measured, id: PhaseId, f: (p: PhaseResult, jobs: number) => number): number {
  return median(pick(m, id, f));
}

const drainRate = (p: PhaseResult, jobs: number) => jobs / p.drainSeconds;
const enqueueRate = (p: PhaseResult, jobs: number) => jobs / p.enqueueSeconds;
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** b's rate over a's, paired within each round (they ran back to back), median over rounds. */
function pairedRatio(m: Measured, a: PhaseId, b: PhaseId, rate: (p: PhaseResult, jobs: number) => number = drainRate): number {
  return median(m.rounds.map((r) => rate(r.get(b)!, jobsOf(m, b)) / rate(r.get(a)!, jobsOf(m, a))));
}

function pairedValueRatio(m: Measured, a: PhaseId, b: PhaseId, value: (p: PhaseResult, jobs: number) => number): number {
  return median(m.rounds.map((r) => value(r.get(b)!, jobsOf(m, b)) / value(r.get(a)!, jobsOf(m, a))));
}

function targetOf(m: Measured, id: PhaseId): RedisTarget {
  return m.targets[PHASES[id].target];
}

/** Jobs the node served: its own queues' for a master, its master's for a replica. */
function served(p: PhaseResult, node: NodeAdmin): number {
  return p.masterJobs[node.master]!;
}

const masterCpu = (target: RedisTarget) => (p: PhaseResult) => p.nodeCpuSeconds.slice(0, target.masters.length);
const replicaCpu = (target: RedisTarget) => (p: PhaseResult) => p.nodeCpuSeconds.slice(target.masters.length);
const allCpuPerJob = (p: PhaseResult, jobs: number) => (sum(p.nodeCpuSeconds) / jobs) * US;

/**
 * The rate at which the busiest master would reach 100% of one core, at the split and cost per
 * job measured: jobs over the largest master CPU. For one server, 1 / its CPU per job.
 */
function impliedCeiling(target: RedisTarget) {
  return (p: PhaseResult, jobs: number) => jobs / Math.max(...masterCpu(target)(p));
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '—';
}

function spreadNote(m: Measured): string {
  const n = m.rounds.length;
  return `median of ${n} round${n > 1 ? 's' : ''}${n > 1 ? '; ±: half the min-max range, relative to the median' : ''}`;
}

const CORES_NOTE =
  `this machine has ${os.availableParallelism()} cores: in the cluster phases the 6 redis-servers, the supervisor (main thread + ${THREADS} job threads) and the bench's producer all share them, so jobs/s here cannot grow with shards and the cluster / standalone ratio is the cost of the topology (cluster client routing, replication to 3 replicas, 6 servers' background work), not its scale`;

function throughputTable(m: Measured): Table {
  const rows: string[][] = [];
  for (const id of ['tiny-standalone', 'tiny-cluster', 'cpu-standalone', 'cpu-cluster'] as const) {
    const def = PHASES[id];
    const base: PhaseId = def.workload === 'tiny' ? 'tiny-standalone' : 'cpu-standalone';
    rows.push([
      WORKLOAD_LABEL[def.workload],
      def.label,
      fmtRate(pick(m, id, drainRate)),
      def.target === 'cluster' ? fmtRatio(pairedRatio(m, base, id)) : '—',
      fmtRate(pick(m, id, enqueueRate)),
      fmtInt(med(m, id, (p, jobs) => (p.consumerCpuSeconds / jobs) * US)),
      fmtInt(med(m, id, allCpuPerJob)),
      pct(med(m, id, (p) => p.machineBusy)),
      pct(med(m, id, (p) => p.machineSteal)),
    ]);
  }
  const limit = (Math.min(THREADS, os.availableParallelism()) * 1000) / CPU_JOB_MS;
  return {
    title: `Throughput: one standalone redis-server vs a 3-master cluster, ${QUEUE_COUNT} queues, one supervisor (${THREADS} threads)`,
    headers: ['jobs', 'Redis', 'drain jobs/s', 'cluster / standalone', 'enqueue jobs/s', 'supervisor CPU µs/job', 'Redis CPU µs/job, all nodes', 'machine CPU busy', 'CPU steal'],
    textColumns: [0, 1],
    rows,
    notes: [
      CORES_NOTE,
      `drain: ${fmtInt(m.config.tinyJobs)} no-op jobs or ${fmtInt(m.config.cpuJobs)} cpu { ms: ${CPU_JOB_MS} } jobs, a third in each queue, timed from resuming the warm, paused supervisor to its report that the last job finished in Redis; the supervisor runs in its own process (compiled), one lease loop per queue`,
      `cpu jobs: the limit is min(threads, cores) / ${CPU_JOB_MS} ms = ${fmtInt(limit)} jobs/s whatever the Redis`,
      `enqueue: the 3 queues filled side by side, each in sequential enqueueMany batches of ${ENQUEUE_BATCH}, from the bench process (outside the drain window)`,
      'cluster / standalone: drain rates paired within each round (the two ran back to back, in an order rotated every round), median over rounds',
      'Redis CPU: INFO cpu used_cpu_user + used_cpu_sys over the drain, summed over every node (the cluster\'s 3 replicas included); machine CPU busy: /proc/stat over the drain, all cores (user, nice, system, irq, softirq); CPU steal: the share the hypervisor gave to others while this VM wanted to run, outside load that shows in the ± more than in the paired ratios',
      spreadNote(m),
    ],
  };
}

function perNodeTable(m: Measured): Table {
  const rows: string[][] = [];
  for (const id of ['tiny-standalone', 'tiny-cluster', 'cpu-standalone', 'cpu-cluster'] as const) {
    const target = targetOf(m, id);
    const nodes = allNodes(target);
    nodes.forEach((node, i) => {
      const perJob = med(m, id, (p) => p.nodeCpuSeconds[i]! / served(p, node));
      const isMaster = node.role === 'master';
      const queues = target.queueMaster.map((q, k) => (q === node.master ? m.queues[k]! : '')).filter(Boolean);
      rows.push([
        WORKLOAD_LABEL[PHASES[id].workload],
        node.label,
        isMaster ? queues.join(', ') : '(replica)',
        fmtInt(med(m, id, (p) => served(p, node))),
        fmtInt(perJob * US),
        isMaster ? fmtPerJob(med(m, id, (p) => p.masterCalls[i]! / served(p, node))) : '—',
        fmtInt(jobsPerCoreSecond(perJob)),
      ]);
    });
  }
  return {
    title: 'Redis CPU per job on each node (shard), and what one core could carry',
    headers: ['jobs', 'node', 'queues', 'jobs served', 'CPU µs/job served', 'commands/job served', 'jobs/s at 100% of one core (implied)'],
    textColumns: [0, 1, 2],
    rows,
    notes: [
      'jobs served: the jobs of the queues that master holds (each queue is on one master, chosen with masterForKey(queueKeys(name).meta)); a replica is charged with its master\'s jobs',
      'CPU µs/job served: INFO cpu used_cpu_user + used_cpu_sys of that node over the drain, divided by the jobs it served; it includes the node\'s background work (serverCron, cluster bus) over the window, see the idle line above',
      'a cluster master and the standalone server run the same commands per job, yet their CPU per job need not match: a master also feeds the replication stream to its replica (the standalone has none), does cluster bookkeeping, and sees a third of the traffic in each event-loop pass; this bench does not split those apart',
      'commands/job served: INFO commandstats calls of every command on that master (scripts and what they ran, WAIT, heartbeats), after CONFIG RESETSTAT at the drain\'s start',
      'jobs/s at 100% of one core: 1 / (CPU per job on that node). Implied, not measured: it assumes that node gets a core of its own, the supervisors and producers run elsewhere, and the cost per job stays what it was at this load (a saturated Redis usually sees larger lease batches, so this is a guide, not a promise)',
      spreadNote(m),
    ],
  };
}

function totalTable(m: Measured): Table {
  const rows: string[][] = [];
  for (const id of ['tiny-standalone', 'tiny-cluster', 'cpu-standalone', 'cpu-cluster'] as const) {
    const def = PHASES[id];
    const target = targetOf(m, id);
    const base: PhaseId = def.workload === 'tiny' ? 'tiny-standalone' : 'cpu-standalone';
    rows.push([
      WORKLOAD_LABEL[def.workload],
      def.label,
      fmtInt(med(m, id, (p, jobs) => (sum(masterCpu(target)(p)) / jobs) * US)),
      target.replicas.length ? fmtInt(med(m, id, (p, jobs) => (sum(replicaCpu(target)(p)) / jobs) * US)) : '—',
      fmtInt(med(m, id, allCpuPerJob)),
      def.target === 'cluster' ? fmtRatio(pairedValueRatio(m, base, id, allCpuPerJob)) : '—',
      fmtInt(med(m, id, impliedCeiling(target))),
    ]);
  }
  return {
    title: 'Total Redis CPU per job',
    headers: ['jobs', 'Redis', 'masters µs/job', 'replicas µs/job', 'all nodes µs/job', 'all nodes, cluster / standalone', 'jobs/s at 100% of a core on the busiest master (implied)'],
    textColumns: [0, 1],
    rows,
    notes: [
      'µs/job: INFO cpu deltas over the drain, summed over the nodes named, divided by all the jobs of the phase',
      'cluster / standalone: paired within each round, median over rounds; above 1x the cluster spends more Redis CPU on each job in total, spread over more processes',
      'last column: the jobs of the phase over the CPU of its busiest master, the rate at which that master would reach one full core at the split measured. Implied, not measured here (same assumptions as the per-node table): with one core per redis-server and the supervisors elsewhere, the cluster\'s Redis side would carry that many jobs/s; the replicas need cores of their own too',
      spreadNote(m),
    ],
  };
}

function evennessTable(m: Measured): Table {
  const rows = (['tiny-cluster', 'tiny-wait', 'cpu-cluster'] as const).map((id) => {
    const target = targetOf(m, id);
    const n = target.masters.length;
    // Pooled over rounds: each master's calls and CPU summed across rounds before the split.
    const pooled = (f: (p: PhaseResult) => number[]) => Array.from({ length: n }, (_, i) => sum(m.rounds.map((r) => f(r.get(id)!)[i]!)));
    const calls = pooled((p) => p.masterCalls);
    const cpu = pooled(masterCpu(target));
    const jobs = pooled((p) => p.masterJobs);
    return [
      `${WORKLOAD_LABEL[PHASES[id].workload]}, ${PHASES[id].label}`,
      fmtShares(jobs),
      fmtShares(calls),
      fmtRatio(maxOverMin(calls)),
      fmtShares(cpu),
      fmtRatio(maxOverMin(cpu)),
    ];
  });
  const ports = m.targets.cluster.masters.map((node, i) => `master ${i + 1} :${node.port}`).join(', ');
  return {
    title: 'How evenly the 3 masters split the load',
    headers: ['phase', 'jobs m1/m2/m3', 'commands m1/m2/m3', 'commands max/min', 'CPU m1/m2/m3', 'CPU max/min'],
    textColumns: [0],
    rows,
    notes: [
      `${ports}; each master holds one queue and so a third of the jobs`,
      'commands: INFO commandstats calls on each master over the drain; CPU: INFO cpu user + sys; both pooled over rounds before taking shares',
      'max/min: the busiest master\'s figure over the least busy one\'s, 1.00x being an even split; the busiest master bounds the cluster, so this is what an uneven split costs',
    ],
  };
}

function durabilityTable(m: Measured): Table {
  const target = m.targets.cluster;
  const row = (id: 'tiny-cluster' | 'tiny-wait'): string[] => [
    PHASES[id].label,
    fmtRate(pick(m, id, drainRate)),
    id === 'tiny-wait' ? fmtRatio(pairedRatio(m, 'tiny-cluster', 'tiny-wait')) : '—',
    fmtRate(pick(m, id, enqueueRate)),
    id === 'tiny-wait' ? fmtRatio(pairedRatio(m, 'tiny-cluster', 'tiny-wait', enqueueRate)) : '—',
    fmtInt(med(m, id, (p, jobs) => (sum(masterCpu(target)(p)) / jobs) * US)),
    fmtInt(med(m, id, (p, jobs) => (sum(replicaCpu(target)(p)) / jobs) * US)),
    fmtPerJob(med(m, id, (p, jobs) => sum(p.masterCalls) / jobs)),
    fmtPerJob(med(m, id, (p, jobs) => sum(p.masterWaitCalls) / jobs)),
  ];
  return {
    title: 'Durability: the cluster tiny-job run with WAIT for 1 replica vs without',
    headers: ['cluster', 'drain jobs/s', 'WAIT / without', 'enqueue jobs/s', 'WAIT / without', 'masters CPU µs/job', 'replicas CPU µs/job', 'commands/job, masters', 'WAIT calls/job'],
    textColumns: [0],
    rows: [row('tiny-cluster'), row('tiny-wait')],
    notes: [
      `WAIT 1 replica: the supervisor with redisWaitReplicas 1 (what --redis-wait-replicas 1 / TROUPE_REDIS_WAIT_REPLICAS=1 set; wait timeout ${WAIT_TIMEOUT_MS} ms, the default) and the producer's Queue with durability { replicas: 1, timeoutMs: ${WAIT_TIMEOUT_MS} }: each enqueueMany call and each outcome write (one per batch of completions; leases are not waited for) is followed by WAIT 1 in the same pipeline; the bench checks that both the producer and the supervisor sent WAIT, and that neither did in the runs without`,
      'WAIT / without: paired within each round (the two ran back to back), median over rounds; below 1x is the cost of waiting for a replica',
      'WAIT calls/job: INFO commandstats "wait" calls on the masters over the drain (0 without durability), divided by the jobs',
      spreadNote(m),
    ],
  };
}

function commandsDetailTable(m: Measured): Table {
  const last = m.rounds[m.rounds.length - 1]!;
  return {
    title: 'Commands per job by name over the drain, all masters, last round (top 10)',
    headers: ['jobs', 'Redis', 'commands per job'],
    textColumns: [0, 1, 2],
    rows: (Object.keys(PHASES) as PhaseId[]).map((id) => [WORKLOAD_LABEL[PHASES[id].workload], PHASES[id].label, topCommands(last.get(id)!.commands, jobsOf(m, id), 10)]),
    notes: ['INFO commandstats after CONFIG RESETSTAT, summed over the masters; evalsha is the client\'s script call, the rest mostly run inside scripts'],
  };
}

function idleLine(m: Measured): string {
  const fmt = (x: number) => x.toFixed(1);
  const s = m.idleMsPerSecond.standalone;
  const c = m.idleMsPerSecond.cluster;
  const masters = m.targets.cluster.masters.length;
  return (
    `background Redis CPU with no client working (${(m.config.idleMs / 1000).toFixed(0)} s before the rounds, ms of CPU per s): standalone ${fmt(s[0]!)}; ` +
    `cluster masters ${c.slice(0, masters).map(fmt).join(' / ')}, replicas ${c.slice(masters).map(fmt).join(' / ')}; it is in the figures below, not subtracted`
  );
}

/** The tiny-job figures turned into what they imply for a machine with a core per process: said as implied, with its assumptions. */
function impliedLine(m: Measured): string {
  const solo = med(m, 'tiny-standalone', impliedCeiling(m.targets.standalone));
  const cluster = med(m, 'tiny-cluster', impliedCeiling(m.targets.cluster));
  const perShard = m.targets.cluster.masters.map((node, i) => med(m, 'tiny-cluster', (p) => jobsPerCoreSecond(p.nodeCpuSeconds[i]! / served(p, node))));
  const supervisorUs = med(m, 'tiny-cluster', (p, jobs) => (p.consumerCpuSeconds / jobs) * US);
  return (
    `implied for a bigger machine (not measured; tiny jobs, at the cost per job measured here): one standalone redis-server reaches 100% of its core at about ${fmtInt(solo)} jobs/s; ` +
    `each cluster master at about ${perShard.map(fmtInt).join(' / ')} jobs/s, so the 3 masters together at about ${fmtInt(cluster)} jobs/s (${fmtRatio(cluster / solo)} the standalone), ` +
    `given a core for each of the 6 redis-servers and enough supervisor cores to drive them: one supervisor here spent ${fmtInt(supervisorUs)} µs of CPU per job (about ${fmtInt(US / supervisorUs)} jobs/s per core of supervisor)`
  );
}

function charts(m: Measured): BenchResult['charts'] {
  const ids = ['tiny-standalone', 'tiny-cluster', 'tiny-wait'] as const;
  const nodeCats = ['standalone', ...m.targets.cluster.masters.map((_, i) => `master ${i + 1}`)];
  const perNode = (standalone: PhaseId, cluster: PhaseId) =>
    nodeCats.map((_, k) => {
      const id = k === 0 ? standalone : cluster;
      const target = targetOf(m, id);
      const i = k === 0 ? 0 : k - 1;
      return [k, med(m, id, (p) => (p.nodeCpuSeconds[i]! / served(p, target.masters[i]!)) * US)] as const;
    });
  return [
    {
      file: 'throughput',
      chart: {
        title: `No-op jobs drained, jobs/s (${fmtInt(m.config.tinyJobs)} jobs over 3 queues, median; ${os.availableParallelism()} cores shared by every server)`,
        xLabel: 'Redis',
        yLabel: 'jobs/s',
        kind: 'bar',
        categories: ids.map((id) => PHASES[id].label),
        series: [{ name: 'drain jobs/s', points: ids.map((id, i) => [i, med(m, id, drainRate)] as const) }],
      },
    },
    {
      file: 'cpu-per-job',
      chart: {
        title: 'Redis CPU per job served on each master, µs (median)',
        xLabel: 'node',
        yLabel: 'µs per job',
        kind: 'bar',
        categories: nodeCats,
        series: [
          { name: 'tiny jobs', points: perNode('tiny-standalone', 'tiny-cluster') },
          { name: `cpu ${CPU_JOB_MS} ms jobs`, points: perNode('cpu-standalone', 'cpu-cluster') },
        ],
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------

async function nodeAdmin(label: string, role: NodeAdmin['role'], host: string, port: number, master: number): Promise<NodeAdmin> {
  const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined); // A dead node shows as a failed command, not an unhandled event.
  await client.connect();
  return { label, role, port, client, master };
}

/** Queue names in master slot order, one on each master: the first name found for each. */
async function queuesOnEachMaster(cluster: TestCluster, masters: readonly { port: number }[]): Promise<string[]> {
  const found = new Map<number, string>();
  for (let i = 0; found.size < masters.length; i++) {
    if (i >= 200) throw new Error(`no queue name found for every master after 200 tries (found ${[...found.values()].join(', ')})`);
    const name = `cluster-q${i}`;
    const owner = await cluster.masterForKey(queueKeys(name).meta);
    if (!found.has(owner.port)) found.set(owner.port, name);
  }
  return masters.map((m) => found.get(m.port)!);
}

async function idleCpu(nodes: readonly NodeAdmin[], ms: number): Promise<number[]> {
  const before = await Promise.all(nodes.map((n) => redisCpuSeconds(n.client)));
  const start = performance.now();
  await sleep(ms);
  const after = await Promise.all(nodes.map((n) => redisCpuSeconds(n.client)));
  const seconds = (performance.now() - start) / 1000;
  return after.map((a, i) => ((a - before[i]!) * 1000) / seconds);
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const config = options.quick ? QUICK : FULL;
  const started = new Date();
  const commit = gitCommit();
  const loadBefore = os.loadavg();
  let build: BenchBuild | undefined;
  let standalone: PrivateRedis | undefined;
  let cluster: TestCluster | undefined;
  const admins: NodeAdmin[] = [];
  try {
    options.log('cluster: compiling the sources for the supervisor process');
    build = await buildForBench();
    if (build.warnings) options.log(`cluster: the compiler complained but emitted (work in progress elsewhere?):\n${build.warnings.split('\n').slice(0, 5).join('\n')}`);
    options.log('cluster: starting one standalone redis-server and a 3-master, 3-replica cluster');
    // One after the other, so a failure in the second still leaves the first assigned for the finally.
    standalone = await startPrivateRedis();
    cluster = await startRedisCluster();

    const solo = await nodeAdmin(`standalone :${standalone.port}`, 'master', '127.0.0.1', standalone.port, 0);
    admins.push(solo);
    const masterNodes = await cluster.masters();
    if (masterNodes.length !== QUEUE_COUNT) throw new Error(`the cluster has ${masterNodes.length} masters, expected ${QUEUE_COUNT}`);
    const masters = await Promise.all(masterNodes.map((n, i) => nodeAdmin(`master ${i + 1} :${n.port}`, 'master', n.host, n.port, i)));
    admins.push(...masters);
    const replicas: NodeAdmin[] = [];
    for (const [i, master] of masterNodes.entries()) {
      for (const r of await cluster.replicasOf(master)) replicas.push(await nodeAdmin(`replica of master ${i + 1} :${r.port}`, 'replica', r.host, r.port, i));
    }
    admins.push(...replicas);
    const queues = await queuesOnEachMaster(cluster, masterNodes);
    options.log(`cluster: queues ${queues.map((q, i) => `${q} on master ${i + 1} (:${masterNodes[i]!.port})`).join(', ')}`);

    const targets: Record<TargetId, RedisTarget> = {
      standalone: { id: 'standalone', url: standalone.url, masters: [solo], replicas: [], queueMaster: queues.map(() => 0) },
      cluster: { id: 'cluster', url: cluster.url, masters, replicas, queueMaster: queues.map((_, i) => i) },
    };
    const version = await redisVersion(solo.client);
    options.log(`cluster: ${(config.idleMs / 1000).toFixed(0)} s of idle Redis CPU first`);
    const [idleSolo, idleCluster] = await Promise.all([idleCpu(allNodes(targets.standalone), config.idleMs), idleCpu(allNodes(targets.cluster), config.idleMs)]);
    const measured: Measured = { config, rounds: [], targets, queues, idleMsPerSecond: { standalone: idleSolo, cluster: idleCluster } };

    for (let r = 1; r <= config.rounds; r++) {
      const order = [...rotate(TINY_ORDER, r - 1), ...rotate(CPU_ORDER, r - 1)];
      const bar = options.progress(`cluster round ${r}/${config.rounds}`, order.length);
      const round: Round = new Map();
      for (const id of order) {
        const def = PHASES[id];
        const jobs = def.workload === 'tiny' ? config.tinyJobs : config.cpuJobs;
        const result = await runClusterPhase(build, targets[def.target], queues, {
          workload: def.workload,
          jobs,
          warmJobs: WARM[def.workload],
          waitReplicas: def.waitReplicas,
          threads: THREADS,
        });
        // The durability setting really reached both sides: WAIT from the producer and from the supervisor, or from neither.
        const waits = { producer: result.enqueueWaitCalls, supervisor: sum(result.masterWaitCalls) };
        for (const [who, n] of Object.entries(waits)) {
          if (def.waitReplicas > 0 && n === 0) throw new Error(`${id}: durability was on but the ${who} sent no WAIT`);
          if (def.waitReplicas === 0 && n > 0) throw new Error(`${id}: durability was off but the ${who} sent ${n} WAIT`);
        }
        round.set(id, result);
        bar.tick();
        options.log(
          `cluster round ${r}  ${`${WORKLOAD_LABEL[def.workload]}, ${def.label}`.padEnd(36)} ${fmtInt(jobs / result.drainSeconds).padStart(7)} jobs/s  ${result.drainSeconds.toFixed(2)} s  ` +
            `Redis CPU per job served ${allNodes(targets[def.target]).map((n, i) => fmtInt((result.nodeCpuSeconds[i]! / result.masterJobs[n.master]!) * US)).join('/')} µs  steal ${pct(result.machineSteal)}`,
        );
      }
      bar.done();
      measured.rounds.push(round);
    }

    const cores = os.availableParallelism();
    return {
      name: 'cluster',
      title: `Redis Cluster: one standalone server vs 3 masters, per-shard cost${options.quick ? ` (quick run: ${config.rounds} rounds, few jobs; not for comparison)` : ''}`,
      about: [
        `${started.toISOString()}, commit ${commit} (read at the start)`,
        machineLine(version),
        loadLine(loadBefore),
        `What this can and cannot show: on a ${cores}-core machine throughput cannot grow with shards: the cluster's 6 redis-servers, the supervisor and the producer share ${cores} cores, so the cluster's jobs/s measure what the topology costs, not what it scales to. What transfers to a bigger machine is the Redis CPU each job costs on each shard and how evenly the shards split it; the "implied" columns turn that into jobs/s one core per shard could carry (1 / CPU per job), an extrapolation this bench does not measure`,
        `targets: one private redis-server, and a Redis Cluster of 3 masters + 3 replicas (test/helpers/redis-cluster.ts: loopback, no persistence, one replica per master), same binary; Troupe connects with redis+cluster://`,
        `queues: ${queues.map((q, i) => `${q} (master ${i + 1})`).join(', ')}, picked by masterForKey(queueKeys(name).meta) so each lives on a different master; the standalone runs use the same names`,
        `each phase: FLUSHALL on every master, ${WARM.tiny} (tiny) or ${WARM.cpu} (cpu) warm-up jobs run by a fresh supervisor process (${THREADS} threads, leasing from all 3 queues), queues paused, the measured jobs enqueued, then the timed drain; completed jobs removed at once (keepCompleted { count: 0 })`,
        `${config.rounds} round${config.rounds > 1 ? 's' : ''}: tiny standalone, cluster and cluster with WAIT, then cpu standalone and cluster, each group's order rotated every round so standalone and cluster alternate`,
        idleLine(measured),
        impliedLine(measured),
      ],
      tables: [throughputTable(measured), perNodeTable(measured), totalTable(measured), evennessTable(measured), durabilityTable(measured)],
      detailTables: [commandsDetailTable(measured)],
      charts: charts(measured),
    };
  } finally {
    // Everything started here stops here, also after a failure part-way.
    for (const admin of admins) await admin.client.quit().catch(() => admin.client.disconnect());
    await cluster?.destroy().catch((err: unknown) => options.log(`cluster: stopping the cluster failed: ${err instanceof Error ? err.message : String(err)}`));
    await standalone?.destroy().catch((err: unknown) => options.log(`cluster: stopping redis-server failed: ${err instanceof Error ? err.message : String(err)}`));
    build?.remove();
  }
}

export const bench: Bench = { name: 'cluster', run };
