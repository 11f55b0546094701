import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { benchRunner } from '../src/cli/commands/bench.js';
import { PROJECT_DIR, runCli } from './helpers/supervisor-process.js';
import {
  chartFileName,
  gatherTargets,
  renderResultMarkdown,
  renderResultText,
  renderSummaryJson,
  renderSummaryMarkdown,
  writeReport,
  writeSummary,
  type BenchResult,
  type SuiteRun,
} from '../bench/lib/report.js';
import { renderMarkdown, renderText, type Table } from '../bench/lib/table.js';

const table = (title: string, rows: string[][], headers = ['system', 'jobs/s']): Table => ({ title, headers, rows });

const cpu: BenchResult = {
  name: 'cpu',
  title: 'CPU-bound jobs',
  about: ['5 ms jobs', '3 rounds'],
  tables: [table('CPU jobs/s', [['Troupe', '380'], ['Piscina', '390']])],
  detailTables: [table('CPU detail', [['work', '4.9 ms']])],
  targets: [{ target: 'CPU jobs vs raw Piscina', goal: '>= 95%', measured: '97.4%', met: true }],
  charts: [{ file: 'throughput', chart: { kind: 'line', title: 'jobs/s by threads', xLabel: 'threads', yLabel: 'jobs/s', series: [{ name: 'Troupe', points: [[1, 190], [2, 380]] }] } }],
};

const e2e: BenchResult = {
  name: 'end-to-end',
  title: 'Tiny jobs end to end',
  about: ['2 rounds'],
  tables: [table('Drain', [['Troupe', '27,310'], ['BullMQ | sandboxed', '3,370']])],
  targets: [
    { target: 'tiny jobs vs BullMQ sandboxed', goal: '>= 5x', measured: '8.10x', met: true },
    { target: 'Redis commands per job', goal: '<= 0.1', measured: '0.25 | client-sent', met: false },
  ],
  charts: [
    { file: 'throughput', chart: { kind: 'bar', title: 'No-op jobs [median]', xLabel: 'system', yLabel: 'jobs/s', categories: ['a'], series: [{ name: 's', points: [[0, 1]] }] } },
    { file: 'Per Thread (2)', chart: { kind: 'line', title: 'second', xLabel: 'x', yLabel: 'y', series: [] } },
  ],
};

const queueOps: BenchResult = { name: 'queue-ops', title: 'Queue operations', about: [], tables: [table('Enqueue', [['Troupe', '50,000']])] };

function suite(results: BenchResult[], over: Partial<SuiteRun> = {}): SuiteRun {
  return {
    machine: {
      node: 'v20.11.0',
      redisVersion: '7.0.15',
      redisBinary: '/usr/bin/redis-server',
      cpuModel: 'Test CPU @ 2.00GHz',
      cpuCount: 2,
      loadStart: [0.5, 0.25, 0.125],
      loadEnd: [1.5, 1, 0.75],
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:30:00.000Z',
      commit: 'abc1234+dirty',
    },
    quick: false,
    known: ['end-to-end', 'cpu', 'latency', 'processors', 'resources', 'queue-ops'],
    selected: results.map((r) => r.name),
    results,
    failures: [],
    ...over,
  };
}

/** Markdown tables in a document: each a header row, an alignment row and body rows, every row with the same cell count. */
function markdownTables(md: string): Array<{ heading: string; header: string[]; rows: string[][] }> {
  const lines = md.split('\n');
  const tables: Array<{ heading: string; header: string[]; rows: string[][] }> = [];
  // Split on pipes not preceded by a backslash; the escaped ones are cell content.
  const cells = (line: string) => line.slice(2, -2).split(/(?<!\\) \| /);
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) heading = line;
    if (!line.startsWith('|')) continue;
    assert.ok(line.endsWith(' |'), `row does not close: ${line}`);
    const header = cells(line);
    const align = cells(lines[i + 1] ?? '');
    assert.ok(align.every((a) => /^:?---+:?$/.test(a)), `no alignment row under ${line}`);
    assert.equal(align.length, header.length, `alignment row width under ${line}`);
    assert.equal(lines[i - 1], '', `no blank line before the table under ${heading}`);
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.startsWith('|'); j++) {
      assert.ok(lines[j]!.endsWith(' |'), `row does not close: ${lines[j]}`);
      const row = cells(lines[j]!);
      assert.equal(row.length, header.length, `row width in "${heading}": ${lines[j]}`);
      rows.push(row);
    }
    tables.push({ heading, header, rows });
    i = j - 1;
  }
  return tables;
}

const headings = (md: string, level: number) => md.split('\n').filter((l) => l.startsWith(`${'#'.repeat(level)} `)).map((l) => l.slice(level + 1));

describe('targets', () => {
  test('gathered from every bench in run order, each tagged with its bench', () => {
    const gathered = gatherTargets([e2e, queueOps, cpu]);
    assert.deepEqual(gathered.map((t) => [t.bench, t.target, t.met]), [
      ['end-to-end', 'tiny jobs vs BullMQ sandboxed', true],
      ['end-to-end', 'Redis commands per job', false],
      ['cpu', 'CPU jobs vs raw Piscina', true],
    ]);
  });

  test('the summary table marks each target ✓ or ✗ and counts the met ones', () => {
    const md = renderSummaryMarkdown(suite([e2e, cpu]));
    const [targets] = markdownTables(md.slice(md.indexOf('## Targets')));
    assert.equal(targets!.heading, '### 2 of 3 met');
    assert.deepEqual(targets!.header, ['bench', 'target', 'goal', 'measured', 'met']);
    assert.deepEqual(
      targets!.rows.map((r) => [r[0], r[4]]),
      [['end-to-end', '✓'], ['end-to-end', '✗'], ['cpu', '✓']],
    );
    // A pipe in a measured value is escaped, not a column break.
    assert.equal(targets!.rows[1]![3], '0.25 \\| client-sent');
  });

  test('no targets at all: said in words, no empty table', () => {
    const md = renderSummaryMarkdown(suite([queueOps]));
    assert.match(md, /## Targets\n\nNo bench in this run reports targets\./);
    assert.equal(markdownTables(md).length, 1);
  });
});

describe('summary README', () => {
  test('starts with the machine: node, Redis, CPU, load at start and end, date, commit', () => {
    const md = renderSummaryMarkdown(suite([cpu]));
    const machine = md.slice(0, md.indexOf('## Targets'));
    assert.ok(md.startsWith('# Bench results\n'));
    for (const expected of [
      'v20.11.0',
      'Redis 7.0.15 (INFO server of /usr/bin/redis-server)',
      '2 × Test CPU @ 2.00GHz',
      '0.50 / 0.25 / 0.13 at the start, 1.50 / 1.00 / 0.75 at the end',
      '2026-01-01T00:00:00.000Z to 2026-01-01T00:30:00.000Z',
      'abc1234+dirty',
      'Mode: full',
    ]) {
      assert.ok(machine.includes(expected), `missing ${expected}`);
    }
  });

  test('sections in run order after the targets, each with its about lines, tables and a link to its full report', () => {
    const run = suite([cpu, e2e, queueOps], { selected: ['end-to-end', 'cpu', 'queue-ops'] });
    const md = renderSummaryMarkdown(run);
    assert.deepEqual(headings(md, 2), ['Machine and run', 'Targets', 'Tiny jobs end to end', 'CPU-bound jobs', 'Queue operations']);
    const cpuSection = md.slice(md.indexOf('## CPU-bound jobs'), md.indexOf('## Queue operations'));
    assert.ok(cpuSection.includes('[cpu.md](cpu.md)'));
    assert.ok(cpuSection.includes('- 5 ms jobs\n- 3 rounds'));
    assert.deepEqual(markdownTables(cpuSection).map((t) => t.heading), ['### CPU jobs/s']);
    // Detail tables stay in the bench's own file.
    assert.ok(!md.includes('CPU detail'));
    assert.ok(renderResultMarkdown(cpu).includes('## CPU detail'));
  });

  test('charts are embedded by relative link to the file run.ts writes', () => {
    const md = renderSummaryMarkdown(suite([cpu, e2e]));
    const links = [...md.matchAll(/!\[([^\n]*?)\]\(([^)]+)\)/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(links, [
      ['jobs/s by threads', 'cpu-throughput.svg'],
      ['No-op jobs \\[median\\]', 'end-to-end-throughput.svg'],
      ['second', 'end-to-end-per-thread-2.svg'],
    ]);
    assert.equal(chartFileName(e2e, 'Per Thread (2)'), 'end-to-end-per-thread-2.svg');
  });

  test('says which benches ran, and that the others in the folder are older', () => {
    const md = renderSummaryMarkdown(suite([queueOps], { quick: true }));
    assert.match(md, /Benches in this run: queue-ops\. Not run: end-to-end, cpu, latency, processors, resources \(/);
    assert.match(md, /Mode: quick/);
    const all = renderSummaryMarkdown(suite([cpu], { known: ['cpu'] }));
    assert.match(all, /Benches in this run: cpu\n/);
  });

  test('a failed bench is listed with the first line of its error, and has no section', () => {
    const md = renderSummaryMarkdown(suite([cpu], { selected: ['end-to-end', 'cpu'], failures: [{ name: 'end-to-end', error: 'Error: boom\n    at x (y.ts:1:1)' }] }));
    assert.match(md, /## Failed benches\n\n- \*\*end-to-end\*\*: Error: boom\n/);
    assert.ok(!md.includes('at x (y.ts'));
    assert.deepEqual(headings(md, 2), ['Machine and run', 'Targets', 'Failed benches', 'CPU-bound jobs']);
  });

  test('every table in the summary and the bench files is well-formed', () => {
    const ragged: BenchResult = { ...queueOps, tables: [{ title: 'Ragged\nrows', headers: ['a', 'b', 'c'], rows: [['1'], ['1', '2', '3', '4'], ['multi\nline', 'x|y', '']] }] };
    for (const md of [renderSummaryMarkdown(suite([cpu, e2e, ragged])), renderResultMarkdown(e2e), renderResultMarkdown(ragged)]) {
      const tables = markdownTables(md);
      assert.ok(tables.length > 0);
    }
    const [t] = markdownTables(renderResultMarkdown(ragged));
    assert.equal(t!.heading, '## Ragged rows');
    assert.deepEqual(t!.header, ['a', 'b', 'c', '']);
    assert.deepEqual(t!.rows, [['1', '', '', ''], ['1', '2', '3', '4'], ['multi line', 'x\\|y', '', '']]);
  });
});

describe('text output and files', () => {
  test('the text report prints the bench\'s targets under its tables, aligned', () => {
    const text = renderResultText(e2e);
    assert.ok(text.indexOf('Drain') < text.indexOf('Targets: 1 of 2 met'));
    assert.match(text, /tiny jobs vs BullMQ sandboxed\s+>= 5x\s+8\.10x\s+✓/);
    const lines = renderText(table('t', [['a', '1'], ['long name', '12345']])).split('\n');
    assert.equal(new Set(lines.slice(1, 5).map((l) => l.length)).size, 1);
  });

  test('results.json holds the raw results; NaN becomes null', () => {
    const withNaN: BenchResult = { ...cpu, charts: [{ file: 'x', chart: { ...cpu.charts![0]!.chart, series: [{ name: 's', points: [[1, Number.NaN]] }] } }] };
    const parsed = JSON.parse(renderSummaryJson(suite([withNaN, e2e]))) as { machine: { commit: string }; results: BenchResult[] };
    assert.equal(parsed.machine.commit, 'abc1234+dirty');
    assert.deepEqual(parsed.results.map((r) => r.name), ['cpu', 'end-to-end']);
    assert.deepEqual(parsed.results[1], JSON.parse(JSON.stringify(e2e)));
    assert.deepEqual(parsed.results[0]!.charts![0]!.chart.series[0]!.points, [[1, null]]);
  });

  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-report-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('writeReport and writeSummary write the files the README links to', () => {
    writeReport(dir, cpu);
    writeReport(dir, e2e);
    writeSummary(dir, suite([cpu, e2e]));
    assert.deepEqual(readdirSync(dir).sort(), [
      'README.md',
      'cpu-throughput.svg',
      'cpu.md',
      'end-to-end-per-thread-2.svg',
      'end-to-end-throughput.svg',
      'end-to-end.md',
      'results.json',
    ]);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    for (const [, target] of readme.matchAll(/\]\(([^)]+)\)/g)) assert.ok(readdirSync(dir).includes(target!), `${target} is linked but not written`);
    assert.match(readFileSync(join(dir, 'cpu-throughput.svg'), 'utf8'), /^<svg /);
  });
});

test('renderMarkdown puts the title at the heading level asked for', () => {
  assert.ok(renderMarkdown(table('T', [['a', '1']])).startsWith('### T\n\n| system | jobs/s |\n| :--- | ---: |\n| a | 1 |'));
  assert.ok(renderMarkdown(table('T', []), 2).startsWith('## T\n'));
});

describe('bad input to the bench runner', () => {
  test('an unknown bench name exits 2 naming it and the benches there are, before any bench starts', async () => {
    const run = await runCli(['bench', '--quick', '--only', 'cpu,nosuch']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown bench nosuch; pick from: end-to-end, cpu, latency, processors, resources, queue-ops/);
    assert.doesNotMatch(run.stderr, /starting/);
  });

  test('an unknown flag exits 2: troupe bench refuses it, and so does the runner npm run bench starts', async () => {
    const cli = await runCli(['bench', '--rounds', '3']);
    assert.equal(cli.code, 2, cli.stderr);
    assert.match(cli.stderr, /Unknown argument: rounds/);
    const runner = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--rounds', '3'], { cwd: PROJECT_DIR, encoding: 'utf8' });
    assert.equal(runner.status, 2, runner.stderr);
    assert.match(runner.stderr, /Unknown option '--rounds'; the flags are --quick and --only NAMES/);
  });
});

test('troupe bench outside a source checkout says where the suite lives and how to run it', () => {
  const installed = mkdtempSync(join(tmpdir(), 'troupe-installed-'));
  try {
    assert.throws(() => benchRunner(installed), (err: Error) => {
      assert.equal(err.name, 'UsageError');
      assert.match(err.message, /the bench suite is not in this install \(.*bench\/run\.ts is missing\); it runs from a source checkout: git clone the repository, npm ci, then npm run bench/);
      return true;
    });
    assert.equal(benchRunner(PROJECT_DIR), join(PROJECT_DIR, 'bench', 'run.ts'));
  } finally {
    rmSync(installed, { recursive: true, force: true });
  }
});
