/**
 * A consumer in a process of its own (protocol: e2e-protocol.ts). Benches run it compiled, with
 * no TypeScript loader (see e2e-build.ts), so its memory is what a deployed consumer uses.
 */
import { openConsumer } from './e2e-consumers.js';
import type { Consumer } from './e2e-shared.js';
import { isParentMessage, parseConsumerSpec, type ChildMessage, type ParentMessage } from './e2e-protocol.js';

function send(message: ChildMessage): void {
  process.send?.(message);
}

function fail(reason: string): never {
  send({ type: 'error', message: reason });
  // The parent reads the error, then sees the exit; disconnect flushes the message first.
  process.disconnect?.();
  process.exit(1);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('e2e-child must be started with an IPC channel (child_process.fork)');
  const spec = parseConsumerSpec(process.argv[2]);
  let finished = 0;
  let target = spec.warmJobs;
  let reached: (() => void) | undefined;
  const hooks = {
    finished: () => {
      finished += 1;
      if (finished === target) reached?.();
    },
    failed: (reason: string) => fail(reason),
  };
  const whenReached = () => new Promise<void>((resolve) => (finished >= target ? resolve() : (reached = resolve)));

  const consumer: Consumer = await openConsumer(spec, hooks);
  await consumer.start();
  await whenReached();
  await consumer.pause();
  send({ type: 'ready' });

  const onMessage = async (message: ParentMessage) => {
    if (message.type === 'go') {
      finished = 0;
      target = message.jobs;
      const done = whenReached();
      await consumer.resume();
      await done;
      send({ type: 'done', jobs: finished });
      return;
    }
    process.off('message', listener);
    await consumer.close();
    process.disconnect();
    // A library timer (a reconnect, a stalled-job check) must not keep a finished child alive.
    process.exit(0);
  };
  const listener = (message: unknown) => {
    if (!isParentMessage(message)) fail(`unexpected message from the bench: ${JSON.stringify(message)}`);
    onMessage(message).catch((err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
  };
  process.on('message', listener);
}

main().catch((err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
