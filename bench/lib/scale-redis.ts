/**
 * What the scale bench reads from Redis itself: memory (INFO memory), who is connected (CLIENT
 * LIST) and the server time of each script call (SLOWLOG with a threshold of 0). The parsers are
 * pure so the test can check them on captured text.
 */
import type { Redis } from 'ioredis';

export interface RedisMemory {
  /** used_memory: bytes the allocator holds for data and overhead, what a pending job costs. */
  used: number;
  /** used_memory_rss: what the OS sees (includes fragmentation and freed-but-kept pages). */
  rss: number;
}

export function parseMemoryInfo(info: string): RedisMemory {
  const read = (name: string) => {
    const match = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
    if (!match) throw new Error(`INFO memory has no ${name}`);
    return Number(match[1]);
  };
  return { used: read('used_memory'), rss: read('used_memory_rss') };
}

export async function redisMemory(admin: Redis): Promise<RedisMemory> {
  return parseMemoryInfo(await admin.info('memory'));
}

/** One connection as CLIENT LIST shows it. */
export interface RedisClientEntry {
  id: string;
  addr: string;
  /** The last command it ran ("blpop", "evalsha", "client|list", ...). */
  cmd: string;
}

export function parseClientList(text: string): RedisClientEntry[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const fields = new Map(line.trim().split(' ').map((pair) => {
        const eq = pair.indexOf('=');
        return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
      }));
      const id = fields.get('id');
      if (id === undefined) throw new Error(`CLIENT LIST line without an id: ${line.slice(0, 80)}`);
      return { id, addr: fields.get('addr') ?? '?', cmd: fields.get('cmd') ?? '?' };
    });
}

export async function clientList(admin: Redis): Promise<RedisClientEntry[]> {
  return parseClientList((await admin.client('LIST')) as string);
}

/** "blpop 100, evalsha 2" for connections grouped by their last command, largest group first. */
export function byLastCommand(clients: readonly RedisClientEntry[]): string {
  const counts = new Map<string, number>();
  for (const c of clients) counts.set(c.cmd, (counts.get(c.cmd) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([cmd, n]) => `${cmd} ${n}`)
    .join(', ');
}

/** One SLOWLOG entry: the command's arguments (Redis keeps at most 32) and its execution time. */
export interface SlowlogEntry {
  micros: number;
  args: string[];
}

/** SLOWLOG GET's reply: [id, unix time, µs, [args...], client addr, client name] per entry. */
export function parseSlowlog(reply: unknown): SlowlogEntry[] {
  if (!Array.isArray(reply)) throw new Error('SLOWLOG GET did not return a list');
  return reply.map((entry: unknown) => {
    if (!Array.isArray(entry) || !Array.isArray(entry[3])) throw new Error('SLOWLOG entry of an unknown shape');
    return { micros: Number(entry[2]), args: (entry[3] as unknown[]).map(String) };
  });
}

/**
 * Server time per call of the two scripts a slice runs: lease calls carry the bench's owner name
 * among their arguments, and every other EVALSHA in the slice is a complete.
 */
export function scriptTimes(entries: readonly SlowlogEntry[], leaseOwner: string): { lease: number[]; complete: number[] } {
  const lease: number[] = [];
  const complete: number[] = [];
  for (const e of entries) {
    if (e.args[0]?.toLowerCase() !== 'evalsha') continue;
    (e.args.includes(leaseOwner) ? lease : complete).push(e.micros);
  }
  return { lease, complete };
}

/**
 * Logs every command with its server time while `work` runs (slowlog-log-slower-than 0), then
 * puts the server's settings back. Only for an untimed pass: logging every command costs Redis.
 */
export async function withSlowlogOfEverything(admin: Redis, maxEntries: number, work: () => Promise<void>): Promise<SlowlogEntry[]> {
  const [, threshold] = (await admin.config('GET', 'slowlog-log-slower-than')) as [string, string];
  const [, length] = (await admin.config('GET', 'slowlog-max-len')) as [string, string];
  try {
    await admin.config('SET', 'slowlog-max-len', String(maxEntries));
    await admin.slowlog('RESET');
    await admin.config('SET', 'slowlog-log-slower-than', '0');
    await work();
    await admin.config('SET', 'slowlog-log-slower-than', threshold);
    return parseSlowlog(await admin.slowlog('GET', maxEntries));
  } finally {
    await admin.config('SET', 'slowlog-log-slower-than', threshold);
    await admin.config('SET', 'slowlog-max-len', length);
  }
}
