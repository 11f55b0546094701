import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from './connection.js';

/** Every transition, by the name of its file in ./lua. */
export const SCRIPT_NAMES = [
  'enqueue', 'lease', 'renew', 'complete', 'fail', 'release', 'reclaim', 'retry-dead', 'cancel', 'clear', 'progress',
  'pause-for-resource',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

interface LoadedScript {
  readonly name: ScriptName;
  readonly source: string;
  readonly sha: string;
}

const LUA_DIR = fileURLToPath(new URL('./lua/', import.meta.url));
const INCLUDE = /^--@include (\w+)\s*$/gm;

/** Shared Lua pieces are flattened in here once, so the server sees one self-contained script. */
function flatten(name: string): string {
  const text = readFileSync(`${LUA_DIR}${name}.lua`, 'utf8');
  return text.replace(INCLUDE, (_line, piece: string) => readFileSync(`${LUA_DIR}include/${piece}.lua`, 'utf8'));
}

let cache: Map<ScriptName, LoadedScript> | undefined;

function scripts(): Map<ScriptName, LoadedScript> {
  if (!cache) {
    cache = new Map(
      SCRIPT_NAMES.map((name) => {
        const source = flatten(name);
        return [name, { name, source, sha: createHash('sha1').update(source).digest('hex') }];
      }),
    );
  }
  return cache;
}

export function scriptSource(name: ScriptName): string {
  return scripts().get(name)!.source;
}

type Arg = string | Buffer | number;

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/** Wait for replicas after writes that must survive a failover (Redis WAIT; see docs/operations.md). */
export interface Durability {
  replicas: number;
  timeoutMs: number;
}

/**
 * Calls a transition by SHA. After a Redis restart or SCRIPT FLUSH the server answers NOSCRIPT;
 * we then send the source once with EVAL, which also caches it on that server (and on that
 * node, in a cluster) for the next EVALSHA.
 */
export class ScriptRunner {
  /** How many times a script had to be sent again after NOSCRIPT (observable in tests). */
  reloads = 0;
  constructor(
    private readonly client: RedisClient,
    private readonly keys: readonly string[],
    readonly durability?: Durability,
  ) {}

  /**
   * Runs a write and, with durability on, WAIT in the same pipeline: a pipeline goes to the node
   * that owns the queue's slot, so WAIT counts the replicas of exactly that master. Resolves with
   * the reply and how many replicas confirmed (Infinity when durability is off).
   */
  async runReplicated(name: ScriptName, args: readonly Arg[]): Promise<{ reply: unknown; replicas: number }> {
    const durability = this.durability;
    if (!durability || durability.replicas <= 0) return { reply: await this.run(name, args), replicas: Infinity };
    return this.withReload(name, args, async (command, body, tail) => {
      const [scriptReply, waitReply] = (await this.client.pipeline().call(command, body, ...tail).call('WAIT', durability.replicas, durability.timeoutMs).exec()) ?? [];
      if (!scriptReply || !waitReply) throw new Error(`${name}: the pipeline returned no reply`);
      if (scriptReply[0]) throw scriptReply[0];
      // The write happened even when WAIT itself failed (e.g. the connection dropped after it): report 0 confirmed.
      return { reply: scriptReply[1], replicas: waitReply[0] ? 0 : Number(waitReply[1]) };
    });
  }

  async run(name: ScriptName, args: readonly Arg[]): Promise<unknown> {
    return this.invoke(name, args, false);
  }

  /** Same, but bulk replies stay Buffers (payloads may be raw bytes). */
  async runBuffer(name: ScriptName, args: readonly Arg[]): Promise<unknown> {
    return this.invoke(name, args, true);
  }

  private invoke(name: ScriptName, args: readonly Arg[], buffers: boolean): Promise<unknown> {
    return this.withReload(name, args, (command, body, tail) => (buffers ? this.client.callBuffer(command, body, ...tail) : this.client.call(command, body, ...tail)));
  }

  /** By SHA first; on NOSCRIPT once more with the source, which also caches it on that server. */
  private async withReload<T>(name: ScriptName, args: readonly Arg[], send: (command: 'EVALSHA' | 'EVAL', body: string, tail: Arg[]) => Promise<T>): Promise<T> {
    const script = scripts().get(name)!;
    const tail: Arg[] = [this.keys.length, ...this.keys, ...args];
    try {
      return await send('EVALSHA', script.sha, tail);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      this.reloads += 1;
      return send('EVAL', script.source, tail);
    }
  }
}
