import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { listSupervisors } from '../../supervisor/registry.js';
import { formatAge, formatTable, print, printJson, type JsonArgs } from '../output.js';
import { withAdminOptions, withRedis, type RedisArgs } from '../redis-option.js';
import { discoverQueues, pauseText, statsFor } from './stats.js';

type StatusArgs = RedisArgs & JsonArgs;

const HEADERS = ['ID', 'HOST', 'PID', 'THREADS', 'QUEUES', 'IN FLIGHT', 'COMPLETED', 'FAILED', 'HEARTBEAT', 'STARTED', 'STALE'];

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'Show the running supervisors and any paused queue',
  builder: (yargs: Argv) =>
    withAdminOptions(yargs).example([
      ['$0 status', 'a row per supervisor (STALE when its heartbeat stopped), then paused queues'],
      ['$0 status --json', '{supervisors: [...], pausedQueues: [{queue, paused, resourcePause}]}'],
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
      if (argv.json) {
        printJson({ supervisors: supervisors.map((s) => ({ ...s, heartbeatAgeMs: now - s.heartbeatAt })), pausedQueues });
        return;
      }
      if (supervisors.length === 0) {
        print('no supervisors are running (start one with "troupe supervise")');
      } else {
        const rows = supervisors.map((s) => [
          s.id, s.host, s.pid, s.threads, s.queues.join(','), s.inFlight, s.completed, s.failed,
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
