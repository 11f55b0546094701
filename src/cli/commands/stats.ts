import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { RedisClient } from '../../queue/connection.js';
import { discoverQueues, statsFor, type QueueStats } from '../../queue/queue-stats.js';
import { DEFAULT_WINDOW_MS, MAX_WINDOW_MS, readClusterHistograms, summarizeCluster, type KindSummaries, type QueueLatency } from '../../metrics/cluster.js';
import { LATENCY_KINDS, type LatencyKind } from '../../metrics/job-metrics.js';
import { UsageError } from '../exit.js';
import { formatAge, formatTable, jsonSafe, note, print, printJson, type Cell, type JsonArgs } from '../output.js';
import { checkQueueName, wholeNumberFlag, withAdminOptions, withRedis, type RedisArgs } from '../redis-option.js';

// Moved to src/queue/queue-stats.ts (the dashboard reads them too); re-exported for existing importers.
export { discoverQueues, queueStats, statsFor, type QueueStats } from '../../queue/queue-stats.js';

interface StatsArgs extends RedisArgs, JsonArgs {
  queue?: string;
  window?: number;
  watch?: boolean;
  interval?: number;
}

export function pauseText(s: Pick<QueueStats, 'paused' | 'resourcePause'>, now = Date.now()): string {
  const parts: string[] = [];
  if (s.paused) parts.push('paused by operator');
  if (s.resourcePause) parts.push(`resource pause until ${formatAge(s.resourcePause.until, now)}${s.resourcePause.reason ? ` (${s.resourcePause.reason})` : ''}`);
  return parts.join('; ');
}


const HEADERS = ['QUEUE', 'PENDING', 'DELAYED', 'ACTIVE', 'COMPLETED', 'DEAD', 'PAUSE'];
const LATENCY_HEADERS = ['QUEUE', 'PROCESSOR', 'LATENCY', 'COUNT', 'MEAN', 'P50', 'P90', 'P95', 'P99', 'P99.9', 'MAX'];
const KIND_LABELS: Record<LatencyKind, string> = { wait: 'wait', run: 'run', endToEnd: 'end to end' };

/** Queue stats plus, when any supervisor ran its jobs within the window, the cluster's latency. */
export type QueueReport = QueueStats & { latency?: QueueLatency };

function countsTable(all: Record<string, QueueStats>): string {
  const now = Date.now();
  const rows = Object.entries(all).map(([name, s]) => [name, s.counts.pending, s.counts.delayed, s.counts.active, s.counts.completed, s.counts.dead, pauseText(s, now)]);
  return formatTable(HEADERS, rows);
}

/** Milliseconds to a precision a person can read: 0.412, 12.35, 1530.2. */
const readableMs = (ms: number): number => Number(ms.toFixed(ms < 10 ? 3 : ms < 1000 ? 2 : 1));

function latencyTable(all: Record<string, QueueReport>): string {
  const rows: Cell[][] = [];
  let windowMs = 0;
  let supervisors = 0;
  for (const [queue, report] of Object.entries(all)) {
    const latency = report.latency;
    if (!latency) continue;
    windowMs = latency.windowMs;
    supervisors = Math.max(supervisors, latency.supervisors);
    const names = Object.keys(latency.processors);
    // One processor: its rows are the queue's rows; several: the merged rows, then each one's.
    const groups: Array<[string, KindSummaries]> = names.length === 1 ? [[names[0]!, latency.all]] : [['(all)', latency.all], ...Object.entries(latency.processors)];
    for (const [processor, kinds] of groups) {
      for (const kind of LATENCY_KINDS) {
        const l = kinds[kind];
        if (l.count === 0) continue;
        rows.push([queue, processor, KIND_LABELS[kind], l.count, ...[l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max].map(readableMs)]);
      }
    }
  }
  if (rows.length === 0) return '';
  const title = `latency in ms over the last ${Math.round(windowMs / 60_000)} min, merged across ${supervisors} supervisor${supervisors === 1 ? '' : 's'} (HDR histograms, 3 significant digits)`;
  return `\n${title}\n${formatTable(LATENCY_HEADERS, rows)}`;
}

/** The same JSON as without latency when no supervisor recorded any: scripts keep their contract. */
export async function reportFor(client: RedisClient, names: string[], windowMs: number): Promise<Record<string, QueueReport>> {
  const [stats, histograms] = await Promise.all([statsFor(client, names), readClusterHistograms(client, { windowMs, queues: names })]);
  const latency = summarizeCluster(histograms).queues;
  return Object.fromEntries(Object.entries(stats).map(([name, s]) => [name, latency[name] ? { ...s, latency: latency[name] } : s]));
}

interface Frame {
  json: unknown;
  text: string;
}

async function frame(client: RedisClient, one: string | undefined, windowMs: number): Promise<Frame> {
  if (one !== undefined) {
    const report = await reportFor(client, [one], windowMs);
    const s = report[one]!;
    const { critical, high, normal, low } = s.byPriority;
    const text = `${countsTable({ [one]: s })}pending by priority: critical ${critical}, high ${high}, normal ${normal}, low ${low}\n${latencyTable(report)}`;
    return { json: { queue: one, ...s }, text };
  }
  const all = await reportFor(client, await discoverQueues(client), windowMs);
  if (Object.keys(all).length === 0) return { json: { queues: all }, text: 'no queues found in this Redis (a queue appears once a job is enqueued)\n' };
  return { json: { queues: all }, text: `${countsTable(all)}${latencyTable(all)}` };
}

/** Redraws until Ctrl-C: in place on a terminal, one frame after another otherwise (one JSON line each with --json). */
async function watch(client: RedisClient, one: string | undefined, windowMs: number, json: boolean, intervalMs: number): Promise<void> {
  let stopped = false;
  let wake: () => void = () => undefined;
  const onSignal = () => {
    stopped = true;
    wake();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const inPlace = process.stdout.isTTY === true && !json;
  try {
    while (!stopped) {
      let out: string;
      try {
        const f = await frame(client, one, windowMs);
        out = json ? `${JSON.stringify(jsonSafe(f.json))}\n` : `troupe stats, every ${intervalMs / 1000}s, ${new Date().toISOString()} (Ctrl-C to stop)\n\n${f.text}`;
      } catch (err) {
        // Redis restarting is exactly when someone watches: say so and keep trying.
        if (stopped) break;
        note(`reading stats failed: ${err instanceof Error ? err.message : String(err)}; retrying`);
        out = '';
      }
      if (out) process.stdout.write(inPlace ? `\x1b[H\x1b[2J${out}` : json ? out : `${out}\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const statsCommand: CommandModule<object, StatsArgs> = {
  command: 'stats',
  describe: 'Count the jobs in each state, with latency percentiles merged across every supervisor, for one queue or every queue',
  builder: (yargs: Argv) =>
    withAdminOptions(
      yargs
        .option('queue', { alias: 'q', type: 'string', requiresArg: true, describe: 'one queue (default: every queue found in Redis)' })
        .option('window', { type: 'number', requiresArg: true, default: DEFAULT_WINDOW_MS / 60_000, describe: `minutes of latency to merge (1-${MAX_WINDOW_MS / 60_000})` })
        .option('watch', { alias: 'w', type: 'boolean', describe: 'refresh until Ctrl-C (in place on a terminal)' })
        .option('interval', { type: 'number', requiresArg: true, default: 2, describe: 'seconds between refreshes with --watch' }),
    ).example([
      ['$0 stats', 'a row per queue: pending, delayed, active, completed, dead, and any pause; then latency percentiles'],
      ['$0 stats --queue default', 'one queue, with pending jobs split by priority'],
      ['$0 stats --queue default --json', '{queue, counts: {pending, delayed, active, completed, dead}, byPriority, paused, resourcePause, latency?}'],
      ['$0 stats --watch --window 1', 'refresh every 2 s, latency of the last minute'],
    ]) as unknown as Argv<StatsArgs>,
  handler: async (argv: ArgumentsCamelCase<StatsArgs>) => {
    const one = argv.queue === undefined ? undefined : checkQueueName(argv.queue, '--queue');
    const windowMs = wholeNumberFlag('--window', argv.window ?? DEFAULT_WINDOW_MS / 60_000, 1, MAX_WINDOW_MS / 60_000) * 60_000;
    const interval = argv.interval ?? 2;
    if (!Number.isFinite(interval) || interval < 0.1 || interval > 3600) throw new UsageError(`--interval must be a number of seconds from 0.1 to 3600, got ${argv.interval}`);
    await withRedis(argv, async (client) => {
      if (argv.watch) return watch(client, one, windowMs, argv.json === true, interval * 1000);
      const f = await frame(client, one, windowMs);
      if (argv.json) return printJson(f.json);
      print(f.text);
    });
  },
};
