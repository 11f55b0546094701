import { buildRegistry, loadPlugins, type RegistryEntry } from '../processors/plugins.js';

/** What the supervisor needs to know about processors: names and plugin modules (threads decide time limits). */
export interface ProcessorTable {
  /** Resolved plugin module URLs, handed to every thread. */
  pluginUrls: string[];
  entries(): Array<[string, RegistryEntry]>;
  /** Processor.concurrency: how many of its jobs may wait on I/O at once; 0 for CPU work. */
  concurrencyOf(name: string): number;
  /** The I/O slots of every processor together (what the I/O thread must run at once). */
  ioSlots: number;
}

/**
 * Loads plugins once on the supervisor's thread at start, so a bad plugin or a name clash
 * stops the start with a clear message instead of failing every job later in the threads.
 * With importTimeoutMs each import is first tried in a worker thread that is stopped past it
 * (plugins.ts, trialImport), so a module that never finishes importing stops the start too.
 */
export async function loadProcessorTable(plugins: readonly string[], baseDir: string, importTimeoutMs?: number): Promise<ProcessorTable> {
  const loaded = await loadPlugins(plugins, baseDir, importTimeoutMs === undefined ? {} : { importTimeoutMs });
  const registry = buildRegistry(loaded);
  return {
    pluginUrls: loaded.map((p) => p.url),
    entries: () => [...registry.entries()],
    concurrencyOf: (name) => registry.get(name)?.processor.concurrency ?? 0,
    ioSlots: [...registry.values()].reduce((sum, { processor }) => sum + (processor.concurrency ?? 0), 0),
  };
}
