/**
 * Loaded with `node --import` into the soak's supervisor: appends the main thread's
 * process.memoryUsage() as one JSON line to $TROUPE_SOAK_PROBE every $TROUPE_SOAK_PROBE_MS, so
 * the bench sees the V8 heap of the process it measures (RSS alone cannot tell a heap that grows
 * from native memory that does). Plain JavaScript, so it needs no loader in a compiled run.
 */
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const file = process.env.TROUPE_SOAK_PROBE;
const everyMs = Number(process.env.TROUPE_SOAK_PROBE_MS ?? 1000);

// Worker threads inherit --import; only the supervisor's own thread is measured.
if (isMainThread && file) {
  const write = () => {
    const m = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  };
  // unref: the probe must never keep a supervisor alive that is shutting down.
  write();
  setInterval(write, everyMs).unref();
}
