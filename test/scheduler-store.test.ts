import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ScheduleErrorCode, ScheduleExistsError, ScheduleNotFoundError } from '../src/scheduler/errors.js';
import { SCHEDULE_KEYS } from '../src/scheduler/keys.js';
import { validateSchedule } from '../src/scheduler/spec.js';
import { FIRE_MEMORY_MS, ScheduleStore } from '../src/scheduler/store.js';
import { manualClock, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

let redis: PrivateRedis;
let client: Redis;
before(async () => {
  redis = await startPrivateRedis();
  client = new Redis(redis.url);
});
after(async () => {
  client.disconnect();
  await redis.destroy();
});
beforeEach(async () => {
  await client.flushall();
});

const schedule = (overrides: Record<string, unknown> = {}) =>
  validateSchedule({ name: 'nightly', daily: '02:30', queue: 'default', processor: 'echo', ...overrides });

describe('definitions', () => {
  test('create, re-create identical, refuse a different one, replace', async () => {
    const clock = manualClock();
    const store = new ScheduleStore(client, clock);
    assert.deepEqual(await store.save(schedule(), 'cli'), { status: 'created', source: 'cli' });
    assert.equal(await store.version(), '1');
    assert.deepEqual(await store.save(schedule(), 'cli'), { status: 'unchanged', source: 'cli' });
    await assert.rejects(store.save(schedule({ daily: '03:00' }), 'cli'), (err: unknown) => {
      assert.ok(err instanceof ScheduleExistsError);
      assert.equal(err.code, ScheduleErrorCode.Exists);
      assert.match(err.message, /--replace/);
      return true;
    });
    clock.advance(1000);
    assert.deepEqual(await store.save(schedule({ daily: '03:00' }), 'cli', 'replace'), { status: 'updated', source: 'cli' });
    const stored = (await store.get('nightly'))!;
    assert.equal(stored.cron, '0 3 * * *');
    assert.equal(stored.rev, '2');
    assert.equal(stored.activeSince, clock(), 'a new definition restarts missed-fire accounting');
    assert.equal(stored.createdAt, clock() - 1000);
    assert.equal(await store.version(), '2');
  });

  test('config sync never overwrites a definition changed at run time; ensure replaces only a built-in one', async () => {
    const store = new ScheduleStore(client);
    assert.equal((await store.save(schedule(), 'config', 'sync')).status, 'created');
    assert.equal((await store.save(schedule({ daily: '04:00' }), 'config', 'sync')).status, 'updated', 'config changed: last start wins');
    assert.equal((await store.save(schedule({ daily: '05:00' }), 'cli', 'replace')).status, 'updated');
    assert.deepEqual(await store.save(schedule({ daily: '06:00' }), 'config', 'sync'), { status: 'kept', source: 'cli' });
    assert.equal((await store.get('nightly'))!.when, 'daily at 05:00');
    const maintenance = schedule({ name: 'maintenance', processor: 'maintenance' });
    assert.equal((await store.save(maintenance, 'builtin', 'ensure')).status, 'created');
    assert.equal((await store.save({ ...maintenance, queue: '*' }, 'builtin', 'ensure')).status, 'updated', 'a built-in definition an older version wrote is replaced');
    assert.equal((await store.save({ ...maintenance, queue: '*' }, 'builtin', 'ensure')).status, 'unchanged', 'every supervisor declares the same one');
    await store.save({ ...maintenance, queue: 'ops' }, 'cli', 'replace');
    assert.deepEqual(await store.save({ ...maintenance, queue: '*' }, 'builtin', 'ensure'), { status: 'kept', source: 'cli' }, 'one people set is left alone');
  });

  test('pause, resume, remove; unknown names; every change bumps the version', async () => {
    const clock = manualClock();
    const store = new ScheduleStore(client, clock);
    await store.save(schedule(), 'cli');
    assert.equal(await store.setPaused('nightly', true), true);
    assert.equal(await store.setPaused('nightly', true), false);
    assert.equal((await store.get('nightly'))!.paused, true);
    clock.advance(60_000);
    assert.equal(await store.setPaused('nightly', false), true);
    const resumed = (await store.get('nightly'))!;
    assert.equal(resumed.paused, false);
    assert.equal(resumed.activeSince, clock(), 'fires while paused are not "missed"');
    await assert.rejects(store.setPaused('nope', true), ScheduleNotFoundError);
    assert.equal(await store.version(), '3');
    assert.equal(await store.remove('nightly'), true);
    assert.equal(await store.remove('nightly'), false);
    assert.equal(await store.get('nightly'), null);
    assert.deepEqual(await store.list(), { schedules: [], broken: [] });
    assert.equal(await store.version(), '4');
  });

  test('a definition broken in Redis is reported, not fired, and does not hide the others', async () => {
    const store = new ScheduleStore(client);
    await store.save(schedule(), 'cli');
    await store.save(schedule({ name: 'hand-edited' }), 'cli');
    const def = JSON.parse((await client.hget(SCHEDULE_KEYS.schedule('hand-edited'), 'def'))!);
    await client.hset(SCHEDULE_KEYS.schedule('hand-edited'), 'def', JSON.stringify({ ...def, cron: '0 25 * * *' }));
    const { schedules, broken } = await store.list();
    assert.deepEqual(schedules.map((s) => s.name), ['nightly']);
    assert.equal(broken.length, 1);
    assert.match(broken[0]!.problem, /^cron\.hour: the hour field "25"/);
  });
});

describe('claims: one per fire', () => {
  test('claimed once; taken by anyone after; refused when stale or paused', async () => {
    const store = new ScheduleStore(client);
    await store.save(schedule(), 'cli');
    const s = (await store.get('nightly'))!;
    const fire = Date.UTC(2024, 0, 1, 2, 30);
    assert.equal(await store.claim(s, fire, 'a'), 'claimed');
    assert.equal(await store.claim(s, fire, 'a'), 'taken');
    assert.equal(await store.claim(s, fire, 'b'), 'taken');
    assert.deepEqual((await store.pending()).map((p) => [p.name, p.fire, p.owner]), [['nightly', fire, 'a']]);
    await store.done('nightly', fire);
    assert.deepEqual(await store.pending(), []);
    assert.equal((await store.get('nightly'))!.lastFire, fire);
    assert.equal(await store.claim({ ...s, rev: '0' }, fire + 1000, 'a'), 'stale');
    await store.setPaused('nightly', true);
    assert.equal(await store.claim(s, fire + 2000, 'a'), 'paused');
    await store.remove('nightly');
    assert.equal(await store.claim(s, fire + 3000, 'a'), 'stale');
  });

  test('out of order within the memory window is fine; older than the window is refused', async () => {
    const store = new ScheduleStore(client);
    await store.save(schedule({ daily: undefined, cron: '* * * * * *' }), 'cli');
    const s = (await store.get('nightly'))!;
    const t = Date.UTC(2024, 0, 1);
    assert.equal(await store.claim(s, t + 2000, 'ahead'), 'claimed');
    assert.equal(await store.claim(s, t + 1000, 'late'), 'claimed', 'a fire nobody claimed yet is not lost to a later one');
    assert.equal(await store.claim(s, t + 1000, 'other'), 'taken');
    assert.equal(await store.claim(s, t + 2000 - FIRE_MEMORY_MS, 'very late'), 'taken', 'too old to tell: refused, never doubled');
    assert.equal(await client.zcard(SCHEDULE_KEYS.fires('nightly')), 2);
    assert.equal(await store.claim(s, t + 2000 + FIRE_MEMORY_MS + 1000, 'x'), 'claimed');
    assert.equal(await client.zcard(SCHEDULE_KEYS.fires('nightly')), 1, 'memory is trimmed to the window');
  });

  test('30 clients claiming the same fires at once: exactly one wins each', async () => {
    const store = new ScheduleStore(client);
    await store.save(schedule({ daily: undefined, cron: '* * * * * *' }), 'cli');
    const s = (await store.get('nightly'))!;
    const clients = Array.from({ length: 30 }, () => new Redis(redis.url));
    try {
      const fires = Array.from({ length: 20 }, (_, i) => Date.UTC(2024, 0, 1) + i * 1000);
      const results = await Promise.all(clients.flatMap((c, i) => fires.map(async (f) => [f, await new ScheduleStore(c).claim(s, f, `s${i}`)] as const)));
      for (const f of fires) {
        assert.equal(results.filter(([fire, r]) => fire === f && r === 'claimed').length, 1, `fire ${f}`);
      }
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});
