import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  REPLICATION_ARGS,
  RedisProcess,
  encodedPassword,
  freePortOn,
  infoFields,
  makeTempDir,
  probePing,
  redisCli,
  removeTempDir,
  waitUntil,
  type RedisAddress,
  type RedisNode,
} from './redis-cluster.js';

/*
 * A master, its replicas and a quorum of sentinels, all real processes. Probes go through
 * redis-cli with the same spawnPrefix as the servers (see redis-cluster.ts).
 */

export interface StartSentinelGroupOptions {
  /** Default 'troupe-master'. */
  masterName?: string;
  /** Default 1. */
  replicas?: number;
  /** Default 3 (quorum 2). */
  sentinels?: number;
  /** requirepass/masterauth on the data nodes; sentinels get it as auth-pass. No spaces or quotes. */
  password?: string;
  /** requirepass on the sentinels themselves. No spaces or quotes. */
  sentinelPassword?: string;
  /** Runs every redis-server and redis-cli through it, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  spawnPrefix?: string[];
  /** Default 127.0.0.1. */
  bindHost?: string;
}

export interface TestSentinelGroup {
  readonly masterName: string;
  /** redis+sentinel://[:PASS@]host:port,…/NAME (PASS is the data nodes' password). */
  readonly url: string;
  readonly sentinelPassword: string | undefined;
  readonly sentinels: readonly RedisNode[];
  /** Data nodes: the first is the master at start, the rest its replicas. */
  readonly servers: readonly RedisNode[];
  /** The master the sentinels name now. */
  currentMaster(): Promise<RedisNode>;
  /** Signals a server's or sentinel's process group and waits for it to exit. */
  kill(node: RedisAddress, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts a server or sentinel again on its port and dir. Resolves once it answers PING. Without
   * `replicaOf` a former master comes back as an empty master of its own until the sentinels turn
   * it into a replica; in that window a second failover can promote it and lose every key (the
   * hazard the Redis replication docs warn of when persistence is off). `replicaOf` starts it as a
   * replica of that server instead, as an operator should.
   */
  restart(node: RedisAddress, options?: { replicaOf?: RedisAddress }): Promise<void>;
  pause(node: RedisAddress): void;
  resume(node: RedisAddress): void;
  /**
   * Resolves once every running sentinel names a master other than `oldMaster` and that master
   * answers ROLE as master. Returns ms since kill()/pause() of oldMaster, or since this call.
   */
  waitForFailover(oldMaster: RedisAddress, timeoutMs?: number): Promise<number>;
  /**
   * Every running sentinel names the same master, knows every running replica as a healthy
   * replica and knows the other sentinels; every running replica is synced to that master. After
   * restart() of a former master this takes a second or two: the sentinels must turn it into a
   * replica, and it must sync.
   */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every process and removes the temp dir. Safe to call twice. */
  destroy(): Promise<void>;
}

/** Every line of a flat redis-cli reply of field/value pairs (SENTINEL master). */
function pairs(text: string): Map<string, string> {
  const lines = text.split('\n').map((l) => l.trim());
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) fields.set(lines[i] ?? '', lines[i + 1] ?? '');
  return fields;
}

/** SENTINEL replicas: one flat list of field/value pairs, each replica's starting at "name". */
function records(text: string): Array<Map<string, string>> {
  const lines = text.split('\n').map((l) => l.trim());
  const list: Array<Map<string, string>> = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    if (lines[i] === 'name') list.push(new Map());
    list.at(-1)?.set(lines[i] ?? '', lines[i + 1] ?? '');
  }
  return list;
}

/** A sentinel-watched master with replicas. Always call destroy() (use t.after). */
export async function startSentinelGroup(options: StartSentinelGroupOptions = {}): Promise<TestSentinelGroup> {
  const masterName = options.masterName ?? 'troupe-master';
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const host = options.bindHost ?? '127.0.0.1';
  const prefix = options.spawnPrefix ?? [];
  const { password, sentinelPassword } = options;
  const quorum = Math.floor(sentinelCount / 2) + 1;
  // Sentinel rewrites its config without quoting these, and a restarted sentinel would fail to parse them.
  for (const [what, value] of [['masterName', masterName], ['password', password], ['sentinelPassword', sentinelPassword]] as const) {
    if (value !== undefined && /[\s"']/.test(value)) throw new Error(`startSentinelGroup: ${what} must not contain spaces or quotes`);
  }
  // A spawnPrefix means a private network namespace: the usual ports are free there.
  const port = async (i: number, base: number) => (prefix.length > 0 ? base + i : freePortOn(host));
  const dataPorts: number[] = [];
  for (let i = 0; i <= replicaCount; i += 1) dataPorts.push(await port(i, 6_379));
  const sentinelPorts: number[] = [];
  for (let i = 0; i < sentinelCount; i += 1) sentinelPorts.push(await port(i, 26_379));
  const [masterPort] = dataPorts;
  if (masterPort === undefined) throw new Error('no port for the master');

  const root = makeTempDir('sentinel');
  const servers = dataPorts.map((p, i) => {
    const dir = join(root, `redis-${p}`);
    return new RedisProcess(host, p, dir, [
      '--port', String(p), '--bind', host, '--dir', dir, '--logfile', join(dir, 'redis.log'),
      '--save', '', '--appendonly', 'no', ...REPLICATION_ARGS,
      ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
      ...(i === 0 ? [] : ['--replicaof', host, String(masterPort)]),
    ], prefix);
  });
  const sentinels = sentinelPorts.map((p) => {
    const dir = join(root, `sentinel-${p}`);
    const conf = join(dir, 'sentinel.conf');
    const quote = (value: string) => JSON.stringify(value);
    const lines = [
      `port ${p}`, `bind ${host}`, `dir ${quote(dir)}`, `logfile ${quote(join(dir, 'redis.log'))}`,
      // A bindHost other than loopback would otherwise refuse clients when no password is set.
      'protected-mode no',
      `sentinel monitor ${masterName} ${host} ${masterPort} ${quorum}`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 5000`,
      `sentinel parallel-syncs ${masterName} 1`,
      ...(password === undefined ? [] : [`sentinel auth-pass ${masterName} ${quote(password)}`]),
      // Sentinels talk to each other too: the same password both ways.
      ...(sentinelPassword === undefined ? [] : [`requirepass ${quote(sentinelPassword)}`, `sentinel sentinel-pass ${quote(sentinelPassword)}`]),
    ];
    const proc = new RedisProcess(host, p, dir, [conf, '--sentinel'], prefix);
    // Sentinel rewrites its file (state, discovered peers): a file of its own in its dir.
    writeFileSync(conf, `${lines.join('\n')}\n`);
    return proc;
  });
  const all = [...servers, ...sentinels];
  const auth = (secret: string | undefined) => (secret === undefined ? [] : ['-a', secret, '--no-auth-warning']);
  const cli = (proc: RedisAddress, command: string[]) => {
    const secret = sentinels.some((s) => s.port === proc.port) ? sentinelPassword : password;
    return redisCli(prefix, ['-h', proc.host, '-p', String(proc.port), ...auth(secret)], command);
  };
  const logs = () => all.map((p) => p.logTail()).join('');
  const find = (node: RedisAddress): RedisProcess => {
    const proc = all.find((p) => p.port === node.port);
    if (!proc) throw new Error(`port ${node.port} is not a server or sentinel of this group`);
    return proc;
  };
  const live = (procs: RedisProcess[]) => procs.filter((p) => p.running && !p.paused);
  const answers = (procs: RedisProcess[]) =>
    Promise.all(procs.map((proc) => waitUntil(`port ${proc.port} did not answer`, 10_000, () => probePing(proc, (c) => cli(proc, c)), () => proc.logTail())));
  // Sentinels re-read INFO every 10 s and say hello every 2 s: that is how they find replicas,
  // notice a former master is back, and find each other. Tests should not wait that long
  // (Redis before 7.0 has no SENTINEL DEBUG: there the group is only slower).
  const quicken = (procs: RedisProcess[]) =>
    Promise.all(procs.map((proc) => cli(proc, ['SENTINEL', 'DEBUG', 'info-period', '1000', 'publish-period', '500']).catch(() => undefined)));
  const synced = async (replica: RedisProcess, master: RedisAddress): Promise<void> => {
    const death = replica.death;
    if (death) throw new Error(death);
    const info = infoFields(await cli(replica, ['INFO', 'replication']));
    if (info.get('role') !== 'slave' || info.get('master_port') !== String(master.port)) {
      throw new Error(`server ${replica.port}: role:${info.get('role')} master_port:${info.get('master_port')}, not a replica of ${master.port}`);
    }
    if (info.get('master_link_status') !== 'up' || info.get('master_sync_in_progress') !== '0') {
      throw new Error(`replica ${replica.port}: master_link_status:${info.get('master_link_status')} master_sync_in_progress:${info.get('master_sync_in_progress')}`);
    }
  };
  const masterAddress = async (sentinel: RedisProcess): Promise<RedisAddress> => {
    const [ip, p] = (await cli(sentinel, ['SENTINEL', 'get-master-addr-by-name', masterName])).trim().split('\n');
    if (!ip || !p) throw new Error(`sentinel ${sentinel.port} knows no master ${masterName}`);
    return { host: ip.trim(), port: Number(p) };
  };

  const healthy = async (): Promise<void> => {
    const running = live(sentinels);
    if (running.length === 0) throw new Error('no running sentinel');
    const named = await Promise.all(running.map(masterAddress));
    if (new Set(named.map((a) => a.port)).size > 1) throw new Error(`sentinels name ${named.map((a) => `${a.host}:${a.port}`).join(', ')}`);
    const [master] = named;
    if (!master) throw new Error('no master named');
    const replicas = live(servers).filter((p) => p.port !== master.port);
    await Promise.all(replicas.map((proc) => synced(proc, master)));
    await Promise.all(
      running.map(async (proc) => {
        const info = pairs(await cli(proc, ['SENTINEL', 'master', masterName]));
        const others = Number(info.get('num-other-sentinels'));
        if (info.get('flags') !== 'master' || others !== sentinelCount - 1) {
          throw new Error(`sentinel ${proc.port}: flags:${info.get('flags')} num-other-sentinels:${others}`);
        }
        const known = records(await cli(proc, ['SENTINEL', 'replicas', masterName]));
        for (const replica of replicas) {
          const record = known.find((r) => r.get('port') === String(replica.port));
          if (record?.get('flags') !== 'slave') throw new Error(`sentinel ${proc.port} sees replica ${replica.port} as ${record?.get('flags') ?? 'unknown'}`);
        }
      }),
    );
  };

  let destroyed: Promise<void> | undefined;
  const destroy = () => {
    destroyed ??= (async () => {
      await Promise.all(all.map((p) => p.stop()));
      removeTempDir(root);
    })();
    return destroyed;
  };

  try {
    for (const proc of servers) proc.start();
    await answers(servers);
    // Sentinels learn the replicas from the master's INFO, which they re-read only every 10 s:
    // start them once the master lists every replica, and the first read has them all.
    // A master killed before its replica's first sync has nobody to fail over to. The sentinels
    // start after it, so their first look at the master's INFO lists every replica.
    const [master] = servers;
    if (!master) throw new Error('no master');
    await waitUntil('the replicas did not finish their first sync', 30_000, async () => {
      await Promise.all(servers.slice(1).map((proc) => synced(proc, master)));
      const online = [...(await cli(master, ['INFO', 'replication'])).matchAll(/^slave\d+:.*state=online/gm)].length;
      if (online < replicaCount) throw new Error(`master lists ${online} of ${replicaCount} replicas online`);
    }, logs);
    for (const proc of sentinels) proc.start();
    await answers(sentinels);
    await quicken(sentinels);
    await waitUntil('the sentinels did not find each other and the replicas', 30_000, healthy, logs);
  } catch (err) {
    await destroy();
    throw err;
  }

  const serverAt = (address: RedisAddress): RedisNode => {
    const proc = servers.find((p) => p.port === address.port);
    if (!proc) throw new Error(`the sentinels name ${address.host}:${address.port}, not a server of this group`);
    return proc.node;
  };

  return {
    masterName,
    url: `redis+sentinel://${encodedPassword(password)}${sentinels.map((s) => `${s.host}:${s.port}`).join(',')}/${encodeURIComponent(masterName)}`,
    sentinelPassword,
    sentinels: sentinels.map((p) => p.node),
    servers: servers.map((p) => p.node),
    currentMaster: async () => {
      let lastError: unknown = new Error('no running sentinel to ask');
      for (const sentinel of live(sentinels)) {
        try {
          return serverAt(await masterAddress(sentinel));
        } catch (err) {
          lastError = err;
        }
      }
      throw lastError;
    },
    kill: (node, signal = 'SIGKILL') => find(node).kill(signal),
    restart: async (node, { replicaOf } = {}) => {
      const proc = find(node);
      await proc.stop();
      proc.start(replicaOf ? ['--replicaof', replicaOf.host, String(replicaOf.port)] : []);
      await answers([proc]);
      if (sentinels.includes(proc)) await quicken([proc]);
    },
    pause: (node) => find(node).pause(),
    resume: (node) => find(node).resume(),
    waitForFailover: async (oldMaster, timeoutMs = 30_000) => {
      const started = find(oldMaster).lostAt ?? Date.now();
      await waitUntil(
        `the sentinels did not replace ${oldMaster.host}:${oldMaster.port}`,
        timeoutMs,
        async () => {
          const running = live(sentinels);
          if (running.length === 0) throw new Error('no running sentinel');
          // Clients may ask any sentinel: all of them must name the new master.
          const named = await Promise.all(running.map(masterAddress));
          const ports = new Set(named.map((a) => a.port));
          const [first] = named;
          if (!first || ports.size > 1 || first.port === oldMaster.port) {
            throw new Error(`sentinels name ${named.map((a) => `${a.host}:${a.port}`).join(', ')}`);
          }
          const role = (await cli(first, ['ROLE'])).split('\n')[0]?.trim();
          if (role !== 'master') throw new Error(`${first.host}:${first.port} answers ROLE with ${role}`);
        },
        logs,
      );
      return Date.now() - started;
    },
    waitForHealthy: (timeoutMs = 30_000) => waitUntil('the sentinel group did not become healthy', timeoutMs, healthy, logs),
    destroy,
  };
}
