/**
 * The deployment recipes under deploy/ against the code they start: the systemd unit verified by
 * systemd-analyze, the alert rules and scrape config by promtool (when installed), and every
 * manifest parsed, its probe paths, port and flags matched against the supervisor's routes and
 * settings. Not run here: `docker build` (no Docker daemon) and `kubectl apply` (no cluster).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { flagName } from '../src/cli/config-args.js';
import { JobMetrics } from '../src/metrics/job-metrics.js';
import { renderPrometheus } from '../src/metrics/prometheus.js';
import { FETCH_CAP_ENV, FETCH_ENV } from '../src/processors/fetch/options.js';
import { HTTP_EXECUTORS_ENV } from '../src/processors/http-executor/guard.js';
import { PDF_ENV } from '../src/processors/pdf/options.js';
import { CONFIG_KEYS, defaultConfig, resolveConfig, type ConfigKey } from '../src/supervisor/config.js';
import { OPEN_PATHS } from '../src/supervisor/http.js';
import { parseYamlDocuments } from './helpers/mini-yaml.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const DEFAULTS = defaultConfig();

/** Every flag `troupe supervise` takes: --config and one per setting (booleans also as --no-...). */
const SUPERVISE_FLAGS = new Set(['config', ...Object.keys(CONFIG_KEYS).map((k) => flagName(k as ConfigKey))]);
for (const [key, spec] of Object.entries(CONFIG_KEYS)) if (spec.kind === 'boolean') SUPERVISE_FLAGS.add(`no-${flagName(key as ConfigKey)}`);

/** Every TROUPE_* variable the code reads. */
const KNOWN_ENV = new Set<string>(['TROUPE_CONFIG', HTTP_EXECUTORS_ENV, ...Object.values(FETCH_ENV), ...Object.values(FETCH_CAP_ENV), ...Object.values(PDF_ENV)]);
for (const spec of Object.values(CONFIG_KEYS)) for (const env of spec.env) KNOWN_ENV.add(env);

/** The flags of a `supervise` argument list, checked and turned into settings the way the CLI resolves them. */
function checkSuperviseArgs(args: string[], where: string): Record<string, string> {
  assert.equal(args[0], 'supervise', `${where}: runs troupe supervise`);
  const values: Record<string, string> = {};
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    assert.ok(arg.startsWith('--'), `${where}: ${arg} is not a flag (a value without its flag?)`);
    const name = arg.slice(2).split('=')[0]!;
    assert.ok(SUPERVISE_FLAGS.has(name), `${where}: --${name} is not a flag of troupe supervise`);
    const boolean = name.startsWith('no-') || CONFIG_KEYS[camel(name)]?.kind === 'boolean';
    if (!boolean && !arg.includes('=')) values[name] = args[++i]!;
  }
  return values;
}

function camel(flag: string): ConfigKey {
  return (flag === 'plugin' ? 'plugins' : flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())) as ConfigKey;
}

function exposition(): Set<string> {
  const metrics = new JobMetrics();
  const s = metrics.series('q', 'p');
  s.wait.record(1000);
  metrics.queue('q').renewalLag.record(500);
  const text = renderPrometheus({
    metrics,
    depths: new Map([['q', { pending: 1, delayed: 0, active: 0, completed: 0, dead: 0 }]]),
    supervisor: { id: 's', host: 'h', startedAt: 0, threads: { busy: 0, idle: 1 }, inFlight: { buffered: 0, running: 0, acking: 0 }, eventLoopLagMs: 0 },
    alerts: [{ alert: 'queueDepth', queue: 'q', processor: '', firing: true }],
  });
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

describe('Dockerfile', () => {
  // Continuation lines joined, as Docker reads them.
  const dockerfile = read('deploy/Dockerfile').replace(/\\\n\s*/g, ' ');
  const instruction = (name: string): string[] => [...dockerfile.matchAll(new RegExp(`^${name} (.+)$`, 'gm'))].map((m) => m[1]!);

  test('multi-stage, non-root, production dependencies only', () => {
    assert.equal(instruction('FROM').length, 2, 'a build stage and a runtime stage');
    assert.match(dockerfile, /RUN npm ci --omit=dev/);
    const user = instruction('USER');
    assert.equal(user.length, 1);
    assert.notEqual(user[0], 'root');
    assert.ok(dockerfile.indexOf('USER node') > dockerfile.lastIndexOf('FROM '), 'the runtime stage runs as node');
  });

  test('the entry point is the bin in exec form, and the command is supervise', () => {
    const entry = JSON.parse(instruction('ENTRYPOINT')[0]!) as string[];
    assert.deepEqual(entry, ['node', '/app/bin/troupe.js'], 'exec form: SIGTERM reaches node, not a shell');
    assert.ok(existsSync(join(ROOT, 'bin/troupe.js')), 'the bin exists');
    assert.match(dockerfile, /^COPY bin \.\/bin$/m);
    checkSuperviseArgs(JSON.parse(instruction('CMD')[0]!) as string[], 'Dockerfile CMD');
  });

  test('HEALTHCHECK asks /health on the default port; EXPOSE is that port', () => {
    const check = instruction('HEALTHCHECK')[0]!;
    assert.match(check, /\/health/);
    assert.ok(OPEN_PATHS.has('/health'), '/health is served without a token');
    assert.match(dockerfile, new RegExp(`process\\.env\\.TROUPE_HTTP_PORT \\|\\| ${DEFAULTS.httpPort}`));
    assert.ok(CONFIG_KEYS.httpPort.env.includes('TROUPE_HTTP_PORT'));
    assert.deepEqual(instruction('EXPOSE'), [String(DEFAULTS.httpPort)]);
  });

  test('every path it copies from the build context exists and is not ignored', () => {
    const ignored = read('deploy/Dockerfile.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const [, from] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const path of from!.split(' ')) {
        assert.ok(existsSync(join(ROOT, path)), `COPY ${path}: exists`);
        assert.ok(!ignored.includes(path), `COPY ${path}: not in Dockerfile.dockerignore`);
      }
    }
  });
});

describe('systemd unit', () => {
  const unit = read('deploy/systemd/troupe.service');
  const setting = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];

  test('stop and restart settings match the code', () => {
    assert.equal(setting('Type'), 'simple', 'Troupe does not send sd_notify');
    assert.equal(setting('KillSignal'), 'SIGTERM');
    assert.equal(setting('Restart'), 'on-failure');
    assert.ok(Number(setting('TimeoutStopSec')) * 1000 > DEFAULTS.shutdownTimeoutMs, 'TimeoutStopSec above the default --shutdown-timeout-ms');
    assert.equal(setting('RestartPreventExitStatus'), '2', 'a configuration error (exit 2) is not restarted');
    assert.equal(setting('NoNewPrivileges'), 'yes');
    assert.equal(setting('ProtectSystem'), 'strict');
    assert.equal(setting('MemoryDenyWriteExecute'), undefined, "V8's JIT needs W+X memory");
  });

  test('ExecStart runs the bin with flags troupe supervise has; the config file it names resolves', () => {
    const exec = setting('ExecStart')!.split(/\s+/);
    assert.equal(exec[1], '/opt/troupe/bin/troupe.js');
    const flags = checkSuperviseArgs(exec.slice(2), 'ExecStart');
    assert.equal(flags.config, '/etc/troupe/troupe.json');
    const file = JSON.parse(read('deploy/systemd/troupe.json')) as Record<string, unknown>;
    const env = read('deploy/systemd/troupe.env.example');
    const token = /^TROUPE_HTTP_TOKEN=(.*)$/m.exec(env)![1]!;
    const { config } = resolveConfig([
      { source: 'file', values: file, describe: () => 'troupe.json' },
      { source: 'env', values: { httpToken: token }, describe: () => 'TROUPE_HTTP_TOKEN' },
    ]);
    assert.ok(config.shutdownTimeoutMs < Number(setting('TimeoutStopSec')) * 1000, 'TimeoutStopSec above the shutdown timeout the file sets');
    for (const name of env.matchAll(/^(TROUPE_\w+)=/gm)) assert.ok(KNOWN_ENV.has(name[1]!), `${name[1]} is read by the code`);
  });

  test('systemd-analyze verify passes', (t) => {
    if (!hasTool('systemd-analyze')) return t.skip('systemd-analyze is not installed');
    // verify checks that ExecStart's program exists: point it at this node and this checkout.
    const dir = mkdtempSync(join(tmpdir(), 'troupe-unit-'));
    try {
      const path = join(dir, 'troupe.service');
      writeFileSync(path, unit.replace('/usr/bin/node /opt/troupe/', `${process.execPath} ${ROOT}`));
      const run = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stderr.trim(), '', `no warnings: ${run.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Kubernetes Deployment', () => {
  const [deployment] = parseYamlDocuments(read('deploy/kubernetes/troupe.yaml')) as Array<{
    kind: string;
    spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Array<Record<string, unknown>> } } };
  }>;
  const pod = deployment!.spec.template.spec;
  const container = pod.containers[0] as {
    args: string[];
    env: Array<{ name: string }>;
    ports: Array<{ name: string; containerPort: number }>;
    livenessProbe: { httpGet: { path: string; port: string } };
    readinessProbe: { httpGet: { path: string; port: string } };
    startupProbe: { httpGet: { path: string; port: string } };
    resources: { requests: { memory: string }; limits: { memory: string } };
  };

  test('a Deployment whose args are flags of troupe supervise', () => {
    assert.equal(deployment!.kind, 'Deployment');
    const flags = checkSuperviseArgs(container.args, 'args');
    assert.equal(flags['http-host'], '0.0.0.0', 'probes come from outside the pod');
    for (const { name } of container.env) assert.ok(KNOWN_ENV.has(name), `env ${name} is read by the code`);
    assert.ok(container.env.some((e) => e.name === 'TROUPE_HTTP_TOKEN'), 'a token, which HTTP off loopback requires');
  });

  test('probes: liveness /health, readiness /ready, on the port the supervisor serves, paths open without the token', () => {
    const port = Number(checkSuperviseArgs(container.args, 'args')['http-port'] ?? DEFAULTS.httpPort);
    const named = container.ports.find((p) => p.name === container.livenessProbe.httpGet.port);
    assert.equal(named?.containerPort, port);
    assert.equal(container.livenessProbe.httpGet.path, '/health');
    assert.equal(container.startupProbe.httpGet.path, '/health');
    assert.equal(container.readinessProbe.httpGet.path, '/ready');
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      assert.ok(OPEN_PATHS.has(probe.httpGet.path), `${probe.httpGet.path} is served without a token`);
      assert.equal(probe.httpGet.port, named!.name);
    }
  });

  test('the grace period is above the shutdown timeout; memory is at least the measured busy RSS', () => {
    const flags = checkSuperviseArgs(container.args, 'args');
    const shutdownMs = Number(flags['shutdown-timeout-ms'] ?? DEFAULTS.shutdownTimeoutMs);
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > shutdownMs);
    const mib = (q: string): number => Number(/^(\d+)Mi$/.exec(q)![1]);
    // Measured (docs/operations.md, Sizing): 118 MiB with 1 thread, about 15 MiB more per idle
    // thread, 133 MiB idle and 211 MiB at the busiest with 2. The limit must also hold each
    // thread's heap up to its cap.
    const threads = Number(flags.threads);
    const heapCap = Number(flags['max-memory-mb'] ?? DEFAULTS.maxMemoryMb);
    assert.ok(mib(container.resources.limits.memory) >= 118 + threads * (15 + heapCap), 'the limit holds every thread at its heap cap');
    assert.ok(mib(container.resources.limits.memory) >= 211);
    assert.ok(mib(container.resources.requests.memory) >= 133, 'the request covers the idle RSS');
    assert.equal(flags.threads, '2', 'the figures were measured with 2 threads');
  });
});

describe('Prometheus', () => {
  const exported = exposition();
  const rulesText = read('deploy/prometheus/troupe-rules.yml');

  test('every metric the rules use is one a supervisor exports', () => {
    const [doc] = parseYamlDocuments(rulesText) as Array<{ groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }>;
    const rules = doc!.groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 10);
    const used = new Set<string>();
    for (const rule of rules) for (const [name] of rule.expr.matchAll(/troupe_[a-z0-9_]+/g)) used.add(name);
    assert.ok(used.size >= 8, [...used].join(', '));
    for (const name of used) assert.ok(exported.has(name), `rule uses ${name}, which /metrics does not export`);
  });

  test('the scrape configs target the supervisor port and path', () => {
    const [staticConfig] = parseYamlDocuments(read('deploy/prometheus/prometheus.yml')) as Array<{ scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }> }>;
    const job = staticConfig!.scrape_configs[0]!;
    assert.equal(job.metrics_path, '/metrics');
    assert.ok(OPEN_PATHS.has('/metrics'));
    assert.ok(job.static_configs[0]!.targets.every((t) => t.endsWith(`:${DEFAULTS.httpPort}`)));
    const [k8s] = parseYamlDocuments(read('deploy/prometheus/prometheus-kubernetes.yml')) as Array<{ scrape_configs: Array<{ relabel_configs: Array<{ regex?: string; source_labels?: string[] }> }> }>;
    const keep = k8s!.scrape_configs[0]!.relabel_configs;
    assert.ok(keep.some((r) => r.source_labels?.[0] === '__meta_kubernetes_pod_container_port_name' && r.regex === 'metrics'), 'scrapes the port the Deployment names "metrics"');
    assert.ok(keep.some((r) => r.source_labels?.[0] === '__meta_kubernetes_pod_label_app_kubernetes_io_name' && r.regex === 'troupe'));
  });

  test('promtool check rules and check config pass', (t) => {
    if (!hasTool('promtool')) return t.skip('promtool is not installed (Debian: apt-get install prometheus)');
    execFileSync('promtool', ['check', 'rules', join(ROOT, 'deploy/prometheus/troupe-rules.yml')], { stdio: 'pipe', timeout: 30_000 });
    execFileSync('promtool', ['check', 'config', join(ROOT, 'deploy/prometheus/prometheus.yml')], { stdio: 'pipe', timeout: 30_000 });
  });
});

describe('mini-yaml reads what it claims and refuses the rest', () => {
  test('the subset', () => {
    const [doc] = parseYamlDocuments('a: 1\nb:\n- x\n- "y z"\nc:\n  d: [1, two]\n  e: |\n    line 1\n    line 2\nf:\n  - g: true\n    h: null\n# comment\n');
    assert.deepEqual(doc, { a: 1, b: ['x', 'y z'], c: { d: [1, 'two'], e: 'line 1\nline 2\n' }, f: [{ g: true, h: null }] });
    assert.throws(() => parseYamlDocuments('a: &x 1\n'), /anchor/);
    assert.throws(() => parseYamlDocuments('a: b\n  c\n'), /more indented/);
  });
});
