/** What every bench report says about where it ran: commit, machine, load, Redis. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { Redis } from 'ioredis';

/** The code measured: HEAD, plus "+dirty" when src/, wasm/ or bench/ has uncommitted changes. */
export function gitCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src', 'wasm', 'bench') ? '+dirty' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export function machineLine(redisVersion: string): string {
  const cpus = os.cpus();
  return `Node ${process.version}, Redis ${redisVersion} (private server, no persistence, loopback), ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? '?'})`;
}

export function loadLine(before: number[]): string {
  const fmt = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return `load average before/after: ${fmt(before)} / ${fmt(os.loadavg())}`;
}

export async function redisVersion(admin: Redis): Promise<string> {
  return /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? '?';
}

/** CPU seconds (user + system) the Redis server has used, from INFO cpu. */
export async function redisCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return read('used_cpu_user') + read('used_cpu_sys');
}
