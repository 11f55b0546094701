import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { describeEviction, EVICTION_FIX, evictingNodes, fullNodes, readMemory } from '../../queue/redis-memory.js';
import { listSupervisors } from '../../supervisor/registry.js';
import { formatAge, formatBytes, formatTable, print, printJson, type JsonArgs } from '../output.js';
import { withAdminOptions, withRedis, type RedisArgs } from '../redis-option.js';
import { discoverQueues, statsFor } from '../../queue/queue-stats.js';
import { pauseText } from './stats.js';

type StatusArgs = RedisArgs & JsonArgs;

const HEADERS = ['ID', 'HOST', 'PID', 'THREADS', 'BUSY/LIVE', 'QUEUES', 'IN FLIGHT', 'RSS', 'COMPLETED', 'FAILED', 'HEARTBEAT', 'STARTED', 'STALE'];

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'Show the running supervisors and any paused queue',
  builder: (yargs: Argv) =>
    withAdminOptions(yargs).example([
      ['$0 status', 'a row per supervisor (threads, busy/live threads, jobs in flight, RSS as of its last heartbeat; STALE when its heartbeats stopped), then paused queues'],
      ['$0 status --json', '{supervisors: [{id, threads, busyThreads, liveThreads, inFlight, rssBytes, heartbeatAgeMs, stale, ...}], pausedQueues: [{queue, paused, resourcePause}]}'],
    ]) as unknown as Argv<StatusArgs>,
  handler: async (argv: ArgumentsCamelCase<StatusArgs>) => {
    await withRedis(argv, async (client) => {
      const now = Date.now();
      const supervisors = await listSupervisors(client, now);
      // A pause lives in the queue's meta hash, so only queues that have one can be paused.
      const stats = await statsFor(client, await discoverQueues(client, ['meta']));
      const pausedQueues = Object.entries(stats)
        .filter(([, s]) => s.paused || s.resourcePause)
        .map(([queue, s]) => ({ queue, paused: s.paused, resourcePause: s.resourcePause }));
      // INFO may be refused by an ACL: the rest of the status still stands.
      const memory = await readMemory(client).catch(() => undefined);
      const evicting = memory ? evictingNodes(memory) : [];
      const full = memory ? fullNodes(memory).filter((n) => n.policy === 'noeviction') : [];
      if (argv.json) {
        printJson({
          supervisors: supervisors.map((s) => ({ ...s, heartbeatAgeMs: now - s.heartbeatAt })),
          pausedQueues,
          redisMemory: memory ? { nodes: memory, evicting: evicting.map((n) => n.node), full: full.map((n) => n.node) } : null,
        });
        return;
      }
      if (evicting.length > 0) print(`WARNING: Redis may delete jobs: ${describeEviction(evicting)}; ${EVICTION_FIX}`);
      if (full.length > 0) print(`WARNING: Redis is out of memory: ${full.map((n) => n.node).join(', ')} at maxmemory; writes (enqueues, outcomes, leases) are refused until memory is freed or maxmemory raised`);
      if (supervisors.length === 0) {
        print('no supervisors are running (start one with "troupe supervise")');
      } else {
        const rows = supervisors.map((s) => [
          // '-': an entry written by a supervisor older than these fields.
          s.id, s.host, s.pid, s.threads, s.busyThreads === null || s.liveThreads === null ? '-' : `${s.busyThreads}/${s.liveThreads}`,
          s.queues.join(','), s.inFlight, s.rssBytes === null ? '-' : formatBytes(s.rssBytes), s.completed, s.failed,
          formatAge(s.heartbeatAt, now), formatAge(s.startedAt, now), s.stale ? 'STALE' : '',
        ]);
        print(formatTable(HEADERS, rows));
        const stale = supervisors.filter((s) => s.stale).length;
        if (stale > 0) {
          print(`${stale} supervisor(s) missed 3 heartbeats: stopped or stalled; their jobs return to the queue when the leases expire`);
        }
      }
      if (pausedQueues.length > 0) {
        print('');
        print(formatTable(['PAUSED QUEUE', 'PAUSE'], pausedQueues.map((p) => [p.queue, pauseText(p, now)])));
      }
    });
  },
};
