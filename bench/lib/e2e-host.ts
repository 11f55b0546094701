/**
 * The bench side of a consumer child (protocol: e2e-protocol.ts): starts it, waits for it, and
 * always ends it, also when a phase fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { isChildMessage, type ChildMessage, type ConsumerSpec, type ParentMessage } from './e2e-protocol.js';

/** Long enough for a slow phase on a loaded 2-core box; a hung consumer fails the bench instead of stalling it. */
const DEFAULT_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL = 4000;

export class ConsumerProcess {
  private readonly child: ChildProcess;
  private output = '';
  private readonly inbox: ChildMessage[] = [];
  private waiter: (() => void) | undefined;
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(entry: string, spec: ConsumerSpec) {
    this.child = fork(entry, [JSON.stringify(spec)], {
      // The bench runs under tsx; the child must not inherit the loader (see e2e-build.ts).
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-OUTPUT_TAIL);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('message', (message: unknown) => {
      if (isChildMessage(message)) this.inbox.push(message);
      else this.output += `\n(unrecognised message: ${JSON.stringify(message)})`;
      this.waiter?.();
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve(code);
        this.waiter?.();
      }),
    );
  }

  /** Starts a consumer and waits until it has run its warm-up jobs and paused. */
  static async start(entry: string, spec: ConsumerSpec, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ConsumerProcess> {
    const consumer = new ConsumerProcess(entry, spec);
    try {
      await consumer.expect('ready', timeoutMs);
      return consumer;
    } catch (err) {
      consumer.kill();
      throw err;
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resumes the consumer; resolves when it reports `jobs` finished. */
  async drain(jobs: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    this.send({ type: 'go', jobs });
    const done = await this.expect('done', timeoutMs);
    if (done.type === 'done' && done.jobs !== jobs) throw new Error(`consumer reported ${done.jobs} jobs, expected ${jobs}`);
  }

  /** Asks the child to close its consumer and exit; kills it if it does not within a grace period. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.kill(), STOP_GRACE_MS);
    const code = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`consumer exited with ${code} on stop${this.describeOutput()}`);
  }

  /** Ends the child at once (failure paths). */
  kill(): void {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
  }

  private send(message: ParentMessage): void {
    this.child.send(message);
  }

  private describeOutput(): string {
    return this.output.trim() ? `; its output ended with:\n${this.output.trim()}` : '';
  }

  private expect(type: ChildMessage['type'], timeoutMs: number): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`consumer sent no "${type}" within ${timeoutMs} ms${this.describeOutput()}`)), timeoutMs);
      const finish = (result: ChildMessage | Error) => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const check = () => {
        const message = this.inbox.shift();
        if (message?.type === 'error') return finish(new Error(`consumer failed: ${message.message}${this.describeOutput()}`));
        if (message?.type === type) return finish(message);
        if (message) return finish(new Error(`consumer sent "${message.type}", expected "${type}"`));
        if (this.exitCode !== undefined) finish(new Error(`consumer exited (${this.exitCode}) before "${type}"${this.describeOutput()}`));
      };
      this.waiter = check;
      check();
    });
  }
}
