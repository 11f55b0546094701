import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { chooseKnee, KNEE_RULE, p99Limit, risingAtEdge, type TuneRow } from '../src/tune/knee.js';
import { tuneSvg } from '../src/tune/chart.js';
import type { Measurement } from '../src/tune/measure.js';
import { defaultSvgPath, pointLabel, prefillFor, rateAfterDryRun, sweep, taskSteps, tuneQueueName, warmupSeconds } from '../src/tune/plan.js';
import { explain, flagsFor, formatReport } from '../src/tune/report.js';
import { combineRounds, roundOrder } from '../src/tune/rounds.js';
import type { TuneResult } from '../src/tune/run.js';
import { TuneInputError } from '../src/tune/input-error.js';
import { checkSampleFits, readSample } from '../src/tune/sample.js';
import { SHARED_REDIS_URL } from './helpers/redis-server.js';
import { PLUGIN_DIR, runCli } from './helpers/supervisor-process.js';

const TMP = mkdtempSync(join(tmpdir(), 'troupe-tune-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(TMP, name);
  writeFileSync(path, content);
  return path;
}

/** A row as the knee rule sees it; latency defaults make throughput the only difference. */
function row(threads: number, tasksPerThread: number, jobsPerSec: number, extra: Partial<TuneRow> = {}): TuneRow {
  return { threads, tasksPerThread, completed: Math.max(1, Math.round(jobsPerSec)), failed: 0, jobsPerSec, p50Ms: 5, p99Ms: 10, ...extra };
}

function kneeOf(rows: TuneRow[]): string {
  const choice = chooseKnee(rows);
  assert.ok(choice.ok, `expected a knee, got ${JSON.stringify(choice)}`);
  return pointLabel(rows[choice.knee]!);
}

describe('knee selection', () => {
  test('a plateau: the first configuration on it, not the maximum a few percent higher', () => {
    const rows = [row(1, 1, 500), row(1, 2, 510), row(1, 4, 505), row(2, 1, 980), row(2, 2, 1000), row(2, 4, 1010), row(3, 1, 1005), row(3, 2, 1012)];
    assert.equal(kneeOf(rows), '2×1');
    const choice = chooseKnee(rows);
    assert.ok(choice.ok);
    assert.equal(pointLabel(rows[choice.best]!), '3×2', 'the best is the highest throughput');
  });

  test('noisy figures: a dip in the middle does not move the knee past the first row within 90%', () => {
    const rows = [row(1, 1, 300), row(1, 2, 610), row(1, 4, 560), row(2, 1, 640), row(2, 2, 590), row(2, 4, 655)];
    // 90% of 655 is 589.5: 1×2 (610) is the cheapest row at or above it.
    assert.equal(kneeOf(rows), '1×2');
  });

  test('the rule\'s numbers are the documented ones (docs/tuning.md): 90%, 1.5x, 1 ms', () => {
    assert.deepEqual({ ...KNEE_RULE }, { throughputShare: 0.9, p99Factor: 1.5, p99SlackMs: 1 });
    assert.equal(kneeOf([row(1, 1, 850), row(2, 1, 1000)]), '2×1', '85% is not enough');
    assert.equal(kneeOf([row(1, 1, 900), row(2, 1, 1000, { p99Ms: 10 })].map((r, i) => (i === 0 ? { ...r, p99Ms: 15.5 } : r))), '2×1', 'a p99 over 1.5x is too much');
  });

  test('exactly the threshold counts; just under it does not', () => {
    const floor = 1000 * KNEE_RULE.throughputShare;
    assert.equal(kneeOf([row(1, 1, floor), row(2, 1, 1000)]), '1×1');
    assert.equal(kneeOf([row(1, 1, floor - 0.01), row(2, 1, 1000)]), '2×1');
  });

  test('a p99 blow-up disqualifies a configuration that is fast enough', () => {
    const rows = [
      row(1, 1, 400, { p99Ms: 20 }),
      row(1, 4, 950, { p99Ms: 400 }), // 95% of the best, but p99 20x the best's
      row(2, 1, 930, { p99Ms: 24 }),
      row(2, 4, 1000, { p99Ms: 20 }),
    ];
    assert.equal(kneeOf(rows), '2×1');
    const choice = chooseKnee(rows);
    assert.ok(choice.ok);
    assert.equal(choice.p99LimitMs, 30, 'the limit is 1.5x the best configuration\'s p99');
  });

  test('sub-millisecond p99s get the absolute slack, not just the factor', () => {
    assert.equal(p99Limit(0.2), 1.2);
    assert.equal(p99Limit(10), 15);
    // 0.9 ms against a best of 0.3 ms: 3x, but within 1 ms, so it is jitter, not a blow-up.
    assert.equal(kneeOf([row(1, 1, 950, { p99Ms: 0.9 }), row(2, 1, 1000, { p99Ms: 0.3 })]), '1×1');
  });

  test('a configuration with failed jobs is never recommended, even the fastest', () => {
    const rows = [row(1, 1, 500), row(2, 1, 990, { failed: 1 }), row(2, 2, 1000, { failed: 3 }), row(2, 4, 700)];
    const choice = chooseKnee(rows);
    assert.ok(choice.ok);
    assert.deepEqual(choice.withFailures, [1, 2]);
    assert.equal(pointLabel(rows[choice.best]!), '2×4', 'the reference is the best clean row');
    assert.equal(pointLabel(rows[choice.knee]!), '2×4');
  });

  test('all jobs failed: no recommendation, and the reason says so', () => {
    const rows = [row(1, 1, 0, { completed: 0, failed: 120 }), row(2, 1, 0, { completed: 0, failed: 300 })];
    const choice = chooseKnee(rows);
    assert.deepEqual(choice, { ok: false, why: 'all-failed', withFailures: [0, 1] });
  });

  test('some failures in every configuration: no recommendation either', () => {
    const choice = chooseKnee([row(1, 1, 100, { failed: 1 }), row(2, 1, 200, { failed: 2 })]);
    assert.equal(choice.ok, false);
    assert.equal(!choice.ok && choice.why, 'every-config-failed');
  });

  test('nothing finished and nothing failed: the window was too short', () => {
    const choice = chooseKnee([row(1, 1, 0, { completed: 0 }), row(2, 1, 0, { completed: 0 })]);
    assert.equal(!choice.ok && choice.why, 'none-finished');
  });

  test('ties go to the cheaper configuration, and row order does not matter', () => {
    const rows = [row(2, 2, 1000), row(1, 4, 1000), row(2, 1, 1000), row(1, 1, 400)];
    assert.equal(kneeOf(rows), '1×4', 'fewest threads first, then fewest tasks');
    const choice = chooseKnee(rows);
    assert.ok(choice.ok);
    assert.equal(pointLabel(rows[choice.best]!), '1×4', 'the best of equals is the cheapest');
  });

  test('the best at the edge of the sweep, still climbing: a wider sweep is suggested for that dimension only', () => {
    const io = [row(1, 1, 50), row(1, 2, 95), row(1, 4, 190), row(2, 1, 95), row(2, 2, 190), row(2, 4, 380)];
    assert.deepEqual(risingAtEdge(io, chooseKnee(io), 2), { threads: false, tasksPerThread: true }, 'threads stop at the cores');
    assert.deepEqual(risingAtEdge(io, chooseKnee(io), 4), { threads: true, tasksPerThread: true }, 'a sweep stopped below the cores');
    const cpu = [row(1, 1, 200), row(1, 2, 200), row(1, 4, 198), row(2, 1, 390), row(2, 2, 395), row(2, 4, 396)];
    assert.deepEqual(risingAtEdge(cpu, chooseKnee(cpu), 2), { threads: false, tasksPerThread: false }, 'tasks flat, threads at the cores');
    assert.deepEqual(risingAtEdge(cpu, chooseKnee(cpu), 8), { threads: true, tasksPerThread: false }, 'tasks flat, threads climbing');
    const peaked = [row(1, 1, 200), row(2, 1, 390), row(3, 1, 380)];
    assert.deepEqual(risingAtEdge(peaked, chooseKnee(peaked), 8), { threads: false, tasksPerThread: false }, 'the best is inside the sweep');
    assert.deepEqual(risingAtEdge([], chooseKnee([]), 2), { threads: false, tasksPerThread: false });
  });

  test('no rows at all: none finished', () => {
    assert.deepEqual(chooseKnee([]), { ok: false, why: 'none-finished', withFailures: [] });
  });
});

describe('the sweep', () => {
  test('tasks per thread double up to the maximum, which is always included', () => {
    assert.deepEqual(taskSteps(1), [1]);
    assert.deepEqual(taskSteps(4), [1, 2, 4]);
    assert.deepEqual(taskSteps(6), [1, 2, 4, 6]);
  });

  test('threads 1..N, each with every tasks step, cheapest first', () => {
    assert.deepEqual(sweep(2, 4).map(pointLabel), ['1×1', '1×2', '1×4', '2×1', '2×2', '2×4']);
  });

  test('warm-up is a fifth of the window, between 0.2 and 1 s', () => {
    assert.equal(warmupSeconds(0.5), 0.2);
    assert.equal(warmupSeconds(3), 0.6);
    assert.equal(warmupSeconds(60), 1);
  });

  test('prefill covers the expected rate, scaled by slots but at most doubled', () => {
    const first = prefillFor({ threads: 1, tasksPerThread: 1 }, [], 5, 1);
    assert.ok(first >= 2000, 'before any measurement, a fixed start');
    const measured = [{ threads: 1, tasksPerThread: 1, jobsPerSec: 1000 }];
    const same = prefillFor({ threads: 1, tasksPerThread: 1 }, measured, 5, 1);
    const quadrupled = prefillFor({ threads: 2, tasksPerThread: 2 }, measured, 5, 1);
    // 1000/s x (1 s start-up + 1 s warm-up + 5 s) x 1.3 = 9100, plus what the supervisor leases ahead.
    assert.equal(same, 9100 + 2 + 256);
    assert.equal(quadrupled, 18_200 + 8 + 256, '4x the slots, but the rate estimate is only doubled');
  });

  test('a dry run reveals at least the prefill consumed over warm-up and window', () => {
    assert.equal(rateAfterDryRun(0, 2000, 0.2, 0.05), 8000);
    assert.equal(rateAfterDryRun(9000, 2000, 0.2, 0.05), 9000);
  });

  test('queue and file names stay valid for any processor name', () => {
    assert.match(tuneQueueName('@acme/resize'), /^troupe-tune\.-acme-resize\.[a-z0-9]+\.[0-9a-f]{6}$/);
    assert.notEqual(tuneQueueName('echo'), tuneQueueName('echo'));
    assert.equal(defaultSvgPath('@acme/resize'), 'troupe-tune--acme-resize.svg');
  });
});

function measurement(threads: number, tasksPerThread: number, jobsPerSec: number, extra: Partial<Measurement> = {}): Measurement {
  return { ...row(threads, tasksPerThread, jobsPerSec), runP50Ms: 1, runP99Ms: 2, windowSeconds: 1, ranDry: false, toppedUp: false, ...extra };
}

function result(rows: Measurement[], extra: Partial<TuneResult> = {}): TuneResult {
  return {
    processor: 'echo',
    sample: { path: 'job.json', kind: 'json', bytes: 10 },
    cores: 2,
    seconds: 1,
    rounds: 1,
    warmupSeconds: 0.2,
    rows,
    choice: chooseKnee(rows),
    stoppedEarly: false,
    ...extra,
  };
}

/** Open and close tags pair up (self-closing ones stand alone): enough to catch a broken nesting. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  for (const [, close, name, self] of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)(?:\s[^<>]*?)?(\/?)>/g)) {
    if (self) continue;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes what was opened`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, [], 'every tag is closed');
}

describe('rounds', () => {
  test('alternate direction, so drift during the run biases neither end', () => {
    assert.deepEqual(roundOrder([1, 2, 3], 0), [1, 2, 3]);
    assert.deepEqual(roundOrder([1, 2, 3], 1), [3, 2, 1]);
    assert.deepEqual(roundOrder([1, 2, 3], 2), [1, 2, 3]);
  });

  test('combine to medians; failures and completions add up; one dry round is reported', () => {
    const point = { threads: 2, tasksPerThread: 1 };
    const combined = combineRounds(point, [
      measurement(2, 1, 900, { p99Ms: 12, completed: 900 }),
      measurement(2, 1, 300, { p99Ms: 80, completed: 300, ranDry: true }), // a disturbed round
      measurement(2, 1, 1000, { p99Ms: 10, completed: 1000, failed: 1 }),
    ]);
    assert.equal(combined.jobsPerSec, 900);
    assert.equal(combined.p99Ms, 12);
    assert.equal(combined.completed, 2200);
    assert.equal(combined.failed, 1, 'a failure in any round disqualifies the configuration');
    assert.equal(combined.ranDry, true);
    assert.equal(combined.windowSeconds, 3);
    assert.equal(combineRounds(point, [measurement(2, 1, 10), measurement(2, 1, 20)]).jobsPerSec, 15, 'an even count averages the middle two');
  });
});

describe('the report', () => {
  const rows = [measurement(1, 1, 500), measurement(1, 2, 520), measurement(2, 1, 980), measurement(2, 2, 1000)];

  test('the table marks the knee and the best row, and the flags name the knee', () => {
    const text = formatReport(result(rows), 'out.svg');
    const lines = text.split('\n');
    const kneeLine = lines.find((l) => l.includes('← knee'));
    assert.match(kneeLine ?? '', /^\s+2\s+1\s+980\b/);
    assert.match(lines.find((l) => l.includes('best jobs/s')) ?? '', /^\s+2\s+2\s+1,000\b/);
    assert.ok(lines.includes('  troupe supervise --threads 2 --tasks-per-thread 1'));
    assert.ok(lines.includes('  TROUPE_THREADS=2 TROUPE_TASKS_PER_THREAD=1 troupe supervise'));
    assert.ok(lines.includes('  config file: {"threads":2,"tasksPerThread":1}'));
    assert.match(text, /Knee: 2 threads × 1 task per thread, because it reaches 98% of the best throughput/);
  });

  test('rows with failures are named, with the last error, and never marked as the knee', () => {
    const mixed = [measurement(1, 1, 500), measurement(2, 1, 990), measurement(2, 2, 1000, { failed: 2 })];
    const text = formatReport(result(mixed, { firstError: 'THREAD_OUT_OF_MEMORY: heap over 512 MiB' }), undefined);
    assert.match(text, /^\s+2\s+2\s+1,000\s.*\s2\s+has failures$/m);
    assert.match(text, /1 configuration had failed jobs and could not be chosen\. Last error: THREAD_OUT_OF_MEMORY: heap over 512 MiB\./);
    assert.match(text, /^\s+2\s+1\s+990\s.*← knee$/m);
  });

  test('flags come in the three forms of the configuration table', () => {
    assert.deepEqual(flagsFor({ threads: 3, tasksPerThread: 4 }), {
      cli: 'troupe supervise --threads 3 --tasks-per-thread 4',
      env: 'TROUPE_THREADS=3 TROUPE_TASKS_PER_THREAD=4',
      config: { threads: 3, tasksPerThread: 4 },
    });
  });

  test('no recommendation: no flags, and the reason carries the error', () => {
    const failed = [measurement(1, 1, 0, { completed: 0, failed: 40 })];
    const text = formatReport(result(failed, { stoppedEarly: true, firstError: 'Error: broken' }), undefined);
    assert.doesNotMatch(text, /troupe supervise --threads/);
    assert.match(text, /No recommendation: every echo job on this sample failed at the first configuration.*Last error: Error: broken\./);
    assert.match(text, /^\s+1\s+1\s+0\.0\s+-\s+-\s+-\s+40\s+has failures$/m, 'no latency is shown as -, not 0');
    assert.match(explain(result([measurement(1, 1, 0, { completed: 0 })])), /Raise --seconds/);
  });

  test('the chart: one well-formed SVG with both charts, their series and the knee ringed', () => {
    const svg = tuneSvg('echo', rows, chooseKnee(rows));
    assert.ok(svg.startsWith('<svg '));
    assertWellFormed(svg);
    assert.equal(svg.match(/<svg /g)?.length, 3, 'an outer SVG holding two charts');
    for (const name of ['jobs/s', 'p50 ms', 'p99 ms', 'knee', '2×1']) assert.ok(svg.includes(`>${name}<`), `the SVG shows ${name}`);
    assert.equal(svg.match(/r="9"/g)?.length, 2, 'the knee is ringed on both charts');
  });
});

describe('the sample', () => {
  test('.json is parsed; anything else is bytes', () => {
    const json = readSample(file('job.json', '{"ms": 3}'));
    assert.deepEqual([json.kind, json.data, json.bytes], ['json', { ms: 3 }, 8]);
    const pdf = readSample(file('doc.pdf', Buffer.from('%PDF-1.4 fake')));
    assert.equal(pdf.kind, 'bytes');
    assert.ok(Buffer.isBuffer(pdf.data));
    assert.equal(pdf.bytes, 13);
  });

  test('missing, unreadable, a directory or bad JSON: a usage error naming the fix', () => {
    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /--sample FILE is required.*\.json file is the job's data/],
      [join(TMP, 'nope.json'), /--sample: cannot read .*nope\.json: ENOENT.*check the path/],
      [TMP, /is a directory/],
      [file('bad.json', '{"ms": '), /ends in \.json but is not valid JSON.*rename it/],
    ];
    for (const [path, message] of cases) {
      assert.throws(() => readSample(path), (err: Error) => err instanceof TuneInputError && message.test(err.message));
    }
  });

  test('a sample the processor refuses is a usage error with the processor\'s own message', () => {
    const sample = readSample(file('cpu.json', '{"seconds": 1}'));
    assert.throws(
      () => checkSampleFits({ name: 'cpu', validate: (input) => ((input as { ms?: unknown }).ms === undefined ? 'cpu: data.ms is required' : undefined) }, sample),
      /--sample: cpu refuses .*cpu\.json \(JSON\): cpu: data\.ms is required/,
    );
    assert.doesNotThrow(() => checkSampleFits({ name: 'noop' }, sample));
  });
});

describe('troupe tune, bad input (exit 2 before any Redis or thread starts)', { concurrency: 6 }, () => {
  const sample = file('echo.json', '{"hello":"world"}');
  // Nothing listens on port 1: an input check that ran after connecting would fail differently.
  const noRedis = ['--redis-url', 'redis://127.0.0.1:1'];
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown processor', ['tune', 'nosuch', '--sample', sample], /unknown processor "nosuch"; known here: noop, echo, .*--plugin/],
    ['no sample', ['tune', 'echo'], /--sample FILE is required/],
    ['unreadable sample', ['tune', 'echo', '--sample', join(TMP, 'missing.json')], /--sample: cannot read .*missing\.json/],
    ['sample with bad JSON', ['tune', 'echo', '--sample', file('broken.json', '{')], /not valid JSON/],
    ['sample the processor refuses', ['tune', 'cpu', '--sample', sample], /--sample: cpu refuses .*cpu: data\.ms must be a whole number/],
    [
      'sample a plugin refuses',
      ['tune', 'greet', '--plugin', join(PLUGIN_DIR, 'greet.mjs'), '--sample', sample],
      /--sample: greet refuses .*greet: data\.who must be a string/,
    ],
    ['--max-threads 0', ['tune', 'echo', '--sample', sample, '--max-threads', '0'], /--max-threads must be a whole number from 1 to 1024, got 0/],
    ['--max-threads abc', ['tune', 'echo', '--sample', sample, '--max-threads', 'abc'], /--max-threads must be a whole number .*not a number/],
    ['--max-tasks-per-thread 1.5', ['tune', 'echo', '--sample', sample, '--max-tasks-per-thread', '1.5'], /--max-tasks-per-thread must be a whole number from 1 to 1000, got 1\.5/],
    ['--seconds 0', ['tune', 'echo', '--sample', sample, '--seconds', '0'], /--seconds must be a number of seconds from 0\.1 to 3600 \(fractions allowed/],
    ['--seconds abc', ['tune', 'echo', '--sample', sample, '--seconds', 'abc'], /--seconds must be .*not a number/],
    ['--rounds 0', ['tune', 'echo', '--sample', sample, '--rounds', '0'], /--rounds must be a whole number from 1 to 100, got 0/],
    ['--threads given', ['tune', 'echo', '--sample', sample, '--threads', '2'], /--threads: troupe tune chooses threads itself; limit the sweep with --max-threads/],
    ['--svg in a missing directory', ['tune', 'echo', '--sample', sample, '--svg', join(TMP, 'no', 'dir', 'x.svg')], /--svg: cannot write the chart to .*x\.svg/],
  ];
  for (const [label, args, message] of cases) {
    test(label, async () => {
      const run = await runCli([...args, ...noRedis]);
      assert.equal(run.code, 2, `exit code for ${label}; stderr: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '', 'nothing on stdout');
    });
  }
});

describe('troupe tune, real runs on the shared Redis', () => {
  const redis = new Redis(SHARED_REDIS_URL);
  after(() => redis.disconnect());

  async function keysOf(stderr: string): Promise<number> {
    const queue = /on queue (\S+)/.exec(stderr)?.[1];
    assert.ok(queue, `stderr names the tune queue: ${stderr}`);
    const keys = await redis.keys(`troupe:{${queue}}:*`);
    return keys.length;
  }

  test('echo at up to 2 threads: six rows, a knee, the flags, the chart, nothing left in Redis', async () => {
    const sample = file('tune-echo.json', '{"hello":"world"}');
    const svgPath = join(TMP, 'echo.svg');
    const run = await runCli(
      ['tune', 'echo', '--sample', sample, '--max-threads', '2', '--seconds', '0.5', '--redis-url', SHARED_REDIS_URL, '--svg', svgPath],
      {},
      180_000,
    );
    assert.equal(run.code, 0, `stderr: ${run.stderr}`);
    const rows = run.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+[\d,.]+\s/.test(l));
    assert.deepEqual(
      rows.map((l) => l.trim().split(/\s+/).slice(0, 2).join('×')),
      ['1×1', '1×2', '1×4', '2×1', '2×2', '2×4'],
    );
    for (const line of rows) assert.match(line, /^\s+\d+\s+\d+\s+[\d,]+(\.\d)?\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0\b/, `a clean row with figures: ${line}`);
    const knees = rows.filter((l) => l.includes('← knee'));
    assert.equal(knees.length, 1, 'exactly one knee');
    const [threads, tasks] = knees[0]!.trim().split(/\s+/);
    assert.match(run.stdout, new RegExp(`^Knee: ${threads} threads? × ${tasks} tasks? per thread, because `, 'm'));
    assert.ok(run.stdout.includes(`  troupe supervise --threads ${threads} --tasks-per-thread ${tasks}\n`), run.stdout);
    assert.ok(run.stdout.includes(`  TROUPE_THREADS=${threads} TROUPE_TASKS_PER_THREAD=${tasks} troupe supervise\n`));
    assert.ok(run.stdout.includes(`Chart: ${svgPath}`));

    assert.ok(existsSync(svgPath), 'the SVG was written');
    const svg = readFileSync(svgPath, 'utf8');
    assert.ok(svg.startsWith('<svg '));
    assertWellFormed(svg);
    for (const name of ['jobs/s', 'p99 ms', 'knee']) assert.ok(svg.includes(`>${name}<`), `the SVG shows ${name}`);
    assert.equal(svg.match(/<circle /g)!.length, 6 * 3 + 2, 'a point per row on each series, and the knee ringed twice');
    assert.equal(await keysOf(run.stderr), 0, 'the tune queue was removed');
  });

  test('a sample that always fails: no recommendation, exit 1, JSON says why', async () => {
    const sample = file('tune-fail.json', '{"mode":"throw","message":"broken on purpose"}');
    const run = await runCli(
      ['tune', 'fail', '--sample', sample, '--max-threads', '2', '--seconds', '0.3', '--redis-url', SHARED_REDIS_URL, '--svg', join(TMP, 'fail.svg'), '--json'],
      {},
      120_000,
    );
    assert.equal(run.code, 1, `stderr: ${run.stderr}`);
    const out = JSON.parse(run.stdout) as { knee: unknown; flags: unknown; noRecommendation: string; stoppedEarly: boolean; firstError: string; rows: Array<{ completed: number; failed: number }>; reason: string };
    assert.equal(out.knee, null);
    assert.equal(out.flags, null);
    assert.equal(out.noRecommendation, 'all-failed');
    assert.equal(out.stoppedEarly, true, 'the other configurations were not run');
    assert.equal(out.rows.length, 1);
    assert.equal(out.rows[0]!.completed, 0);
    assert.ok(out.rows[0]!.failed > 0);
    assert.match(out.firstError, /broken on purpose/);
    assert.match(out.reason, /^No recommendation: every fail job on this sample failed/);
    assert.match(run.stderr, /no configuration to recommend/);
    assert.equal(await keysOf(run.stderr), 0, 'the tune queue was removed');
  });
});
