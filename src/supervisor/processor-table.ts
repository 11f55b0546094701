import { buildRegistry, loadPlugins, type RegistryEntry } from '../processors/plugins.js';

/** What the supervisor needs to know about processors: names and plugin modules (threads decide time limits). */
export interface ProcessorTable {
  /** Resolved plugin module URLs, handed to every thread. */
  pluginUrls: string[];
  entries(): Array<[string, RegistryEntry]>;
}

/**
 * Loads plugins once on the supervisor's thread at start, so a bad plugin or a name clash
 * stops the start with a clear message instead of failing every job later in the threads.
 */
export async function loadProcessorTable(plugins: readonly string[], baseDir: string): Promise<ProcessorTable> {
  const loaded = await loadPlugins(plugins, baseDir);
  const registry = buildRegistry(loaded);
  return {
    pluginUrls: loaded.map((p) => p.url),
    entries: () => [...registry.entries()],
  };
}
