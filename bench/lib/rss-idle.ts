/**
 * Idle memory of a consumer: start it, let it run a few jobs so its threads exist, let it
 * settle, read /proc, stop it. Processes that speak the child protocol (e2e-child) say when
 * they are warm; plain processes (the Troupe CLI, bare node) are warmed from outside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsumerProcess } from './e2e-host.js';
import type { ConsumerSpec } from './e2e-protocol.js';
import { readProcStatus, type ProcStatus } from './rss-proc.js';

/** Long enough for a started pool's threads to finish loading and for startup garbage to be collected. */
export const SETTLE_MS = 2000;
const STOP_GRACE_MS = 10_000;

/** A consumer child: ready means warm-up jobs ran (one per thread, overlapping), then it is read after settling. */
export async function idleOfConsumer(entry: string, spec: ConsumerSpec, settleMs = SETTLE_MS): Promise<ProcStatus> {
  const consumer = await ConsumerProcess.start(entry, spec);
  try {
    await sleep(settleMs);
    const status = readProcStatus(consumer.pid);
    await consumer.stop();
    return status;
  } finally {
    consumer.kill();
  }
}

/** A process that does not speak the protocol: `warm` runs once it is started, then it settles and is read. */
export async function idleOfProcess(command: string, args: string[], warm: (child: ChildProcess) => Promise<void>, settleMs = SETTLE_MS, cwd?: string): Promise<ProcStatus> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' }, ...(cwd ? { cwd } : {}) });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let warmed = false;
  const died = exited.then((code) => {
    if (!warmed) throw new Error(`${command} ${args.slice(0, 2).join(' ')} exited (${code}) while warming up: ${output.trim()}`);
  });
  const warming = warm(child);
  // Whichever of the two loses the race may still reject later; the race has reported the cause.
  warming.catch(() => undefined);
  died.catch(() => undefined);
  try {
    await Promise.race([warming, died]);
    warmed = true;
    await sleep(settleMs);
    if (child.exitCode !== null) throw new Error(`${command} exited (${child.exitCode}) while settling: ${output.trim()}`);
    return readProcStatus(child.pid!);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
  }
}

/** Polls until `check` holds (idle-phase only: polling Redis here costs no measurement). */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Least-squares line through (x, y) points: slope and intercept. */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: Number.NaN, intercept: Number.NaN };
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  if (sxx === 0) return { slope: Number.NaN, intercept: Number.NaN };
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}
