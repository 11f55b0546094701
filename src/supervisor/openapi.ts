/** The HTTP endpoint described for tools (served at /openapi.json). Kept next to http.ts's routes. */
import { emptySummary } from '../metrics/latency.js';

const summary = {
  type: 'object',
  description: 'Latency in milliseconds (HDR histogram, 3 significant digits): count, mean, p50, p90, p95, p99, p999, max; all 0 when count is 0',
  // The fields of the summary itself, so the description cannot fall behind it.
  properties: Object.fromEntries(Object.keys(emptySummary()).map((k) => [k, { type: 'number' }])),
};

const check = {
  type: 'object',
  required: ['ok', 'detail'],
  properties: { ok: { type: 'boolean' }, detail: { type: 'string' } },
};

const health = {
  type: 'object',
  required: ['status', 'reasons', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ok', 'unhealthy'] },
    reasons: { type: 'array', items: { type: 'string' }, description: 'One sentence per failed check' },
    checks: {
      type: 'object',
      properties: {
        eventLoop: { ...check, properties: { ...check.properties, lagMs: { type: 'number' } } },
        redis: { ...check, properties: { ...check.properties, latencyMs: { type: 'number' } } },
        pool: { ...check, properties: { ...check.properties, threads: { type: 'integer' } } },
      },
    },
    shuttingDown: { type: 'boolean', description: '/ready only' },
  },
};

const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });

const error = { type: 'object', required: ['error'], properties: { error: { type: 'string', description: 'What went wrong and how to fix it' } } };
/** The responses every path may give besides its own. */
export const ERROR_RESPONSES = {
  401: json(error, 'The token is missing or wrong (only when --http-token is set): send `Authorization: Bearer <token>`'),
  404: json(error, 'No such endpoint, queue, job or schedule'),
  405: json(error, 'Wrong method: reads take GET, actions take POST'),
};
const OPEN_ERRORS = { 404: ERROR_RESPONSES[404], 405: ERROR_RESPONSES[405] };

export interface DocumentOptions {
  /** `troupe dashboard`: the dashboard's API and the description, without a supervisor's endpoints. */
  standalone?: boolean;
}

/** The description's own paths, open on every server. */
const DESCRIPTION_PATHS = {
  '/openapi.json': { get: { summary: 'This document', responses: { 200: json({ type: 'object' }, 'OpenAPI 3.0 document'), ...OPEN_ERRORS } } },
  '/openapi.yaml': { get: { summary: 'This document as YAML', responses: { 200: { description: 'OpenAPI 3.0 document', content: { 'application/yaml': { schema: { type: 'string' } } } }, ...OPEN_ERRORS } } },
  '/docs': { get: { summary: 'This document rendered for people (HTML; the renderer ships in the package)', responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } }, ...OPEN_ERRORS } } },
};

/** `extra`: path items of the routes served beside the supervisor's (the dashboard's JSON API). */
export function openApiDocument(version: string, extra: Record<string, object> = {}, options: DocumentOptions = {}): object {
  const dashboard = Object.keys(extra).length > 0 ? ' The dashboard\'s JSON API is under /api/ (docs/dashboard.md).' : '';
  const info = options.standalone
    ? { title: 'Troupe dashboard', version, description: 'The JSON API of `troupe dashboard` (under /api/): the same reads and actions as its pages (docs/dashboard.md).' }
    : { title: 'Troupe supervisor', version, description: `One supervisor's metrics, health and state. Cluster-wide latency is \`troupe stats\` (merged HDR histograms in Redis).${dashboard}` };
  const document = supervisorDocument(version, extra) as { paths: Record<string, object> };
  if (options.standalone) document.paths = { ...extra, ...DESCRIPTION_PATHS };
  return { ...document, info };
}

function supervisorDocument(version: string, extra: Record<string, object>): object {
  return {
    openapi: '3.0.3',
    info: { title: 'Troupe supervisor', version },
    components: {
      securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'The value of --http-token; needed only when one is set' } },
    },
    paths: {
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          description: 'Counters, rates, latency histograms (since start) and summaries (last 1-2 minutes), queue depths per state. Open: no token needed.',
          responses: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...OPEN_ERRORS },
        },
      },
      '/health': {
        get: {
          summary: 'Liveness: event loop responsive, Redis reachable, thread pool alive',
          description: 'Open: no token needed.',
          responses: { 200: json(health, 'Healthy'), 503: json(health, 'Unhealthy; `reasons` says why'), ...OPEN_ERRORS },
        },
      },
      '/ready': {
        get: {
          summary: 'Readiness: healthy and not shutting down',
          description: 'Open: no token needed.',
          responses: { 200: json(health, 'Ready'), 503: json(health, 'Not ready; `reasons` says why'), ...OPEN_ERRORS },
        },
      },
      '/status': {
        get: {
          summary: 'Supervisor, threads, in-flight jobs with ages, queues',
          description: 'Needs the token when --http-token is set.',
          security: [{ token: [] }],
          responses: {
            ...ERROR_RESPONSES,
            200: json(
              {
                type: 'object',
                required: ['supervisor', 'threads', 'inFlight', 'queues'],
                properties: {
                  supervisor: {
                    type: 'object',
                    properties: {
                      id: { type: 'string' }, host: { type: 'string' }, pid: { type: 'integer' }, startedAt: { type: 'integer' },
                      uptimeSeconds: { type: 'number' }, queues: { type: 'array', items: { type: 'string' } }, shuttingDown: { type: 'boolean' },
                    },
                  },
                  threads: { type: 'object', properties: Object.fromEntries(['total', 'busy', 'idle', 'restarts'].map((k) => [k, { type: 'integer' }])) },
                  inFlight: {
                    type: 'object',
                    properties: {
                      count: { type: 'integer' },
                      jobs: {
                        type: 'array',
                        description: 'Oldest first, at most 100',
                        items: {
                          type: 'object',
                          properties: {
                            id: { type: 'string' }, queue: { type: 'string' }, processor: { type: 'string' }, attempt: { type: 'integer' },
                            state: { type: 'string', enum: ['buffered', 'running', 'acking'] }, ageMs: { type: 'number' },
                          },
                        },
                      },
                    },
                  },
                  queues: {
                    type: 'object',
                    additionalProperties: {
                      type: 'object',
                      properties: {
                        depth: { type: 'object', nullable: true, properties: Object.fromEntries(['pending', 'delayed', 'active', 'completed', 'dead'].map((k) => [k, { type: 'integer' }])) },
                        depthAt: { type: 'integer', description: 'When Redis last reported the depth (epoch ms)' },
                        renewalLag: summary,
                        processors: {
                          type: 'object',
                          additionalProperties: {
                            type: 'object',
                            properties: { counts: { type: 'object' }, rates: { type: 'object' }, wait: summary, run: summary, endToEnd: summary },
                          },
                        },
                      },
                    },
                  },
                  stats: { type: 'object', description: "The supervisor's counters since start" },
                  alerts: { type: 'array', items: { type: 'object' }, description: 'Alerts firing now' },
                },
              },
              'A snapshot',
            ),
          },
        },
      },
      ...DESCRIPTION_PATHS,
      ...extra,
    },
  };
}
