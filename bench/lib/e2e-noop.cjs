'use strict';
// The peers' no-op processor, loaded in a worker thread by BullMQ's sandbox and by raw Piscina
// (both get { data }). Plain CommonJS so either loads it without a TypeScript loader. `ms`
// holds a warm-up job long enough that concurrent jobs land on separate threads.
module.exports = async function noop(job) {
  const ms = job && job.data && job.data.ms;
  if (ms) await new Promise((resolve) => setTimeout(resolve, ms));
  return null;
};
