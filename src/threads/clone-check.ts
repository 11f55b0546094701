/**
 * A value a thread hands back is structured-cloned by postMessage after the task function has
 * returned, inside Piscina: a clone error there is thrown in the thread and kills it, taking every
 * job of the task with it. So each job's result is checked here, and a bad one fails only its job.
 */

function ctorName(value: object): string {
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'object';
}

function walk(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'function':
      return `${path} is a function`;
    case 'symbol':
      return `${path} is a symbol`;
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null || seen.has(value)) return undefined;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return undefined;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = walk(value[i], `${path}[${i}]`, seen);
      if (problem) return problem;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    // Structured clone copies own enumerable string keys only, which is what Object.keys walks.
    for (const key of Object.keys(value)) {
      const problem = walk((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
      if (problem) return problem;
    }
    return undefined;
  }
  // Dates, Maps, Errors, class instances, Promises: V8's rules for these are long, so ask V8.
  // Only non-plain objects pay for this copy; plain JSON-like results are walked without copying.
  try {
    structuredClone(value);
    return undefined;
  } catch (err) {
    return `${path} (a ${ctorName(value)}) cannot be copied between threads: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Describes the first part of `value` that cannot cross a thread boundary, or undefined if all can. */
export function findUncloneable(value: unknown, path: string): string | undefined {
  return walk(value, path, new Set());
}
