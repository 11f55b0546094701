/**
 * A built-in processor whose code is loaded on its first job. Every thread imports the built-in
 * table, and each thread is its own isolate: code a thread imports costs memory in every thread
 * (and in the supervisor, which reads the same table), whether or not a job ever needs it. So the
 * table holds what the supervisor and the thread's validate() step need (name, description,
 * limits, validate), and run() imports the rest when a job of that processor first runs.
 */
import { createRequire } from 'node:module';
import type { Processor } from './contract.js';

/** What a processor is without its run(): kept in a small module of its own. */
export type ProcessorSpec<I, O> = Omit<Processor<I, O>, 'run'>;

export function lazyProcessor<I, O>(spec: ProcessorSpec<I, O>, load: () => Promise<Processor<I, O>>): Processor<I, O> {
  let loading: Promise<Processor<I, O>> | undefined;
  const loaded = (): Promise<Processor<I, O>> => {
    if (loading) return loading;
    const attempt = load();
    loading = attempt;
    // A failed import is not cached: the next job tries again (a file being deployed, a disk hiccup).
    attempt.catch(() => {
      if (loading === attempt) loading = undefined;
    });
    return attempt;
  };
  return {
    ...spec,
    async run(input, ctx) {
      return (await loaded()).run(input, ctx);
    },
  };
}

/**
 * import() of a module beside `parentUrl` (its import.meta.url). Compiled, and in the main
 * thread under tsx, this is a plain import(). A worker thread under tsx runs its modules as
 * CommonJS (Node 20 gives worker threads no ESM loader hooks, so tsx compiles them through its
 * require hook), where import('./x.js') would look for a .js file that does not exist; require()
 * finds the .ts, and shares the module instances the thread's static imports made.
 */
export function importBeside<T>(parentUrl: string, specifier: string): Promise<T> {
  if (typeof require === 'function') return Promise.resolve(createRequire(parentUrl)(specifier) as T);
  return import(new URL(specifier, parentUrl).href) as Promise<T>;
}
