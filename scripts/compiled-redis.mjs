/**
 * A private redis-server for the compiled-code scripts beside it: a free loopback port, a
 * temporary folder, no persistence; stop() kills it and removes the folder. It is
 * test/helpers/redis-server.ts again in plain JavaScript, because these scripts run under plain
 * node (a TypeScript loader would change what they measure).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'troupe-script-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  // ioredis reconnects until the server listens; errors before then are expected.
  const admin = new Redis(url, { retryStrategy: () => 50 });
  admin.on('error', () => undefined);
  await admin.ping();
  return {
    url,
    admin,
    /** Redis CPU so far, µs (INFO cpu: user + sys). */
    async cpuUs() {
      const info = await admin.info('cpu');
      const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)[1]);
      return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
    },
    stop() {
      admin.disconnect();
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The compiled tree to measure: DIST (a folder built with tsc, e.g. another commit's), else dist/. */
export function distUrl(path) {
  const root = process.env.DIST ? pathToFileURL(resolve(process.env.DIST) + '/') : new URL('../dist/', import.meta.url);
  if (!existsSync(new URL('index.js', root))) {
    const where = process.env.DIST ? `DIST=${process.env.DIST}` : 'dist/';
    throw new Error(`${where} holds no compiled Troupe (no index.js): run \`npm run build\`, or point DIST at a folder built with \`npx tsc -p tsconfig.build.json --outDir <folder>\` plus the Lua and WASM files (scripts/copy-assets.mjs)`);
  }
  return new URL(path, root).href;
}
