/**
 * What the supervisor and a thread's validate() step need of `http`: its name, description and
 * input check. The executor pool and the POST code are in index.ts, loaded on a thread's first
 * http job (see ../lazy.ts).
 */
import { asObject, checkWhole, describe } from '../fetch/options.js';
import { checkHttpUrl } from '../fetch/url.js';
import type { ProcessorSpec } from '../lazy.js';
import type { HttpJobInput } from './index.js';

export const HTTP_EXECUTORS_ENV = 'TROUPE_HTTP_EXECUTORS';

export function validateHttp(input: unknown): string | undefined {
  const data = asObject('http', input, '{ "input": { ... }, "executors": ["http://10.0.0.5:8080"] }');
  if (typeof data === 'string') return data;
  if (data.executors !== undefined) {
    if (!Array.isArray(data.executors) || data.executors.length === 0) {
      return `http: data.executors must be a non-empty array of base URLs when given, got ${describe(data.executors)}`;
    }
    for (let i = 0; i < data.executors.length; i++) {
      const problem = checkHttpUrl(data.executors[i], `http: data.executors[${i}]`);
      if (problem) return problem;
    }
  }
  if (data.path !== undefined && (typeof data.path !== 'string' || !data.path.startsWith('/'))) {
    return `http: data.path must be a path starting with "/", like "/run", got ${describe(data.path)}`;
  }
  return checkWhole('http', data, 'timeoutMs', 1, 3_600_000) ?? checkWhole('http', data, 'maxBytes', 0, 1024 * 1024 * 1024);
}

export const HTTP_SPEC: ProcessorSpec<HttpJobInput, unknown> = {
  name: 'http',
  description: `{ input, executors?, path?, timeoutMs? }: POSTs the job to a healthy HTTP executor (${HTTP_EXECUTORS_ENV}) and returns its JSON answer`,
  validate: validateHttp,
};
