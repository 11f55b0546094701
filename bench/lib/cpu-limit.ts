/** Arithmetic of the cpu bench, apart so it can be tested. */

/**
 * The most jobs/s that jobs of `jobMs` of CPU each can reach on `threads` threads: each busy
 * thread finishes one job per `jobMs`, and no more threads than cores can be busy at once.
 *
 * The built-in `cpu` processor times its burn by the wall clock, so with more threads than cores
 * it would still end each job after `jobMs` (doing less work in it); min(threads, cores) is the
 * limit for fixed work, which is what the bench stands for.
 */
export function physicalLimit(threads: number, cores: number, jobMs: number): number {
  if (!(threads >= 1 && cores >= 1 && jobMs > 0)) throw new RangeError(`bad limit inputs: threads ${threads}, cores ${cores}, jobMs ${jobMs}`);
  return (Math.min(threads, cores) * 1000) / jobMs;
}

/** Thread counts measured: 1 up to the machine's parallelism. */
export function threadCounts(parallelism: number): number[] {
  return Array.from({ length: Math.max(1, parallelism) }, (_, i) => i + 1);
}

/** a as a percentage of b ("98.7%"); a dash when b is not a positive number. */
export function pctOf(a: number, b: number): string {
  return b > 0 && Number.isFinite(a) ? `${((a / b) * 100).toFixed(1)}%` : '—';
}
