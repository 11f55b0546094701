/** The dashboard's JSON API (dashboard.ts, under /api/) as OpenAPI path items, merged into /openapi.json. */
import { ERROR_RESPONSES } from '../supervisor/openapi.js';
import { JOB_STATES, PRIORITIES } from '../queue/keys.js';
import { BULK, JOB_ACTIONS, JOB_CONFIRM, QUEUE_ACTIONS, SCHEDULE_ACTIONS } from './actions.js';
import { MAX_PAGE_SIZE, PAGE_SIZE, SEARCH_FIELDS, SEARCH_SCAN_LIMIT } from './data.js';

const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const obj = (properties: Record<string, object>, required?: string[]) => ({ type: 'object', properties, ...(required ? { required } : {}) });
const int = { type: 'integer' };
const str = { type: 'string' };
const security = [{ token: [] }];
const tags = ['dashboard'];

const counts = obj(Object.fromEntries(['pending', 'delayed', 'active', 'completed', 'dead'].map((k) => [k, int])));
const job = obj(
  {
    id: str, queue: str, processor: str, state: { type: 'string', enum: [...JOB_STATES] }, priority: { type: 'string', enum: [...PRIORITIES] },
    data: { description: 'The payload; bytes appear as {"type":"bytes","length":N}' }, attempts: int, maxAttempts: int, timeoutMs: int,
    enqueuedAt: int, runAt: int, startedAt: int, finishedAt: int, progress: {}, result: {},
    error: obj({ name: str, message: str, code: str, stack: str, at: int, attempt: int }), errors: { type: 'array', items: { type: 'object' }, description: 'The 10 most recent, oldest first' },
    owner: str, dedupeKey: str, cachedFrom: str, leaseExpiries: int, metadata: { type: 'object' },
  },
  ['id', 'queue', 'processor', 'state'],
);
const nullableInt = { type: 'integer', nullable: true };
const SUPERVISOR = obj(
  {
    id: str, host: str, pid: int, queues: { type: 'array', items: str }, startedAt: int, heartbeatAt: int, heartbeatMs: int, stale: { type: 'boolean' },
    threads: { type: 'integer', description: 'Configured maximum (--threads)' },
    busyThreads: { ...nullableInt, description: 'Threads running a job at the last heartbeat (null: written by an older supervisor)' },
    liveThreads: { ...nullableInt, description: 'Threads alive at the last heartbeat, the I/O thread included' },
    rssBytes: { ...nullableInt, description: 'Resident set size of the process at the last heartbeat' },
    inFlight: { type: 'integer', description: 'Jobs running on a thread' }, held: { type: 'integer', description: 'Jobs leased, waiting for a thread slot' },
    completed: int, failed: int, dead: int, timedOut: int, leaseLost: int, threadRestarts: int,
  },
  ['id', 'host', 'pid', 'queues', 'stale'],
);
const result = obj({ action: str, target: str, count: int, message: str }, ['action', 'target', 'count', 'message']);
const needsConfirm = json(obj({ error: str, code: { type: 'string', enum: ['NEEDS_CONFIRMATION', 'CONFLICT'] }, count: int }), 'Needs `confirm` (the reply states the count), or the job is in the wrong state');
const readOnly = json(obj({ error: str, code: str }), 'Read-only dashboard (--read-only), or a cross-site request');
const queueParam = { name: 'queue', in: 'path', required: true, schema: str };
const idParam = { name: 'id', in: 'path', required: true, schema: str };
const confirmBody = {
  required: false,
  content: {
    'application/x-www-form-urlencoded': { schema: obj({ confirm: { type: 'string', description: 'Required by bulk and destructive actions: the count the caller saw' } }) },
    'application/json': { schema: obj({ confirm: {} }) },
  },
};

export function dashboardPaths(): Record<string, object> {
  return {
    '/api/overview': {
      get: {
        tags, security, summary: 'Every queue with counts per state, pending by priority, pause state, latency (last 5 min, merged across supervisors) and serving supervisors',
        description: 'Computed at most once per 2 s and shared by every caller.',
        responses: {
          200: json(obj({ at: int, latencyWindowMs: int, queues: { type: 'array', items: obj({ name: str, counts, byPriority: { type: 'object' }, paused: { type: 'boolean' }, resourcePause: { type: 'object', nullable: true }, supervisors: { type: 'array', items: str }, latency: { type: 'object' } }) }, supervisors: { type: 'array', items: SUPERVISOR } }), 'The overview'),
          ...ERROR_RESPONSES,
        },
      },
    },
    '/api/queues/{queue}/jobs': {
      get: {
        tags, security, summary: 'One page of a queue\'s jobs in one state, or a search',
        description: `Pages: completed and dead newest first, pending in run order, delayed and active soonest first. With q: by id (one lookup), or by processor or metadata (key or key=value) among the state's newest ${SEARCH_SCAN_LIMIT} jobs.`,
        parameters: [
          queueParam,
          { name: 'state', in: 'query', schema: { type: 'string', enum: [...JOB_STATES], default: 'pending' } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: PAGE_SIZE } },
          { name: 'by', in: 'query', schema: { type: 'string', enum: [...SEARCH_FIELDS], default: 'id' } },
          { name: 'q', in: 'query', schema: str, description: 'Search term' },
        ],
        responses: { 200: json(obj({ queue: str, state: str, total: int, offset: int, limit: int, scanned: int, jobs: { type: 'array', items: job } }), 'Jobs'), 400: json(obj({ error: str }), 'A bad parameter'), ...ERROR_RESPONSES },
      },
    },
    '/api/queues/{queue}/jobs/{id}': {
      get: {
        tags, security, summary: 'One job, with its lease deadline, parent and follow-ups',
        parameters: [queueParam, idParam],
        responses: { 200: json(obj({ job, leaseDeadline: int, parent: str, followUps: { type: 'array', items: obj({ id: str, state: str }) } }), 'The job'), ...ERROR_RESPONSES },
      },
    },
    '/api/queues/{queue}/actions/{action}': {
      post: {
        tags, security, summary: 'Pause or resume a queue, or a bulk action on one state',
        description: 'retry-dead, purge-dead, promote-delayed and empty-pending need `confirm`. Logged with the caller\'s token id.',
        parameters: [queueParam, { name: 'action', in: 'path', required: true, schema: { type: 'string', enum: [...QUEUE_ACTIONS] } }],
        requestBody: confirmBody,
        responses: { 200: json(result, 'Done'), 403: readOnly, 409: needsConfirm, ...ERROR_RESPONSES },
      },
    },
    '/api/queues/{queue}/jobs/{id}/actions/{action}': {
      post: {
        tags, security, summary: 'Retry (dead), promote (delayed), cancel (pending or delayed) or delete (any but active) one job',
        description: 'cancel and delete need `confirm`. Logged with the caller\'s token id.',
        parameters: [queueParam, idParam, { name: 'action', in: 'path', required: true, schema: { type: 'string', enum: [...JOB_ACTIONS] } }],
        requestBody: confirmBody,
        responses: { 200: json(result, 'Done'), 403: readOnly, 409: needsConfirm, ...ERROR_RESPONSES },
      },
    },
    '/api/supervisors': {
      get: { tags, security, summary: 'The supervisors in the registry, with threads busy/live, jobs in flight, RSS, heartbeat and stale flag (as of each one\'s last heartbeat)', responses: { 200: json(obj({ supervisors: { type: 'array', items: SUPERVISOR } }), 'Supervisors'), ...ERROR_RESPONSES } },
    },
    '/api/schedules': {
      get: { tags, security, summary: 'Schedules with their next three fires and last fire', responses: { 200: json(obj({ schedules: { type: 'array', items: { type: 'object' } }, broken: { type: 'array', items: { type: 'object' } } }), 'Schedules'), ...ERROR_RESPONSES } },
    },
    '/api/schedules/{name}/actions/{action}': {
      post: {
        tags, security, summary: 'Pause, resume or run a schedule now (one job, enqueued at once)',
        parameters: [{ name: 'name', in: 'path', required: true, schema: str }, { name: 'action', in: 'path', required: true, schema: { type: 'string', enum: [...SCHEDULE_ACTIONS] } }],
        responses: { 200: json(result, 'Done'), 403: readOnly, 409: needsConfirm, ...ERROR_RESPONSES },
      },
    },
    ...pagePaths(),
    '/api/metrics': {
      get: { tags, security, summary: 'Runs per minute and wait/run p50/p99 per minute over the last hour: every queue merged (all), per queue and processor', responses: { 200: json(obj({ all: { type: 'array', items: { type: 'object' } }, queues: { type: 'array', items: { type: 'object' } } }), 'Per-minute series'), ...ERROR_RESPONSES } },
    },
  };
}

const html = (description: string) => ({ description, content: { 'text/html': { schema: str } } });
const pageTags = ['dashboard pages'];
const seeOther = { description: 'Done or refused with a reason: a redirect (Location) to the page that shows the notice, or to the confirmation page when `confirm` is missing' };
const formBody = { required: false, content: { 'application/x-www-form-urlencoded': { schema: obj({ confirm: { type: 'string', description: 'Sent by the confirmation page\'s button' } }) } } };
const listParams = [
  queueParam,
  { name: 'state', in: 'query', schema: { type: 'string', enum: [...JOB_STATES], default: 'pending' } },
  { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
  { name: 'by', in: 'query', schema: { type: 'string', enum: [...SEARCH_FIELDS], default: 'id' } },
  { name: 'q', in: 'query', schema: str, description: 'Search term; by id a match redirects to the job page' },
];
const actionParam = (actions: readonly string[]) => ({ name: 'action', in: 'path', required: true, schema: { type: 'string', enum: [...actions] } });
const OPEN_ERRORS = { 404: ERROR_RESPONSES[404], 405: ERROR_RESPONSES[405] };

/**
 * The HTML pages and their form actions: the same reads and actions as /api/, for people. Without
 * the token a browser gets the sign-in form (401); the actions answer with redirects.
 */
function pagePaths(): Record<string, object> {
  const page = (summary: string, parameters: object[] = [], extra: Record<string, object> = {}) => ({ get: { tags: pageTags, security, summary, ...(parameters.length > 0 ? { parameters } : {}), responses: { 200: html('The page'), ...extra, ...ERROR_RESPONSES } } });
  const form = (summary: string, parameters: object[]) => ({ post: { tags: pageTags, security, summary, parameters, requestBody: formBody, responses: { 303: seeOther, 403: readOnly, ...ERROR_RESPONSES } } });
  const bulk = Object.keys(BULK).join(', ');
  return {
    '/': page('Overview: every queue\'s counts, pause state, latency, serving supervisors; the last hour as charts'),
    '/queues/{queue}': page('A queue\'s jobs in one state (25 a page, newest first where it applies), search, pause, resume, bulk actions', listParams, { 303: { description: 'A search by id that found the job: to its page' }, 400: html('A bad parameter') }),
    '/queues/{queue}/jobs/{id}': page('One job: fields, timeline of attempts with errors, data, result, metadata, actions', [queueParam, idParam]),
    '/queues/{queue}/confirm/{action}': page(`The question that states the count, before a bulk action (${bulk})`, [queueParam, actionParam(Object.keys(BULK))], { 403: readOnly }),
    '/queues/{queue}/jobs/{id}/confirm/{action}': page('The question before a destructive job action (cancel, delete)', [queueParam, idParam, actionParam(Object.keys(JOB_CONFIRM))], { 403: readOnly }),
    '/queues/{queue}/actions/{action}': form('A queue action from a page\'s button (same rules as /api/queues/{queue}/actions/{action})', [queueParam, actionParam(QUEUE_ACTIONS)]),
    '/queues/{queue}/jobs/{id}/actions/{action}': form('A job action from a page\'s button', [queueParam, idParam, actionParam(JOB_ACTIONS)]),
    '/supervisors': page('The supervisors: threads busy/live, jobs in flight, RSS, heartbeat, stale flag'),
    '/schedules': page('Schedules with next fires and last fire; pause, resume, run now'),
    '/schedules/{name}/actions/{action}': form('A schedule action from the Schedules page', [{ name: 'name', in: 'path', required: true, schema: str }, actionParam(SCHEDULE_ACTIONS)]),
    '/charts': page('Metrics: per queue and processor, runs and wait/run p50/p99 per minute over the last hour; dead-job growth'),
    '/login': {
      get: { tags: pageTags, summary: 'The sign-in form (only when a token is set)', parameters: [{ name: 'next', in: 'query', schema: str }], responses: { 200: html('The form'), ...OPEN_ERRORS } },
      post: {
        tags: pageTags, summary: 'Sign in: sets the session cookie (HttpOnly, SameSite=Strict, a SHA-256 of the token) and redirects to next',
        requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: obj({ token: str, next: str }, ['token']) } } },
        responses: { 303: { description: 'Signed in: to next' }, 401: html('Not the token: the form again'), 403: readOnly, ...OPEN_ERRORS },
      },
    },
    '/assets/dashboard.css': { get: { tags: pageTags, summary: 'The pages\' style sheet (open)', responses: { 200: { description: 'CSS', content: { 'text/css': { schema: str } } }, ...OPEN_ERRORS } } },
    '/assets/dashboard.js': { get: { tags: pageTags, summary: 'The pages\' script: refreshes <main> in place (open)', responses: { 200: { description: 'JavaScript', content: { 'text/javascript': { schema: str } } }, ...OPEN_ERRORS } } },
  };
}
