/**
 * Memory and CPU of another process, read from Linux's /proc. The benches measure consumers in
 * child processes so each figure is that consumer's own, not the bench harness's.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

export interface ProcStatus {
  /** Resident set now (VmRSS), KiB. */
  rssKb: number;
  /** Peak resident set since start or the last resetPeak (VmHWM), KiB. */
  hwmKb: number;
  /** OS threads: Node's own (main, libuv pool, V8 platform) plus one per worker thread. */
  threads: number;
}

function field(text: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
  if (!match) throw new Error(`/proc status has no ${name} line`);
  return Number(match[1]);
}

export function parseProcStatus(text: string): ProcStatus {
  return { rssKb: field(text, 'VmRSS'), hwmKb: field(text, 'VmHWM'), threads: field(text, 'Threads') };
}

export function readProcStatus(pid: number): ProcStatus {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

/** CPU time a process has used, in clock ticks (user, system). */
export interface CpuTicks {
  user: number;
  system: number;
}

/**
 * /proc/<pid>/stat: the command name (field 2) is in parentheses and may itself hold spaces or
 * parentheses, so fields are counted from the last ')'. utime and stime are fields 14 and 15.
 */
export function parseProcStatCpu(text: string): CpuTicks {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('/proc stat line has no command name');
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const user = Number(rest[11]);
  const system = Number(rest[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) throw new Error(`/proc stat line too short: ${text.slice(0, 80)}`);
  return { user, system };
}

let ticksPerSecond: number | undefined;

/** USER_HZ; 100 on every mainstream Linux, asked once in case this one differs. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // No getconf: the kernel's USER_HZ is 100 for every architecture Node runs on.
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) the process has used so far. */
export function readCpuSeconds(pid: number): number {
  const { user, system } = parseProcStatCpu(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (user + system) / clockTicksPerSecond();
}

/**
 * Resets VmHWM to the current RSS (clear_refs "5", Linux 4.0+), so a later read gives the peak
 * of the window that follows. Returns false where the kernel refuses; callers then rely on
 * sampling alone.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false; // Older kernel or no permission: the sampled peak still stands.
  }
}

export const KIB_PER_MIB = 1024;

/** Samples a process's RSS on a timer and keeps the peak; sampling misses spikes shorter than the interval. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peak = 0;
  private count = 0;

  constructor(private readonly pid: number, private readonly intervalMs = 100) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Peak RSS in KiB over the samples taken, with a last sample at stop. */
  stop(): { peakKb: number; samples: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return { peakKb: this.peak, samples: this.count };
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, readProcStatus(this.pid).rssKb);
      this.count += 1;
    } catch {
      // The process exited between samples (a failed phase); its error is reported elsewhere.
    }
  }
}
