/**
 * `troupe supervise` as users run it (the bench build's compiled CLI, plain node), serving many
 * queues, in a process group of its own so stopping it leaves nothing behind; and a reader of
 * the queues' events streams that tells the bench when a drain has finished in Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { queueKeys } from '../../src/queue/keys.js';

const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL = 4000;

export class SupervisorProcess {
  private output = '';
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-OUTPUT_TAIL));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Starts it; it is serving once the warm-up jobs it was given have drained (the caller checks). */
  static start(cliEntry: string, redisUrl: string, queues: readonly string[], threads: number, cwd: string): SupervisorProcess {
    const args = [cliEntry, 'supervise', '--queues', queues.join(','), '--threads', String(threads), '--min-threads', String(threads)];
    // As the end-to-end bench runs Troupe: no HTTP endpoint, no scheduler (neither is on the job path).
    args.push('--redis-url', redisUrl, '--http-port', '0', '--no-scheduler', '--log-level', 'warn');
    const child = spawn(process.execPath, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    return new SupervisorProcess(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Throws (with its last output) if the process has ended: a bench must not measure a dead supervisor. */
  assertRunning(what: string): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`the supervisor exited (${this.child.exitCode ?? this.child.signalCode}) ${what}: ${this.output.trim()}`);
    }
  }

  /** SIGTERM to its group (a graceful stop), SIGKILL if it is not gone within a grace period. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}

type XReadReply = Array<[string, Array<[string, string[]]>]> | null;

/**
 * Counts the jobs the queues' complete calls published (one events-stream entry per call, its
 * ids space-separated), from the streams' tips when start() ran. Any other event (a retry, a
 * dead job) fails the drain: no-op jobs only complete.
 */
export class CompletionReader {
  private readonly keys: string[];
  private readonly from: string[] = [];

  private constructor(private readonly connection: Redis, queues: readonly string[]) {
    this.keys = queues.map((q) => queueKeys(q).events);
  }

  /** Its own connection (XREAD BLOCK holds one), opened and ready before anything is counted. */
  static async open(redisUrl: string, queues: readonly string[]): Promise<CompletionReader> {
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    await connection.ping();
    return new CompletionReader(connection, queues);
  }

  /** Fixes where counting starts: after every entry already in the streams. */
  async mark(): Promise<void> {
    const pipeline = this.connection.pipeline();
    for (const key of this.keys) pipeline.xrevrange(key, '+', '-', 'COUNT', 1);
    const replies = (await pipeline.exec()) ?? [];
    this.from.length = 0;
    for (const [err, entries] of replies) {
      if (err) throw err;
      this.from.push((entries as Array<[string, string[]]>)[0]?.[0] ?? '0-0');
    }
  }

  /** Resolves once `jobs` completions are counted; throws on more, on another event, or after timeoutMs. */
  async waitFor(jobs: number, timeoutMs: number, alive: () => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let counted = 0;
    while (counted < jobs) {
      alive();
      if (Date.now() > deadline) throw new Error(`drain: ${counted} of ${jobs} jobs completed after ${timeoutMs} ms`);
      const reply = (await this.connection.xread('COUNT', 1000, 'BLOCK', 500, 'STREAMS', ...this.keys, ...this.from)) as XReadReply;
      for (const [key, entries] of reply ?? []) {
        const k = this.keys.indexOf(key);
        for (const [streamId, fields] of entries) {
          this.from[k] = streamId;
          const type = fields[fields.indexOf('type') + 1];
          const ids = fields[fields.indexOf('ids') + 1] ?? '';
          if (type !== 'completed') throw new Error(`drain: a "${type}" event on ${key} (ids ${ids.slice(0, 80)}); no-op jobs must only complete`);
          counted += ids.split(' ').filter(Boolean).length;
        }
      }
    }
    if (counted !== jobs) throw new Error(`drain: ${counted} jobs completed, expected ${jobs}`);
  }

  async close(): Promise<void> {
    await this.connection.quit().catch(() => this.connection.disconnect()); // Quit fails if the server died; then drop the socket.
  }
}
