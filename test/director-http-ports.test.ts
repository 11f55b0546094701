import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { usePrivateRedis } from './helpers/fixture.js';
import { freePort } from './helpers/redis-server.js';
import { eventually, SupervisorProcess, type LogLine } from './helpers/supervisor-process.js';

const fixture = usePrivateRedis();

/** The supervisor id a /metrics endpoint reports, or undefined while nothing answers. */
async function supervisorIdOn(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    if (res.status !== 200) return undefined;
    return /^troupe_supervisor_info\{id="([^"]+)"/m.exec(await res.text())?.[1];
  } catch {
    return undefined;
  }
}

/** The port a child's HTTP log line names: the one it serves on, or the one it found taken. */
function portOf(line: LogLine): number | undefined {
  if (line.msg.startsWith('HTTP endpoint on ')) return line.port as number;
  const taken = /^HTTP endpoint not started: EADDRINUSE on [^ ]+:(\d+)/.exec(line.msg);
  return taken ? Number(taken[1]) : undefined;
}

// docs/observability.md and the README say so; the docs once said only the first child served HTTP.
test('--processes 2: child n serves HTTP on --http-port + n, each its own supervisor', async () => {
  // Two free ports in a row, if the machine has them: the director's children take port and port + 1.
  let port = await freePort();
  for (let tries = 0; tries < 20 && !(await portFree(port + 1)); tries++) port = await freePort();
  const director = new SupervisorProcess(['--queues', 'ports', '--processes', '2', '--threads', '1', '--http-port', String(port)], { TROUPE_REDIS_URL: fixture.redis.url });
  fixture.cleanup(() => director.kill());
  // The children share the director's stdout: one HTTP line each, by pid.
  const byPid = await eventually(async () => {
    const lines = new Map(director.logs.filter((l) => portOf(l) !== undefined).map((l) => [l.pid as number, portOf(l)!]));
    return lines.size === 2 ? lines : undefined;
  }, 30_000, 'an HTTP log line from each child');
  assert.deepEqual([...byPid.values()].sort(), [port, port + 1], 'child 0 on the port, child 1 on the next');
  // Another process may take a port between the check and the bind; the claim is about the ports chosen.
  const serving = director.logs.filter((l) => l.msg.startsWith('HTTP endpoint on ')).map((l) => l.port as number);
  const ids = await Promise.all(serving.map((p) => eventually(() => supervisorIdOn(p), 10_000, `/metrics on ${p}`)));
  assert.equal(new Set(ids).size, ids.length, `one supervisor per port: ${ids.join(', ')}`);
  director.child.kill('SIGTERM');
  assert.equal(await director.exited, 0);
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
