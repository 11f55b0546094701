import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Durability, RedisClient } from './redis-factory.js';

// Callers of the queue's runner have always taken Durability from here.
export type { Durability } from './redis-factory.js';

/** Every transition, by the name of its file in ./lua. */
export const SCRIPT_NAMES = [
  'enqueue', 'lease', 'renew', 'complete', 'fail', 'release', 'reclaim', 'retry-dead', 'cancel', 'clear', 'progress',
  'pause-for-resource',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

interface LoadedScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

const INCLUDE = /^--@include (\w+)\s*$/gm;

/**
 * The Lua files of one directory, one script each. The directory is given relative to the
 * caller's module (`new URL('./lua/', import.meta.url)`), so the same code finds the sources
 * under src/ and the copies the build puts beside the compiled code in dist/.
 */
export class ScriptSet<Name extends string> {
  private readonly dir: string;
  private cache: Map<Name, LoadedScript> | undefined;

  constructor(dir: URL, readonly names: readonly Name[]) {
    this.dir = fileURLToPath(dir);
  }

  source(name: Name): string {
    return this.get(name).source;
  }

  get(name: Name): LoadedScript {
    // Read on first use, all at once: a missing file shows at the first call, not mid-run.
    this.cache ??= new Map(this.names.map((n) => {
      const source = this.flatten(n);
      return [n, { name: n, source, sha: createHash('sha1').update(source).digest('hex') }];
    }));
    const script = this.cache.get(name);
    if (!script) throw new Error(`no Lua script ${name} in ${this.dir}`);
    return script;
  }

  /** Shared Lua pieces are flattened in here once, so the server sees one self-contained script. */
  private flatten(name: string): string {
    const text = readFileSync(`${this.dir}${name}.lua`, 'utf8');
    return text.replace(INCLUDE, (_line, piece: string) => readFileSync(`${this.dir}include/${piece}.lua`, 'utf8'));
  }
}

export const QUEUE_SCRIPTS = new ScriptSet(new URL('./lua/', import.meta.url), SCRIPT_NAMES);

export function scriptSource(name: ScriptName): string {
  return QUEUE_SCRIPTS.source(name);
}

type Arg = string | Buffer | number;

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * Calls the scripts of one set by SHA, with the keys given per call. After a Redis restart or
 * SCRIPT FLUSH the server answers NOSCRIPT; we then send the source once with EVAL, which also
 * caches it on that server (and on that node, in a cluster) for the next EVALSHA.
 */
export class LuaRunner<Name extends string> {
  /** How many times a script had to be sent again after NOSCRIPT (observable in tests). */
  reloads = 0;
  constructor(
    private readonly client: RedisClient,
    private readonly scripts: ScriptSet<Name>,
    readonly durability?: Durability,
  ) {}

  /**
   * Runs a write and, with durability on, WAIT in the same pipeline: a pipeline goes to the node
   * that owns the keys' slot, so WAIT counts the replicas of exactly that master. Resolves with
   * the reply and how many replicas confirmed (Infinity when durability is off).
   */
  async runReplicated(name: Name, keys: readonly string[], args: readonly Arg[]): Promise<{ reply: unknown; replicas: number }> {
    const durability = this.durability;
    if (!durability || durability.replicas <= 0) return { reply: await this.run(name, keys, args), replicas: Infinity };
    return this.withReload(name, keys, args, async (command, body, tail) => {
      const [scriptReply, waitReply] = (await this.client.pipeline().call(command, body, ...tail).call('WAIT', durability.replicas, durability.timeoutMs).exec()) ?? [];
      if (!scriptReply || !waitReply) throw new Error(`${name}: the pipeline returned no reply`);
      if (scriptReply[0]) throw scriptReply[0];
      // The write happened even when WAIT itself failed (e.g. the connection dropped after it): report 0 confirmed.
      return { reply: scriptReply[1], replicas: waitReply[0] ? 0 : Number(waitReply[1]) };
    });
  }

  async run(name: Name, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return this.invoke(name, keys, args, false);
  }

  /** Same, but bulk replies stay Buffers (payloads may be raw bytes). */
  async runBuffer(name: Name, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return this.invoke(name, keys, args, true);
  }

  private invoke(name: Name, keys: readonly string[], args: readonly Arg[], buffers: boolean): Promise<unknown> {
    return this.withReload(name, keys, args, (command, body, tail) => (buffers ? this.client.callBuffer(command, body, ...tail) : this.client.call(command, body, ...tail)));
  }

  /** By SHA first; on NOSCRIPT once more with the source, which also caches it on that server. */
  private async withReload<T>(name: Name, keys: readonly string[], args: readonly Arg[], send: (command: 'EVALSHA' | 'EVAL', body: string, tail: Arg[]) => Promise<T>): Promise<T> {
    const script = this.scripts.get(name);
    const tail: Arg[] = [keys.length, ...keys, ...args];
    try {
      return await send('EVALSHA', script.sha, tail);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      this.reloads += 1;
      return send('EVAL', script.source, tail);
    }
  }
}

/** A queue's transitions: every one receives the same fixed key list (see lua/include/queue.lua). */
export class ScriptRunner {
  private readonly lua: LuaRunner<ScriptName>;
  constructor(
    client: RedisClient,
    private readonly keys: readonly string[],
    readonly durability?: Durability,
  ) {
    this.lua = new LuaRunner(client, QUEUE_SCRIPTS, durability);
  }

  /** How many times a script had to be sent again after NOSCRIPT (observable in tests). */
  get reloads(): number {
    return this.lua.reloads;
  }

  runReplicated(name: ScriptName, args: readonly Arg[]): Promise<{ reply: unknown; replicas: number }> {
    return this.lua.runReplicated(name, this.keys, args);
  }

  run(name: ScriptName, args: readonly Arg[]): Promise<unknown> {
    return this.lua.run(name, this.keys, args);
  }

  /**
   * Same, but bulk replies stay Buffers (payloads may be raw bytes). `extraKey` goes after the
   * queue's key list (a key of the same queue, so the same slot).
   */
  runBuffer(name: ScriptName, args: readonly Arg[], extraKey?: string): Promise<unknown> {
    return this.lua.runBuffer(name, extraKey === undefined ? this.keys : [...this.keys, extraKey], args);
  }
}
