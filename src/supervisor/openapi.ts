/** The HTTP endpoint described for tools (served at /openapi.json). Kept next to http.ts's routes. */

const summary = {
  type: 'object',
  description: 'Latency in milliseconds (HDR histogram, 3 significant digits); all 0 when count is 0',
  properties: Object.fromEntries(['count', 'p50', 'p90', 'p99', 'p999', 'max'].map((k) => [k, { type: 'number' }])),
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

export function openApiDocument(version: string): object {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Troupe supervisor',
      version,
      description: "One supervisor's metrics, health and state. Cluster-wide latency is `troupe stats` (merged HDR histograms in Redis).",
    },
    paths: {
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          description: 'Counters, rates, latency histograms (since start) and summaries (last 1-2 minutes), queue depths per state.',
          responses: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/health': {
        get: {
          summary: 'Liveness: event loop responsive, Redis reachable, thread pool alive',
          responses: { 200: json(health, 'Healthy'), 503: json(health, 'Unhealthy; `reasons` says why') },
        },
      },
      '/ready': {
        get: {
          summary: 'Readiness: healthy and not shutting down',
          responses: { 200: json(health, 'Ready'), 503: json(health, 'Not ready; `reasons` says why') },
        },
      },
      '/status': {
        get: {
          summary: 'Supervisor, threads, in-flight jobs with ages, queues',
          responses: {
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
      '/openapi.json': { get: { summary: 'This document', responses: { 200: json({ type: 'object' }, 'OpenAPI 3.0 document') } } },
    },
  };
}
