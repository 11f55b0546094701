/** Arithmetic of the cluster bench: how load splits over shards, and machine-wide CPU. Pure. */

/** Each value's share of their sum (NaN for every entry when the sum is not positive). */
export function shares(values: readonly number[]): number[] {
  const total = values.reduce((a, b) => a + b, 0);
  return values.map((v) => (total > 0 ? v / total : Number.NaN));
}

/** The largest value over the smallest: 1 is a perfect split. Infinity when the smallest is 0, NaN when empty. */
export function maxOverMin(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const min = Math.min(...values);
  const max = Math.max(...values);
  return min > 0 ? max / min : max > 0 ? Number.POSITIVE_INFINITY : Number.NaN;
}

/** "33/34/33%": shares as whole percentages, slash-separated. */
export function fmtShares(values: readonly number[]): string {
  const parts = shares(values);
  return parts.every(Number.isFinite) ? `${parts.map((s) => (s * 100).toFixed(0)).join('/')}%` : '—';
}

/** Jobs/s one node could carry at 100% of one core, if each job kept costing it `cpuSecondsPerJob`. */
export function jobsPerCoreSecond(cpuSecondsPerJob: number): number {
  return cpuSecondsPerJob > 0 ? 1 / cpuSecondsPerJob : Number.NaN;
}

/** Jiffies summed over every CPU (the first, "cpu " line of /proc/stat). */
export interface CpuTotals {
  /** user, nice, system, irq, softirq: this machine's own work. */
  busy: number;
  /** Time the hypervisor ran something else while this machine's CPUs wanted to run. */
  steal: number;
  total: number;
}

/**
 * /proc/stat's `cpu  user nice system idle iowait irq softirq steal guest guest_nice`: idle and
 * iowait are not busy, steal is kept apart, and guest time is already counted in user.
 */
export function parseProcStatTotals(text: string): CpuTotals {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('/proc/stat has no "cpu" line');
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const fields = [user, nice, system, idle, iowait, irq, softirq, steal];
  if (fields.some((f) => f === undefined || !Number.isFinite(f))) throw new Error(`/proc/stat cpu line not understood: ${line}`);
  const busy = user! + nice! + system! + irq + softirq;
  return { busy, steal, total: busy + idle! + iowait + steal };
}

/** Shares of all the machine's CPU time between two readings: busy with its own work, and stolen by the hypervisor. */
export function cpuShares(before: CpuTotals, after: CpuTotals): { busy: number; steal: number } {
  const total = after.total - before.total;
  if (!(total > 0)) return { busy: Number.NaN, steal: Number.NaN };
  return { busy: (after.busy - before.busy) / total, steal: (after.steal - before.steal) / total };
}
