/**
 * A supervisor stops when it is asked to in every way the README starts one: `npx troupe
 * supervise &` then `kill $!` (the signal reaches npm only), the bin itself, and a director's
 * children when the director is killed outright. Real processes, each in a process group of its
 * own; every test counts what is left of the group.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from '../src/index.js';
import { GroupProcess, installPackage, processGroupMembers, type InstalledPackage } from './helpers/installed-package.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { eventually } from './helpers/supervisor-process.js';

let installed: InstalledPackage;
let redis: PrivateRedis;
const cleanup: Array<() => Promise<void> | void> = [];

before(async () => {
  installed = await installPackage();
  redis = await startPrivateRedis();
});
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await redis.destroy();
  installed.remove();
});

function open(name: string): Queue {
  const queue = new Queue(name, { connection: redis.url });
  cleanup.push(() => queue.close());
  return queue;
}

function group(command: string, args: string[]): GroupProcess {
  const p = new GroupProcess(command, args, { cwd: installed.appDir, env: { TROUPE_REDIS_URL: redis.url, TROUPE_HTTP_PORT: '0' } });
  cleanup.push(() => p.killGroup());
  return p;
}

/** Resolves when every process of the group has closed its stdout, or rejects after a while. */
async function drained(p: GroupProcess, timeoutMs = 20_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`processes ${processGroupMembers(p.pgid).join(', ')} still running after ${timeoutMs} ms`)), timeoutMs)));
  try {
    await Promise.race([p.drained, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function groupEmpty(p: GroupProcess): Promise<void> {
  await eventually(async () => processGroupMembers(p.pgid).length === 0, 20_000, `process group ${p.pgid} to be empty (left: ${processGroupMembers(p.pgid).join(', ')})`);
}

test('npx troupe supervise &, then kill $!: the signal reaches npm only, and the supervisor still shuts down gracefully', async () => {
  const queue = open('parent-npx');
  const npx = group('npx', ['troupe', 'supervise', '--queues', 'parent-npx', '--threads', '1']);
  await npx.waitForLog((l) => l.msg === 'supervisor started', 30_000);
  const { id } = await queue.enqueue('sleep', { ms: 1500 });
  await eventually(async () => (await queue.getJob(id))?.state === 'active', 10_000, 'the job to run');
  // Only npm, as `kill $!` after `npx … &` does; npm passes it to its `sh -c`, which dies of it.
  process.kill(npx.child.pid!, 'SIGTERM');
  await drained(npx);
  await groupEmpty(npx);
  const gone = npx.logs.find((l) => l.msg.startsWith('the parent process went away'));
  assert.ok(gone, `the supervisor noticed; logs:\n${npx.logs.map((l) => l.msg).join('\n')}`);
  assert.ok(npx.logs.some((l) => l.msg === 'supervisor stopped'), 'and stopped gracefully');
  assert.equal((await queue.getJob(id))?.state, 'completed', 'the running job finished first');
});

test('the bin itself (node_modules/.bin/troupe supervise &, kill $!) takes the signal and exits 0', async () => {
  const bin = group(installed.bin, ['supervise', '--queues', 'parent-bin', '--threads', '1']);
  await bin.waitForLog((l) => l.msg === 'supervisor started', 30_000);
  process.kill(bin.child.pid!, 'SIGTERM');
  assert.equal(await bin.exited, 0);
  await groupEmpty(bin);
  assert.ok(bin.logs.some((l) => l.msg.startsWith('signal received')));
  assert.ok(bin.logs.some((l) => l.msg === 'supervisor stopped'));
});

test('a director killed with SIGKILL leaves no supervisor behind: each child sees its parent gone and stops', async () => {
  const director = group(installed.bin, ['supervise', '--queues', 'parent-director', '--threads', '1', '--processes', '2']);
  await eventually(async () => director.logs.filter((l) => l.msg === 'supervisor started').length === 2, 30_000, 'both children to start');
  process.kill(director.child.pid!, 'SIGKILL');
  await drained(director);
  await groupEmpty(director);
  assert.equal(director.logs.filter((l) => l.msg.startsWith('the parent process went away')).length, 2);
  assert.equal(director.logs.filter((l) => l.msg === 'supervisor stopped').length, 2);
});

test('--no-exit-with-parent: a supervisor meant to outlive its parent keeps running when npm goes', async () => {
  const npx = group('npx', ['troupe', 'supervise', '--queues', 'parent-detached', '--threads', '1', '--no-exit-with-parent']);
  await npx.waitForLog((l) => l.msg === 'supervisor started', 30_000);
  process.kill(npx.child.pid!, 'SIGTERM');
  await npx.exited;
  // Its parent shell is gone by now; the watch would have noticed within a second.
  await new Promise((r) => setTimeout(r, 2500));
  const left = processGroupMembers(npx.pgid);
  assert.equal(left.length, 1, 'only the supervisor is left');
  assert.ok(!npx.logs.some((l) => l.msg.startsWith('the parent process went away')));
  process.kill(left[0]!, 'SIGTERM');
  await drained(npx);
  await groupEmpty(npx);
  assert.ok(npx.logs.some((l) => l.msg === 'supervisor stopped'));
});

test('SIGTERM to the whole process group (Ctrl-C, systemd KillMode=control-group) with a director: one graceful shutdown, not a second-signal exit', async () => {
  const queue = open('parent-group');
  const director = group(installed.bin, ['supervise', '--queues', 'parent-group', '--threads', '1', '--processes', '2']);
  await eventually(async () => director.logs.filter((l) => l.msg === 'supervisor started').length === 2, 30_000, 'both children to start');
  const { id } = await queue.enqueue('sleep', { ms: 1500 });
  await eventually(async () => (await queue.getJob(id))?.state === 'active', 10_000, 'the job to run');
  // Each child gets it twice: from the kill and forwarded by the director.
  process.kill(-director.pgid, 'SIGTERM');
  assert.equal(await director.exited, 0);
  await drained(director);
  await groupEmpty(director);
  assert.ok(!director.logs.some((l) => l.msg.startsWith('second signal')), 'no child took it as a second signal');
  assert.equal(director.logs.filter((l) => l.msg === 'supervisor stopped').length, 2);
  assert.equal((await queue.getJob(id))?.state, 'completed', 'the running job finished');
});
