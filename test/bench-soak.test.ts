import assert from 'node:assert/strict';
import { test } from 'node:test';
import { levelling, soakSettings, type SoakSample } from '../bench/soak.js';

/** A soak sample every 20 s with the given RSS; the other fields do not enter the verdict. */
function samples(rss: (i: number) => number, count = 61): SoakSample[] {
  return Array.from({ length: count }, (_, i) => ({
    t: i * 20,
    rssMib: rss(i),
    heapUsedMib: 25,
    heapTotalMib: 57,
    externalMib: 3,
    redisMib: 17,
    offered: i * 10_000,
    completed: i * 10_000,
    backlog: 0,
    lagMs: 0,
  }));
}

// The GC's sawtooth: a few MiB up and down around the plateau.
const sawtooth = (i: number) => [0, 3, -2, 4, -1, 2][i % 6]!;

test('a plateau with one deep GC dip at the start of the last half counts as levelled', () => {
  // As in a 20-minute soak: V8 shrank its heap once and RSS fell 40 MiB for one sample, then
  // came back to the plateau. A least-squares line through the last half reads that as growth.
  const level = levelling(samples((i) => (i === 30 ? 140 : 178 + sawtooth(i))));
  assert.ok(level.lastHalfMibPerMin < 0.5, `slope ${level.lastHalfMibPerMin} MiB/min`);
  assert.equal(level.levelled, true);
  assert.ok(level.lastHalfLeastSquaresMibPerMin > 0.5, 'the least-squares figure, reported beside it, is the one the dip pulls');
});

test('RSS that keeps rising 1 MiB a minute under the same sawtooth does not count as levelled', () => {
  // 20 s per sample: 1 MiB/min is a third of a MiB per sample.
  const level = levelling(samples((i) => 170 + i / 3 + sawtooth(i)));
  assert.ok(Math.abs(level.lastHalfMibPerMin - 1) < 0.2, `slope ${level.lastHalfMibPerMin} MiB/min`);
  assert.equal(level.levelled, false);
});

test('a flat series counts as levelled and a first-half warm-up does not enter the verdict', () => {
  const level = levelling(samples((i) => (i < 10 ? 120 + i * 5 : 175 + sawtooth(i))));
  assert.equal(level.levelled, true);
  assert.ok(level.firstHalfMibPerMin > 1, `warm-up slope ${level.firstHalfMibPerMin}`);
});

test('a bad TROUPE_SOAK_SECONDS is refused with the variable and an example', () => {
  const before = process.env.TROUPE_SOAK_SECONDS;
  process.env.TROUPE_SOAK_SECONDS = 'ten';
  try {
    assert.throws(() => soakSettings(false), /TROUPE_SOAK_SECONDS=ten is not a positive number.*TROUPE_SOAK_SECONDS=600/);
  } finally {
    if (before === undefined) delete process.env.TROUPE_SOAK_SECONDS;
    else process.env.TROUPE_SOAK_SECONDS = before;
  }
});
