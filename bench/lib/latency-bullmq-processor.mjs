// BullMQ sandboxed processor for the latency bench: the same work as the Troupe probe plugin
// (latency-probe-plugin.mjs), and null for the capacity probe's noop jobs.
export default async function probe(job) {
  if (job.name === 'noop') return null;
  return { t: performance.timeOrigin + performance.now() };
}
