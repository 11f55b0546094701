import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { progressConsole, progressLine, startProgress, type ProgressStream } from '../src/cli/progress.js';

/** A stream that keeps what was written, and optionally says it is a terminal. */
function fakeStream(isTTY: boolean, columns?: number): ProgressStream & { writes: string[]; text(): string } {
  const writes: string[] = [];
  return {
    isTTY,
    ...(columns !== undefined ? { columns } : {}),
    writes,
    write(text: string) {
      writes.push(text);
      return true;
    },
    text: () => writes.join(''),
  };
}

/** What a terminal would show: carriage returns go back to the line start, ESC[K erases the rest. */
function screen(output: string): string[] {
  const lines: string[] = [''];
  let col = 0;
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!;
    if (output.startsWith('\x1b[K', i)) {
      lines[lines.length - 1] = lines.at(-1)!.slice(0, col);
      i += 2;
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') {
      lines.push('');
      col = 0;
    } else {
      const line = lines.at(-1)!;
      lines[lines.length - 1] = line.slice(0, col) + ch + line.slice(col + 1);
      col += 1;
    }
  }
  return lines;
}

const counts = (lines: readonly string[]) => lines.map((l) => /(\d+)\/(\d+)/.exec(l)?.[0]);

describe('progressLine', () => {
  test('bar, percent, count and elapsed seconds', () => {
    const line = progressLine('cpu 2 threads', 7, 28, 12_400);
    assert.match(line, /^cpu 2 threads [█░]{28}  25% 7\/28 12s$/);
    assert.equal([...line].filter((c) => c === '█').length, 7);
  });

  test('a count beyond the total shows as the total, never past 100%', () => {
    const line = progressLine('x', 15, 10, 0);
    assert.match(line, / 100% 10\/10 /);
    assert.ok(!line.includes('░'));
  });

  test('a total of 0 reads as done', () => {
    assert.match(progressLine('x', 0, 0, 0), / 100% 0\/0 /);
  });
});

describe('off a terminal (CI, a pipe)', () => {
  test('one line at the start and at each quarter, nothing in between', () => {
    const stream = fakeStream(false);
    const bar = startProgress('phase', 8, stream);
    for (let i = 0; i < 8; i++) bar.tick();
    bar.done();
    assert.ok(stream.writes.every((w) => w.endsWith('\n') && !w.includes('\r')));
    assert.deepEqual(counts(stream.writes), ['0/8', '2/8', '4/8', '6/8', '8/8']);
  });

  test('done() before the end prints the count reached, once; done() twice prints nothing more', () => {
    const stream = fakeStream(false);
    const bar = startProgress('phase', 100, stream);
    bar.tick(10);
    bar.done();
    bar.done();
    bar.tick(50);
    assert.deepEqual(counts(stream.writes), ['0/100', '10/100']);
  });

  test('ticks past the total clamp: no line says more than the total, and 100% prints once', () => {
    const stream = fakeStream(false);
    const bar = startProgress('phase', 4, stream);
    bar.tick(3);
    bar.tick(5);
    bar.tick();
    bar.done();
    assert.deepEqual(counts(stream.writes), ['0/4', '3/4', '4/4']);
  });

  test('zero, negative and NaN steps change nothing', () => {
    const stream = fakeStream(false);
    const bar = startProgress('phase', 4, stream);
    bar.tick(0);
    bar.tick(-3);
    bar.tick(Number.NaN);
    bar.done();
    assert.deepEqual(counts(stream.writes), ['0/4']);
  });
});

describe('on a terminal', () => {
  test('redraws one line in place, ends on 100% with a newline', () => {
    const stream = fakeStream(true, 120);
    const bar = startProgress('phase', 3, stream);
    bar.tick();
    bar.tick();
    bar.tick();
    bar.done();
    const output = stream.text();
    assert.ok(stream.writes.slice(0, -1).every((w) => w.startsWith('\r') && !w.includes('\n')));
    assert.equal(stream.writes.at(-1), '\n');
    const lines = screen(output);
    assert.deepEqual(lines.slice(1), ['']);
    assert.match(lines[0]!, / 100% 3\/3 /);
  });

  test('a tight loop of ticks redraws at most a few times, but the final count is always drawn', () => {
    const stream = fakeStream(true, 120);
    const bar = startProgress('phase', 10_000, stream);
    for (let i = 0; i < 10_000; i++) bar.tick();
    assert.ok(stream.writes.length < 20, `${stream.writes.length} redraws`);
    assert.match(screen(stream.text())[0]!, / 10000\/10000 /);
    bar.done();
    bar.done();
    assert.equal(stream.text().split('\n').length, 2, 'one newline, however often done() is called');
  });

  test('a shorter redraw leaves no tail of the longer one, and lines fit the width', () => {
    const stream = fakeStream(true, 40);
    const bar = startProgress('a label long enough to be cut at forty columns', 2, stream);
    bar.tick(2);
    bar.done();
    for (const line of screen(stream.text())) assert.ok(line.length <= 39, `${line.length} columns: ${line}`);
    // Each redraw erases to the end of the line after itself.
    assert.ok(stream.writes.slice(0, -1).every((w) => w.endsWith('\x1b[K')));
    assert.equal(screen(`${'x'.repeat(80)}${stream.writes[0]!}`)[0], screen(stream.writes[0]!)[0]);
  });

  test('ticks past the total clamp to the total', () => {
    const stream = fakeStream(true, 120);
    const bar = startProgress('phase', 5, stream);
    bar.tick(4);
    bar.tick(4);
    bar.done();
    assert.ok(!/[6-9]\/5|\d\d\/5/.test(stream.text()));
    assert.match(screen(stream.text())[0]!, / 100% 5\/5 /);
  });
});

describe('progressConsole: log lines while a bar is on screen', () => {
  test('terminal: a log line takes the bar\'s line and the bar is drawn again below it', () => {
    const stream = fakeStream(true, 120);
    const out = progressConsole(stream);
    out.log('starting');
    const bar = out.progress('round 1', 4);
    bar.tick();
    out.log('phase A: 1,234 jobs/s');
    bar.tick(3);
    bar.done();
    out.log('finished');
    const lines = screen(stream.text());
    assert.equal(lines[0], 'starting');
    assert.equal(lines[1], 'phase A: 1,234 jobs/s');
    assert.match(lines[2]!, /^round 1 .* 100% 4\/4 /);
    assert.equal(lines[3], 'finished');
    assert.equal(lines.length, 5);
  });

  test('off a terminal: plain lines in the order written', () => {
    const stream = fakeStream(false);
    const out = progressConsole(stream);
    const bar = out.progress('round 1', 2);
    out.log('phase A');
    bar.tick(2);
    bar.done();
    const lines = stream.text().split('\n');
    assert.deepEqual(counts(lines), ['0/2', undefined, '2/2', undefined]);
    assert.equal(lines[1], 'phase A');
    assert.ok(!stream.text().includes('\r'));
  });
});

test('a bar stopped early prints its last line once in a log, not again at done()', () => {
  const lines: string[] = [];
  const bar = startProgress('stop', 4, { isTTY: false, write: (text: string) => lines.push(text) });
  bar.tick(2);
  bar.done();
  assert.equal(lines.filter((l) => l.includes(' 2/4 ')).length, 1);
  assert.equal(lines.length, 2);
});
