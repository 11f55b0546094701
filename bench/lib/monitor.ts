import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { addCounts, type CommandCounts, type Probe } from './commandstats.js';

/**
 * INFO commandstats cannot tell a command a client sent from one a Lua script ran: both count
 * under the command's name. MONITOR can (script commands come from source "lua"), at a cost
 * that rules it out while timing, so it is used in a separate, untimed audit pass.
 */
export interface MonitorTally {
  /** Commands clients sent (EVALSHA, direct HGETs, ...). */
  topLevel: CommandCounts;
  /** Commands run from inside scripts. */
  inScript: CommandCounts;
}

const DRAIN_TIMEOUT_MS = 60_000;

export function monitorProbe(admin: Redis): Probe<MonitorTally> {
  let monitor: Redis | undefined;
  let tally: MonitorTally = { topLevel: new Map(), inScript: new Map() };
  let sentinel = '';
  let sawSentinel: (() => void) | undefined;
  // Set at the sentinel: commands parsed from the same read (e.g. a verify step) are not ours.
  let closed = false;

  return {
    async start() {
      tally = { topLevel: new Map(), inScript: new Map() };
      sentinel = `bench-sentinel-${randomUUID()}`;
      closed = false;
      // ioredis opens a dedicated connection for MONITOR; it is ours to disconnect.
      monitor = await admin.monitor();
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (closed) return;
        const name = (args[0] ?? '').toLowerCase();
        if (name === 'echo' && args[1] === sentinel) {
          closed = true;
          sawSentinel?.();
          return;
        }
        addCounts(source === 'lua' ? tally.inScript : tally.topLevel, name);
      });
    },
    async stop() {
      const active = monitor;
      if (!active) throw new Error('monitorProbe.stop() without start()');
      // The feed lags the commands; everything before our sentinel has arrived once it shows up.
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('MONITOR feed did not catch up')), DRAIN_TIMEOUT_MS);
        sawSentinel = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      try {
        await admin.echo(sentinel);
        await arrived;
      } finally {
        sawSentinel = undefined;
        monitor = undefined;
        active.disconnect();
      }
      return tally;
    },
  };
}
