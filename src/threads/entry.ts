/**
 * Where Piscina finds the thread code. From source (run through tsx) this module is entry.ts and
 * the worker is worker.ts beside it; compiled, both are .js under dist/threads. A worker thread
 * inherits the process's execArgv, so `--import tsx` loads the .ts worker there too.
 */
export function threadEntryUrl(): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
}
