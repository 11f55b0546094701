import type { Redis } from 'ioredis';

/**
 * Whether a Redis user may run every command a supervisor sends, asked before anything is built
 * on it. Without this a user whose ACL lacks one command (say `evalsha`) lets the supervisor start
 * and then fail every lease with a warning, for ever; one that lacks `exec` stops the start with a
 * raw `EXECABORT`. Neither names the fix.
 *
 * How it asks without running anything: Redis checks a command's ACL (the command and the keys it
 * names) when the command arrives, before it queues it inside MULTI. So on a connection of its
 * own the check sends MULTI, then each command with harmless arguments, reads `QUEUED` or
 * `NOPERM` for each, and closes the connection: the transaction is never executed. EXEC is asked
 * outside MULTI, where a permitted one answers "EXEC without MULTI". A script's inner commands are
 * checked by Redis when the script runs, so they are asked one by one too.
 */

/** The key the check names: a troupe: key (the prefix of every key Troupe writes) that no queue uses. */
const KEY = 'troupe:{acl-check}:probe';
const KEY2 = 'troupe:{acl-check}:probe2';
const NO_SHA = '0'.repeat(40);

/** When a command is needed: always, or only with some settings. */
type Need = 'always' | 'cluster' | 'durability' | 'db';

interface CommandForm {
  /** The ACL name: `evalsha`, `cluster|slots`. */
  acl: string;
  /** The command and arguments sent (inside MULTI, never executed). */
  argv: string[];
  need: Need;
}

const form = (acl: string, argv: string[], need: Need = 'always'): CommandForm => ({ acl, argv, need });

/**
 * Every command a supervisor sends, its Lua scripts' inner commands included: the `+` rules of the
 * troupe-supervisor line in docs/operations.md ("Access control (ACL)")
 * (test/supervisor-start-refusals.test.ts holds the two together). `multi` and `exec` are asked
 * separately (see above).
 */
export const SUPERVISOR_COMMANDS: readonly CommandForm[] = [
  form('ping', ['PING']),
  form('info', ['INFO', 'server']),
  form('evalsha', ['EVALSHA', NO_SHA, '1', KEY]),
  form('eval', ['EVAL', 'return 0', '1', KEY]),
  form('hgetall', ['HGETALL', KEY]),
  form('hget', ['HGET', KEY, 'f']),
  form('hmget', ['HMGET', KEY, 'f']),
  form('hset', ['HSET', KEY, 'f', 'v']),
  form('hdel', ['HDEL', KEY, 'f']),
  form('hexists', ['HEXISTS', KEY, 'f']),
  form('hincrby', ['HINCRBY', KEY, 'f', '1']),
  form('del', ['DEL', KEY]),
  form('unlink', ['UNLINK', KEY]),
  form('exists', ['EXISTS', KEY]),
  form('llen', ['LLEN', KEY]),
  form('lrange', ['LRANGE', KEY, '0', '-1']),
  form('lpush', ['LPUSH', KEY, 'v']),
  form('rpush', ['RPUSH', KEY, 'v']),
  form('lpop', ['LPOP', KEY]),
  form('lrem', ['LREM', KEY, '0', 'v']),
  form('ltrim', ['LTRIM', KEY, '0', '-1']),
  form('blpop', ['BLPOP', KEY, '1']),
  form('zadd', ['ZADD', KEY, '1', 'm']),
  form('zrem', ['ZREM', KEY, 'm']),
  form('zcard', ['ZCARD', KEY]),
  form('zscore', ['ZSCORE', KEY, 'm']),
  form('zrange', ['ZRANGE', KEY, '0', '-1']),
  form('zrangestore', ['ZRANGESTORE', KEY2, KEY, '0', '-1']),
  form('zrangebyscore', ['ZRANGEBYSCORE', KEY, '0', '1']),
  form('zremrangebyscore', ['ZREMRANGEBYSCORE', KEY, '0', '1']),
  form('zremrangebyrank', ['ZREMRANGEBYRANK', KEY, '0', '1']),
  form('xadd', ['XADD', KEY, '*', 'f', 'v']),
  form('incr', ['INCR', KEY]),
  form('get', ['GET', KEY]),
  form('set', ['SET', KEY, 'v']),
  form('sadd', ['SADD', KEY, 'm']),
  form('srem', ['SREM', KEY, 'm']),
  form('smembers', ['SMEMBERS', KEY]),
  form('pexpire', ['PEXPIRE', KEY, '1000']),
  form('pexpireat', ['PEXPIREAT', KEY, '1']),
  form('pttl', ['PTTL', KEY]),
  form('scan', ['SCAN', '0']),
  form('wait', ['WAIT', '0', '0'], 'durability'),
  form('cluster|slots', ['CLUSTER', 'SLOTS'], 'cluster'),
  form('cluster|info', ['CLUSTER', 'INFO'], 'cluster'),
];

/** The ACL names of every command the check asks about: the order refusals are named in. */
export const SUPERVISOR_ACL_COMMANDS: readonly string[] = [
  ...SUPERVISOR_COMMANDS.filter((c) => c.need !== 'durability' && c.need !== 'cluster').map((c) => c.acl),
  'multi',
  'exec',
  ...SUPERVISOR_COMMANDS.filter((c) => c.need === 'durability' || c.need === 'cluster').map((c) => c.acl),
];

export interface PermissionContext {
  cluster: boolean;
  /** Writes wait for replicas (--redis-wait-replicas > 0): WAIT is sent. */
  durability: boolean;
  /** A database other than 0: ioredis sends SELECT on every connect. */
  db: number;
}

export type PermissionAnswer =
  | { ok: true }
  | {
      ok: false;
      /** ACL names of the commands refused. */
      commands: string[];
      /** Some command was refused for the key it names (the user's key patterns leave out troupe:). */
      keys: boolean;
      /** MULTI itself was refused, so nothing after it could be asked. */
      multiRefused: boolean;
    };

const isNoPerm = (err: unknown) => err instanceof Error && /\bNOPERM\b/.test(err.message);
const isKeyRefusal = (err: unknown) => err instanceof Error && /\bkeys?\b/i.test(err.message);

/**
 * Asks the server behind `client` (a plain connection of the check's own: it is left inside a
 * MULTI, so the caller must disconnect it afterwards) which of the supervisor's commands its user
 * may not run. Errors other than NOPERM (MOVED on a cluster node that does not own the key, an
 * unknown command on an old server) mean the ACL let the command through, so they count as allowed.
 */
export async function checkSupervisorPermissions(client: Redis, context: PermissionContext): Promise<PermissionAnswer> {
  const refused: string[] = [];
  let keys = false;
  const ask = async (acl: string, argv: string[]) => {
    try {
      await client.call(argv[0]!, ...argv.slice(1));
    } catch (err) {
      if (!isNoPerm(err)) return;
      // EXEC's refusal comes wrapped in EXECABORT and names the command, not a key.
      if (acl !== 'exec' && isKeyRefusal(err)) keys = true;
      else refused.push(acl);
    }
  };
  await ask('exec', ['EXEC']);
  try {
    await client.call('MULTI');
  } catch (err) {
    if (!isNoPerm(err)) throw err;
    return { ok: false, commands: ['multi', ...refused], keys, multiRefused: true };
  }
  const needed = SUPERVISOR_COMMANDS.filter(
    (c) => c.need === 'always' || (c.need === 'cluster' && context.cluster) || (c.need === 'durability' && context.durability),
  );
  const forms = context.db !== 0 ? [form('select', ['SELECT', String(context.db)], 'db'), ...needed] : needed;
  // Sent together: one round trip, each reply read on its own.
  await Promise.all(forms.map((c) => ask(c.acl, c.argv)));
  if (refused.length === 0 && !keys) return { ok: true };
  const order = new Map(['select', ...SUPERVISOR_ACL_COMMANDS].map((name, i) => [name, i]));
  refused.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  return { ok: false, commands: refused, keys, multiRefused: false };
}

/**
 * One sentence: what the user may not do, and the rule that fixes it. `user` is the ACL user the
 * URL names (`default` when it names none).
 */
export function describeRefusal(answer: Extract<PermissionAnswer, { ok: false }>, user: string): string {
  const parts: string[] = [];
  const rules: string[] = [];
  if (answer.commands.length > 0) {
    parts.push(`may not run ${answer.commands.join(', ')}`);
    rules.push(...answer.commands.map((c) => `+${c}`));
  }
  if (answer.keys) {
    parts.push('may not touch keys under troupe:');
    rules.push('~troupe:*');
  }
  const unchecked = answer.multiRefused ? ' (without MULTI the other commands could not be asked about)' : '';
  return (
    `user "${user}" ${parts.join(' and ')} (NOPERM)${unchecked}: grant ${rules.length > 1 ? 'them' : 'it'} with ` +
    `ACL SETUSER ${user} ${rules.join(' ')}, or give the user the supervisor's minimal ACL in docs/operations.md ("Access control (ACL)")`
  );
}
