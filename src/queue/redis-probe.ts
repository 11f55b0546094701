import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { createRedis, tlsOptions, toSpec, type RedisConnectionSpec } from './connection.js';
import { describeTopology, parseRedisUrl, redactRedisUrl, type ParsedRedisUrl, type RedisAddress } from './redis-url.js';
import { checkSupervisorPermissions, describeRefusal } from './redis-permissions.js';

/**
 * Checks a Redis before anything is built on it, and turns what went wrong into one sentence
 * with the cause and the fix. ioredis alone mostly says "Connection is closed." or retries
 * forever; here every node is asked directly, with retries off, so the first real cause is kept.
 */

export type ProbeResult =
  | { ok: true; topology: string; masters: number }
  | { ok: false; error: string; /** the cause alone, without the fix (for tests and logs) */ cause: string };

export interface ProbeOptions {
  /**
   * Also ask whether the user may run every command a supervisor sends (redis-permissions.ts):
   * a refusal fails the probe with a cause starting `NOPERM`, naming the commands.
   */
  supervisorCommands?: boolean;
}

const DEFAULT_TIMEOUT_MS = 1_500;

interface NodeAnswer {
  ok: boolean;
  cause?: string;
  client?: Redis;
}

/** Plain one-node connection with retries off: the first error is the answer. */
async function openNode(address: RedisAddress, options: RedisOptions, timeoutMs: number): Promise<NodeAnswer> {
  const client = new Redis({
    ...options,
    host: address.host,
    port: address.port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // The ready check is INFO, and ioredis prints its own line when an ACL refuses it; the probe's
    // PING reports a loading server (LOADING) by itself, and a refused INFO is named below.
    enableReadyCheck: false,
  });
  let cause: string | undefined;
  client.on('error', (err: Error) => {
    cause ??= describeError(err);
  });
  try {
    await client.connect();
    await client.ping();
    return { ok: true, client };
  } catch (err) {
    client.disconnect();
    return { ok: false, cause: await refineCause(address, options.tls, cause ?? describeError(err), timeoutMs) };
  }
}

interface Glance {
  handshake: boolean;
  error?: unknown;
  /** First byte of the answer to a plain PING. */
  reply?: string;
}

/** Opens the port once more, bare, and reports what it said within timeoutMs. Never throws. */
function glance(address: RedisAddress, timeoutMs: number, tls?: TlsOptions): Promise<Glance> {
  return new Promise((resolve) => {
    const result: Glance = { handshake: false };
    const socket = tls ? tlsConnect({ ...tls, host: address.host, port: address.port }) : netConnect({ host: address.host, port: address.port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on(tls ? 'secureConnect' : 'connect', () => {
      result.handshake = true;
      // Over TLS nothing is written, so a server's alert is read instead of lost to a reset.
      if (!tls) socket.write('PING\r\n');
    });
    socket.on('data', (d: Buffer) => {
      result.reply = d.toString('latin1', 0, 1);
      done();
    });
    socket.on('error', (err: Error) => {
      result.error = err;
      done();
    });
    socket.on('close', done);
  });
}

/**
 * A reset or a timeout says little, and three common mistakes end in one: a TLS server that wants
 * a client certificate sends its alert after the handshake, so a client that already wrote a
 * command sees only the reset; a plain Redis given a TLS hello waits for a newline that never
 * comes; a TLS port given plain text just hangs up. A second, bare look tells them apart.
 */
async function refineCause(address: RedisAddress, tls: TlsOptions | undefined, cause: string, timeoutMs: number): Promise<string> {
  const c = cause.toLowerCase();
  const reset = c.includes('econnreset') || c.includes('connection is closed') || c.includes('socket hang up');
  const timeout = c.includes('etimedout') || c.includes('timed out');
  if (tls && timeout) {
    const plain = await glance(address, timeoutMs);
    return plain.reply === '+' || plain.reply === '-' ? `${cause}, and the port answers plain-text Redis commands` : cause;
  }
  if (tls && reset) {
    const bare = await glance(address, timeoutMs, tls);
    return bare.error === undefined ? cause : describeError(bare.error);
  }
  if (!tls && reset) {
    const bare = await glance(address, timeoutMs, { rejectUnauthorized: false });
    // A TLS 1.2 server that wants a client certificate aborts the handshake with an alert: still TLS.
    const alert = String((bare.error as { code?: unknown } | undefined)?.code ?? '').includes('ALERT');
    return bare.handshake || alert ? `${cause}, and the port completes a TLS handshake` : cause;
  }
  return cause;
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const { code, reason } = err as { code?: unknown; reason?: unknown };
    // OpenSSL's own text ("80BC…:error:0A00045C:SSL routines:…:SSL alert number 116\n") spans
    // lines and buries the point; Node gives the point alone as `reason`.
    const message = /^[0-9A-F]+:error:/.test(err.message) && typeof reason === 'string' ? reason : err.message.replace(/\s*\n\s*/g, ' ').trim();
    return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(err);
}

/** The fix for a cause, as an operator would want it said. */
export function explainCause(cause: string, parsed: ParsedRedisUrl): string {
  const c = cause.toLowerCase();
  if (c.includes('wrongpass') || c.includes('invalid password') || c.includes('invalid username-password')) {
    return 'the user name or password is wrong: fix USER:PASSWORD@ in the URL (for ACL users, check `ACL LIST` on the server)';
  }
  if (c.includes('noauth') || c.includes('authentication required')) {
    return 'the server requires a password: add :PASSWORD@ (or USER:PASSWORD@ for an ACL user) to the URL';
  }
  if (c.includes('noperm')) return `the user lacks a permission: grant it (ACL SETUSER USER +COMMAND), or use the minimal ACL in docs/operations.md ("Access control (ACL)")`;
  if (c.includes('self-signed') || c.includes('self signed') || c.includes('unable to verify') || c.includes('unable to get local issuer')) {
    return "the server's TLS certificate is not signed by a CA this process trusts: give the CA's PEM file with --redis-tls-ca";
  }
  if (c.includes("does not match certificate's altnames") || c.includes('err_tls_cert_altname_invalid')) {
    return 'the server\'s TLS certificate is for another name: give that name with --redis-tls-server-name';
  }
  if (c.includes('certificate required') || c.includes('alert handshake failure') || c.includes('peer did not return a certificate')) {
    return 'the server requires a client certificate: give --redis-tls-cert and --redis-tls-key';
  }
  if (c.includes('wrong version number') || c.includes('packet length too long') || c.includes('unknown protocol') || c.includes('answers plain-text redis')) {
    return 'the TLS handshake failed: that port does not speak TLS (use redis:// for a plain port, or the server\'s tls-port)';
  }
  if (c.includes('completes a tls handshake')) return "that port speaks TLS: use rediss:// (with --redis-tls-ca for a private CA)";
  if (c.includes('cluster support disabled')) {
    return 'that server is a standalone Redis, not a cluster node: use redis://HOST:PORT';
  }
  if (c.includes('econnrefused')) return `nothing listens there (connection refused): start Redis, or fix HOST:PORT in the URL`;
  if (c.includes('enotfound') || c.includes('eai_again')) return 'the host name does not resolve: fix the host in the URL';
  if (c.includes('etimedout') || c.includes('timed out') || c.includes('timeout')) {
    return 'no answer in time (a firewall, a wrong address, or a server that is paused or overloaded)';
  }
  if (c.includes('connection is closed') || c.includes('econnreset') || c.includes('socket hang up')) {
    return parsed.tls
      ? 'the server closed the connection (a wrong CA, a missing client certificate, or not a TLS port)'
      : 'the server closed the connection (if it speaks TLS, use rediss://)';
  }
  return `${cause}: check the URL and that the server is running`;
}

function nodeOptions(spec: RedisConnectionSpec, parsed: ParsedRedisUrl, forSentinel: boolean): RedisOptions {
  const options: RedisOptions = {};
  const tls = tlsOptions(spec, parsed);
  if (tls) options.tls = tls;
  if (forSentinel) {
    if (spec.sentinelUsername !== undefined) options.username = spec.sentinelUsername;
    if (spec.sentinelPassword !== undefined) options.password = spec.sentinelPassword;
  } else {
    if (parsed.username !== undefined) options.username = parsed.username;
    if (parsed.password !== undefined) options.password = parsed.password;
  }
  return options;
}

/** What every step of one probe shares. */
interface Probe {
  spec: RedisConnectionSpec;
  parsed: ParsedRedisUrl;
  timeoutMs: number;
  /** Where the URL came from (a flag, a variable), for the message. */
  from: string;
  options: ProbeOptions;
}

function fail(probe: Probe, where: string, cause: string): ProbeResult {
  const { spec, parsed, from } = probe;
  // Redis was reached and said no: not a matter of reaching it.
  const what = cause.includes('NOPERM') ? `Redis at ${redactRedisUrl(spec.url)}${from} refused a command` : `cannot reach Redis at ${redactRedisUrl(spec.url)}${from}`;
  return { ok: false, cause, error: `${what}: ${where}${cause}; ${explainCause(cause, parsed)}` };
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/** A standalone URL must reach a plain Redis: a cluster node or a sentinel there is a wrong URL form. */
async function checkStandaloneRole(client: Redis, url: string, parsed: ParsedRedisUrl): Promise<ProbeResult> {
  const server = await client.info('server');
  const mode = infoField(server, 'redis_mode');
  if (mode === 'sentinel') {
    return { ok: false, cause: 'a Sentinel', error: `${redactRedisUrl(url)} is a Redis Sentinel, not a data server: ${await sentinelFix(client, parsed)}` };
  }
  if (mode === 'cluster') {
    return { ok: false, cause: 'a cluster node', error: `${redactRedisUrl(url)} is a Redis Cluster node: use redis+cluster://HOST:PORT[,HOST:PORT…] so every slot is reached` };
  }
  return { ok: true, topology: describeTopology(parsed), masters: 1 };
}

/** The redis+sentinel:// URL to use instead, with the master's name when the sentinel says it. */
async function sentinelFix(client: Redis, parsed: ParsedRedisUrl): Promise<string> {
  const { host, port } = parsed.nodes[0]!;
  const at = `${parsed.tls ? 'rediss' : 'redis'}+sentinel://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const names: string[] = [];
  try {
    for (const fields of (await client.call('SENTINEL', 'masters')) as string[][]) {
      const i = fields.indexOf('name');
      if (i !== -1 && fields[i + 1]) names.push(fields[i + 1]!);
    }
  } catch {
    // A sentinel that will not list its masters (an ACL): the generic form below says enough.
  }
  if (names.length === 1) return `use ${at}/${names[0]} (the master it monitors; list more sentinels after a comma)`;
  if (names.length > 1) return `use ${at}/MASTER_NAME, MASTER_NAME one of ${names.map((n) => `"${n}"`).join(', ')} (the masters it monitors)`;
  return `use redis+sentinel://HOST:PORT/MASTER_NAME`;
}

/** The user the URL names, as ACL knows it. */
const aclUser = (parsed: ParsedRedisUrl) => parsed.username || 'default';

/**
 * Asks a data node (a connection of the probe's own, disconnected afterwards by the caller) whether
 * the URL's user may run what a supervisor sends. Bounded by timeoutMs * 2.
 */
async function checkPermissions(probe: Probe, client: Redis): Promise<ProbeResult | undefined> {
  const { spec, parsed, timeoutMs, from } = probe;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs * 2)));
  try {
    const context = { cluster: parsed.topology === 'cluster', durability: (spec.waitReplicas ?? 0) > 0, db: parsed.db };
    const answer = await Promise.race([checkSupervisorPermissions(client, context), late]);
    if (answer === 'late') return fail(probe, 'asking which commands its user may run: ', `timed out after ${timeoutMs * 2} ms`);
    if (answer.ok) return undefined;
    return {
      ok: false,
      cause: `NOPERM ${[...answer.commands, ...(answer.keys ? ['keys troupe:*'] : [])].join(', ')}`,
      error: `Redis at ${redactRedisUrl(spec.url)}${from} refuses commands a supervisor needs: ${describeRefusal(answer, aclUser(parsed))}`,
    };
  } catch (err) {
    return fail(probe, 'asking which commands its user may run: ', describeError(err));
  } finally {
    clearTimeout(timer);
  }
}

const isNoPerm = (err: unknown) => describeError(err).includes('NOPERM');

async function probeCluster(probe: Probe): Promise<ProbeResult> {
  const { spec, parsed, timeoutMs } = probe;
  const options = nodeOptions(spec, parsed, false);
  let firstCause: string | undefined;
  for (const seed of parsed.nodes) {
    const answer = await openNode(seed, options, timeoutMs);
    if (!answer.ok) {
      firstCause ??= `${seed.host}:${seed.port}: ${answer.cause}`;
      continue;
    }
    try {
      const info = (await answer.client!.call('CLUSTER', 'INFO').catch((err: unknown) => {
        throw new Error(describeError(err));
      })) as string;
      const state = infoField(info, 'cluster_state');
      if (state !== 'ok') {
        return {
          ok: false,
          cause: `cluster_state:${state}`,
          error: `the Redis Cluster at ${redactRedisUrl(spec.url)} is down (cluster_state:${state} on ${seed.host}:${seed.port}): some slots have no reachable master; check it with redis-cli --cluster check ${seed.host}:${seed.port}`,
        };
      }
      const masters = Number(infoField(info, 'cluster_size') ?? 0);
      if (probe.options.supervisorCommands) {
        const refused = await checkPermissions(probe, answer.client!);
        if (refused) return refused;
      }
      return await verifyThroughClient(probe, masters);
    } catch (err) {
      return fail(probe, `${seed.host}:${seed.port}: `, describeError(err));
    } finally {
      answer.client!.disconnect();
    }
  }
  return fail(probe, 'no seed node answered; first: ', firstCause ?? 'no seeds');
}

async function probeSentinel(probe: Probe): Promise<ProbeResult> {
  const { spec, parsed, timeoutMs } = probe;
  const options = nodeOptions(spec, parsed, true);
  const name = parsed.masterName!;
  let firstCause: string | undefined;
  const known = new Set<string>();
  for (const sentinel of parsed.nodes) {
    const answer = await openNode(sentinel, options, timeoutMs);
    if (!answer.ok) {
      firstCause ??= `sentinel ${sentinel.host}:${sentinel.port}: ${answer.cause}`;
      continue;
    }
    try {
      const address = (await answer.client!.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
      if (address) {
        const verified = await verifyThroughClient(probe, 1);
        if (!verified.ok || !probe.options.supervisorCommands) return verified;
        return (await checkMasterPermissions(probe, { host: address[0], port: Number(address[1]) })) ?? verified;
      }
      const masters = (await answer.client!.call('SENTINEL', 'masters')) as string[][];
      for (const fields of masters) {
        const i = fields.indexOf('name');
        if (i !== -1 && fields[i + 1]) known.add(fields[i + 1]!);
      }
    } catch (err) {
      const cause = describeError(err);
      if (cause.toLowerCase().includes('unknown command')) {
        return { ok: false, cause: 'not a sentinel', error: `${sentinel.host}:${sentinel.port} is not a Redis Sentinel: list sentinels in redis+sentinel://, or use redis:// for a plain server` };
      }
      firstCause ??= `sentinel ${sentinel.host}:${sentinel.port}: ${cause}`;
    } finally {
      answer.client!.disconnect();
    }
  }
  if (firstCause === undefined || known.size > 0) {
    const names = known.size > 0 ? `they know ${[...known].map((n) => `"${n}"`).join(', ')}` : 'they monitor no master';
    return {
      ok: false,
      cause: `unknown master "${name}"`,
      error: `no sentinel at ${redactRedisUrl(spec.url)} knows a master named "${name}" (${names}): fix the name after the last / of the URL`,
    };
  }
  return fail(probe, 'no sentinel answered; first: ', firstCause);
}

/** The permission check on the master a sentinel named, over a plain connection of its own. */
async function checkMasterPermissions(probe: Probe, master: RedisAddress): Promise<ProbeResult | undefined> {
  const answer = await openNode(master, { ...nodeOptions(probe.spec, probe.parsed, false), db: probe.parsed.db }, probe.timeoutMs);
  if (!answer.ok) return fail(probe, `master "${probe.parsed.masterName}" at ${master.host}:${master.port}: `, answer.cause!);
  try {
    return await checkPermissions(probe, answer.client!);
  } finally {
    answer.client!.disconnect();
  }
}

/** The real client, retries off: confirms auth on the data nodes and routing as the runtime will see it. */
async function verifyThroughClient(probe: Probe, masters: number): Promise<ProbeResult> {
  const { spec, parsed, timeoutMs } = probe;
  const client = createRedis(spec, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let cause: string | undefined;
  client.on('error', (err: Error) => {
    cause ??= describeError(err);
  });
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${timeoutMs * 2} ms`)), timeoutMs * 2).unref());
  try {
    await Promise.race([client.connect(), timer]);
    await Promise.race([client.ping(), timer]);
    return { ok: true, topology: describeTopology(parsed), masters };
  } catch (err) {
    const where = parsed.topology === 'sentinel' ? `master "${parsed.masterName}": ` : '';
    return fail(probe, where, cause ?? describeError(err));
  } finally {
    client.disconnect();
  }
}

/** Answers whether the Redis the spec names can be used, and if not, why and how to fix it. */
export async function probeRedis(option: string | RedisConnectionSpec, timeoutMs = DEFAULT_TIMEOUT_MS, from?: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const spec = toSpec(option);

  let parsed: ParsedRedisUrl;
  try {
    parsed = parseRedisUrl(spec.url);
    tlsOptions(spec, parsed);
  } catch (err) {
    return { ok: false, cause: describeError(err), error: `${redactRedisUrl(spec.url)}: ${describeError(err)}` };
  }
  const probe: Probe = { spec, parsed, timeoutMs, from: from ? ` (from ${from})` : '', options };
  if (parsed.topology === 'cluster') return probeCluster(probe);
  if (parsed.topology === 'sentinel') return probeSentinel(probe);
  const answer = await openNode(parsed.nodes[0]!, { ...nodeOptions(spec, parsed, false), db: parsed.db }, timeoutMs);
  if (!answer.ok) return fail(probe, '', answer.cause!);
  try {
    let role: ProbeResult;
    try {
      role = await checkStandaloneRole(answer.client!, spec.url, parsed);
    } catch (err) {
      // INFO refused: the permission check below names it with the rest.
      if (!(options.supervisorCommands && isNoPerm(err))) throw err;
      role = { ok: true, topology: describeTopology(parsed), masters: 1 };
    }
    if (!role.ok || !options.supervisorCommands) return role;
    return (await checkPermissions(probe, answer.client!)) ?? role;
  } catch (err) {
    return fail(probe, '', describeError(err));
  } finally {
    answer.client!.disconnect();
  }
}
