import type { Redis } from 'ioredis';

/** Calls per command name as Redis reports them ("hset", "client|setname", ...). */
export type CommandCounts = Map<string, number>;

/** Commands that run a script: each is one top-level call, and what the script runs is counted separately. */
export const SCRIPT_COMMANDS: ReadonlySet<string> = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro']);

/** The probe's own commands, which land in the stats of the window they delimit. */
const PROBE_COMMANDS: ReadonlySet<string> = new Set(['config|resetstat', 'info']);

/** Calls and server time (µs) per command; a script's time includes the commands it ran. */
export interface CommandStats {
  calls: CommandCounts;
  usec: CommandCounts;
}

export function parseCommandStats(info: string): CommandStats {
  const stats: CommandStats = { calls: new Map(), usec: new Map() };
  for (const line of info.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (!match || PROBE_COMMANDS.has(match[1]!)) continue;
    stats.calls.set(match[1]!, Number(match[2]));
    stats.usec.set(match[1]!, Number(match[3]));
  }
  return stats;
}

export function addCounts(into: CommandCounts, name: string, by = 1): void {
  into.set(name, (into.get(name) ?? 0) + by);
}

export function sumCounts(counts: CommandCounts, filter: (name: string) => boolean = () => true): number {
  let total = 0;
  for (const [name, n] of counts) if (filter(name)) total += n;
  return total;
}

export interface PerJob {
  /** EVALSHA/EVAL calls: what the client sent to run scripts. */
  scriptCalls: number;
  /** Everything else: commands run inside those scripts, plus any the client sent directly. */
  otherCommands: number;
  /** Every command Redis executed. */
  total: number;
  /**
   * Server time spent in script calls (which includes what they ran). Where every client command
   * is a script call, as the MONITOR audit shows for these workloads, this is Redis's time per job.
   */
  scriptUsec: number;
}

export function perJob(stats: CommandStats, jobs: number): PerJob {
  const isScript = (name: string) => SCRIPT_COMMANDS.has(name);
  const scriptCalls = sumCounts(stats.calls, isScript);
  const total = sumCounts(stats.calls);
  return {
    scriptCalls: scriptCalls / jobs,
    otherCommands: (total - scriptCalls) / jobs,
    total: total / jobs,
    scriptUsec: sumCounts(stats.usec, isScript) / jobs,
  };
}

/** A measurement window on the server: start() before the measured work, stop() right after. */
export interface Probe<T> {
  start(): Promise<void>;
  stop(): Promise<T>;
}

/** INFO commandstats between a CONFIG RESETSTAT and the end of the phase. */
export function commandStatsProbe(admin: Redis): Probe<CommandStats> {
  return {
    start: async () => {
      await admin.config('RESETSTAT');
    },
    stop: async () => parseCommandStats(await admin.info('commandstats')),
  };
}

/** For warm-up passes whose numbers are thrown away. */
export function nullProbe(): Probe<CommandStats> {
  return { start: async () => {}, stop: async () => ({ calls: new Map(), usec: new Map() }) };
}

/** "hget 1.00, hset 1.00, ..." for the commands that cost the most per job. */
export function topCommands(counts: CommandCounts, jobs: number, limit: number): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, n]) => `${name} ${(n / jobs).toFixed(2)}`)
    .join(', ');
}
