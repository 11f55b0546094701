/**
 * The policy a thread's processors apply: the supervisor's allow-list, handed to every thread in
 * its init (ThreadInit.allowHosts). Read once per thread. Code running outside a supervisor's
 * thread (a processor called directly) gets the default: nothing allowed beyond public addresses.
 */
import { workerData } from 'node:worker_threads';
import { parseAllowList, type NetPolicy } from './policy.js';

let cached: NetPolicy | undefined;

export function threadAllowList(): string[] {
  const given = (workerData as { allowHosts?: unknown } | null | undefined)?.allowHosts;
  return Array.isArray(given) ? given.filter((e): e is string => typeof e === 'string') : [];
}

/** The thread's policy. The supervisor validated the list at start, so a parse error here is a bug worth surfacing. */
export function threadPolicy(): NetPolicy {
  return (cached ??= parseAllowList(threadAllowList()));
}
