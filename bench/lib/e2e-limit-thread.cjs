'use strict';
// The limit's thread task (bench/lib/e2e-consumer-limit.ts): one leased batch per task. Each
// job's data is decoded and handed to the peers' no-op processor (workerData.processorFile,
// bench/lib/e2e-noop.cjs), one job after another, and the results come back in job order.
// Plain CommonJS, loaded by Piscina in place with no TypeScript loader.
const { workerData } = require('node:worker_threads');

const processor = require(workerData.processorFile);

module.exports = async function runBatch(task) {
  const results = new Array(task.data.length);
  for (let i = 0; i < task.data.length; i++) results[i] = await processor({ data: JSON.parse(task.data[i]) });
  return results;
};
