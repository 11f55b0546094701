import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A real Redis Cluster of the test's own. Every probe goes through `redis-cli` run with the same
 * spawnPrefix as the servers, so a cluster inside a network namespace the test process cannot
 * reach is probed exactly like one on loopback. The process and polling pieces at the top are
 * shared with redis-sentinel.ts and tls-certs.ts.
 */

export interface RedisAddress {
  host: string;
  port: number;
}

export interface RedisNode extends RedisAddress {
  /** Changes on restart(). */
  readonly pid: number;
  readonly dir: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether `promise` settles within `ms`. The timer goes with it: a pending one would hold the test process open. */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Detached process groups miss the terminal's Ctrl-C and outlive a test that crashes before its
// destroy(); this sweeps what is left when the test process exits.
const livePids = new Set<number>();
const tempDirs = new Set<string>();
let sweepInstalled = false;
function installSweep(): void {
  if (sweepInstalled) return;
  sweepInstalled = true;
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** A temp dir removed by removeTempDir() or, failing that, when the test process exits. */
export function makeTempDir(label: string): string {
  installSweep();
  const dir = mkdtempSync(join(tmpdir(), `troupe-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function withPrefix(prefix: readonly string[], program: string, args: readonly string[]): [string, string[]] {
  const [file, ...rest] = [...prefix, program, ...args];
  return [file ?? program, rest];
}

/** Thrown by a probe when waiting longer cannot help (a server exited): waitUntil stops at once. */
export class ProbeGaveUp extends Error {}

/**
 * Polls `probe` until it returns. Its errors say why not yet; the last one, and `context()`
 * (log tails), go into the timeout error so a failed start explains itself.
 */
export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T>, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no probe finished';
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof ProbeGaveUp) throw new Error(`${what}: ${message}${context()}`);
      last = message;
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last check: ${last}${context()}`);
    await sleep(100);
  }
}

// redis-cli prints an error reply on stdout and still exits 0.
const ERROR_REPLY = /^(ERR|WRONGTYPE|NOAUTH|WRONGPASS|NOPERM|LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|READONLY|MOVED|ASK|TRYAGAIN|NOREPLICAS)\b/;

/** Runs one command with redis-cli (through `prefix`), returning its raw stdout. */
export function redisCli(prefix: readonly string[], connection: readonly string[], command: readonly string[], timeoutMs = 3_000): Promise<string> {
  const [file, args] = withPrefix(prefix, 'redis-cli', [...connection, ...command]);
  return new Promise((resolve, reject) => {
    // The timeout matters for a SIGSTOPped server: the kernel accepts the connection, nobody answers.
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const where = connection.map((part, i) => (connection[i - 1] === '-a' ? '***' : part)).join(' ');
      if (err) return reject(new Error(`redis-cli ${where} ${command.join(' ')}: ${(stderr || stdout).trim() || err.message}`));
      if (ERROR_REPLY.test(stdout)) return reject(new Error(`redis-cli ${where} ${command.join(' ')}: ${stdout.trim()}`));
      resolve(stdout);
    });
  });
}

/** `field:value` lines of INFO or CLUSTER INFO. */
export function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

function tail(path: string, lines: number): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** One redis-server (data node, cluster node or sentinel) in a process group of its own. */
export class RedisProcess {
  readonly node: RedisNode;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopped = false;
  private spawnError: Error | undefined;
  /** When kill() or pause() last took it away: failover times are measured from here. */
  lostAt: number | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly dir: string,
    private readonly args: readonly string[],
    private readonly spawnPrefix: readonly string[],
  ) {
    mkdirSync(dir, { recursive: true });
    const pid = () => this.child?.pid ?? 0;
    this.node = {
      host,
      port,
      dir,
      get pid() {
        return pid();
      },
    };
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null && this.spawnError === undefined;
  }

  get paused(): boolean {
    return this.running && this.stopped;
  }

  /** Why it is not running, for a probe to give up on; undefined while it runs. */
  get death(): string | undefined {
    if (this.spawnError) return `redis-server on port ${this.port} could not start: ${this.spawnError.message}`;
    const child = this.child;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      return `redis-server on port ${this.port} exited (${child.signalCode ?? `code ${child.exitCode}`})`;
    }
    return undefined;
  }

  /** `extraArgs` apply to this start only (e.g. a former master coming back with --replicaof). */
  start(extraArgs: readonly string[] = []): void {
    if (this.running) throw new Error(`redis-server on port ${this.port} is already running`);
    // Full syncs leave a dump.rdb; without persistence a restarted server must not load that
    // snapshot of some earlier sync.
    const save = this.args.lastIndexOf('--save');
    if (this.child && (save === -1 || this.args[save + 1] === '')) rmSync(join(this.dir, 'dump.rdb'), { force: true });
    // Fatal config errors go to stdout before the log file opens: keep them too.
    const out = openSync(join(this.dir, 'stdout.log'), 'a');
    const [file, args] = withPrefix(this.spawnPrefix, 'redis-server', [...this.args, ...extraArgs]);
    installSweep();
    const child = spawn(file, args, { detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    this.child = child;
    this.stopped = false;
    this.spawnError = undefined;
    this.lostAt = undefined;
    if (child.pid !== undefined) livePids.add(child.pid);
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.spawnError = err;
        resolve();
      });
      child.once('exit', () => {
        if (child.pid !== undefined) livePids.delete(child.pid);
        resolve();
      });
    });
  }

  /** Signals the whole group, so a wrapper from spawnPrefix and the server get it alike. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Exited between the check and the signal.
    }
  }

  /** Sends `signal` and waits for the exit (a paused server gets SIGCONT so it can act on it). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.lostAt = Date.now();
    this.signal(signal);
    if (this.stopped && signal !== 'SIGKILL') this.signal('SIGCONT');
    if (!(await settlesWithin(this.exited, 10_000))) throw new Error(`redis-server on port ${this.port} did not exit within 10 s of ${signal}`);
  }

  pause(): void {
    if (!this.running) return;
    this.lostAt = Date.now();
    this.stopped = true;
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.stopped = false;
    this.signal('SIGCONT');
  }

  /** SIGCONT, SIGTERM, and SIGKILL if it is still there after 3 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    if (!(await settlesWithin(this.exited, 3_000))) this.signal('SIGKILL');
    await this.exited;
  }

  logTail(lines = 15): string {
    const log = tail(join(this.dir, 'redis.log'), lines);
    const out = tail(join(this.dir, 'stdout.log'), lines);
    return `\n--- port ${this.port} (${this.dir}) ---\n${log}${out ? `\n[stdout] ${out}` : ''}`;
  }
}

/**
 * Answers PING (not LOADING, not refused), or says why not; gives up if the process died.
 * The answer must come from this very process: a server that lost the port to another one
 * exits a moment later, and until then the other one would answer for it. (So a spawnPrefix
 * must exec the server, as ip netns exec, nsenter and env do, not fork it.)
 */
export async function probePing(proc: RedisProcess, cli: (command: string[]) => Promise<string>): Promise<void> {
  const death = proc.death;
  if (death) throw new ProbeGaveUp(death);
  const reply = (await cli(['PING'])).trim();
  if (reply !== 'PONG') throw new Error(`port ${proc.port} answered PING with ${JSON.stringify(reply)}`);
  const pid = infoFields(await cli(['INFO', 'server'])).get('process_id');
  if (pid !== String(proc.node.pid)) throw new Error(`port ${proc.port} is answered by process ${pid}, not by the server started for it (${proc.node.pid})`);
}

/** The port if `host` can listen on it now, or the port the OS picks for 0; undefined if taken. */
export function tryListen(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

export async function freePortOn(host: string): Promise<number> {
  const port = await tryListen(host, 0);
  if (port === undefined) throw new Error(`cannot listen on ${host}`);
  return port;
}

export function encodedPassword(password: string | undefined): string {
  return password === undefined ? '' : `:${encodeURIComponent(password)}@`;
}

// ---------------------------------------------------------------------------------------------

/**
 * Full syncs through a file. After a diskless one the master holds back the write stream until
 * the replica's next once-a-second ACK, so a master killed in that second loses writes its
 * replica already reported "link up" for; the default 5 s delay before a diskless sync would
 * also dominate start-up.
 */
export const REPLICATION_ARGS: readonly string[] = ['--repl-diskless-sync', 'no'];

const CLUSTER_SLOTS = 16_384;
const BUS_PORT_OFFSET = 10_000;

/**
 * Loopback ports whose cluster bus port (port + 10000) is free too. Drawn from 15000-21999 so
 * both stay below Linux's ephemeral range (32768+), which freePort() and outgoing connections use.
 */
async function clusterPorts(host: string, count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries += 1) {
    if (tries > 500) throw new Error(`no ${count} free port pairs (port, port+${BUS_PORT_OFFSET}) on ${host}`);
    const port = 15_000 + Math.floor(Math.random() * 7_000);
    if (ports.includes(port)) continue;
    if ((await tryListen(host, port)) !== undefined && (await tryListen(host, port + BUS_PORT_OFFSET)) !== undefined) ports.push(port);
  }
  return ports;
}

interface ClusterNodesEntry {
  id: string;
  port: number;
  flags: string[];
  masterId: string | undefined;
  slots: Array<[number, number]>;
}

/** One line of CLUSTER NODES: `id ip:port@bus[,hostname] flags master ping pong epoch link slot...`. */
function parseClusterNodes(text: string): ClusterNodesEntry[] {
  const entries: ClusterNodesEntry[] = [];
  for (const line of text.split('\n')) {
    const [id, address, flags, master, , , , , ...slotFields] = line.trim().split(' ');
    if (!id || !address || !flags || !master) continue;
    const hostPort = address.split('@')[0] ?? '';
    const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
    const slots: Array<[number, number]> = [];
    for (const field of slotFields) {
      // "[slot->-id]" entries are migrations in progress, not ownership.
      if (field.startsWith('[')) continue;
      const [from, to] = field.split('-');
      slots.push([Number(from), Number(to ?? from)]);
    }
    entries.push({ id, port, flags: flags.split(','), masterId: master === '-' ? undefined : master, slots });
  }
  return entries;
}

/** Who replicates whom and who owns which slots, by port: equal on every node once gossip settles. */
function describeTopology(entries: ClusterNodesEntry[]): string {
  const portOf = new Map(entries.map((e) => [e.id, e.port]));
  return entries
    .map((e) => `${e.port}${e.masterId ? `>${portOf.get(e.masterId) ?? e.masterId}` : `[${e.slots.map(([from, to]) => `${from}-${to}`).join(',')}]`}`)
    .sort()
    .join(' ');
}

const isFailing = (entry: ClusterNodesEntry) => entry.flags.includes('fail') || entry.flags.includes('fail?');

export interface StartRedisClusterOptions {
  /** Default 3 (the fewest redis-cli --cluster create accepts). */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** Default 127.0.0.1. */
  bindHost?: string;
  /** Runs every redis-server and redis-cli through it, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  spawnPrefix?: string[];
  /** Default: free loopback pairs; with a spawnPrefix (a private namespace), 7000, 7001, … */
  ports?: number[];
  /** Default 2000: failover takes a few seconds. */
  nodeTimeoutMs?: number;
  /** Appended to every redis-server command line. */
  extraArgs?: string[];
  /** requirepass and masterauth on every node. */
  password?: string;
}

export interface TestCluster {
  /** Every node as started; which of them are masters changes with failovers (see masters()). */
  readonly nodes: readonly RedisNode[];
  /** redis+cluster://[:PASS@]host:port,… of the masters at start. */
  readonly url: string;
  readonly seeds: readonly RedisAddress[];
  masterForSlot(slot: number): Promise<RedisNode>;
  masterForKey(key: string): Promise<RedisNode>;
  /** The masters that serve slots now, in slot order. */
  masters(): Promise<RedisNode[]>;
  /** The nodes replicating `master` now. */
  replicasOf(master: RedisAddress): Promise<RedisNode[]>;
  /** Signals the node's process group and waits for it to exit. */
  kill(node: RedisAddress, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts the node again on its port, dir and nodes.conf, so it rejoins (a former master comes
   * back as a replica of the one promoted in its place). Resolves once it answers PING; call
   * waitForHealthy() before relying on it as a replica.
   */
  restart(node: RedisAddress): Promise<void>;
  pause(node: RedisAddress): void;
  resume(node: RedisAddress): void;
  /** Every running node sees cluster_state:ok and no running node failing; every running replica is synced. */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Resolves once every running node sees cluster_state:ok and `oldMaster` owning no slot (a
   * replica took them). Returns ms since kill()/pause() of oldMaster, or since this call.
   */
  waitForFailover(oldMaster: RedisAddress, timeoutMs?: number): Promise<number>;
  /** Stops every process and removes the temp dirs. Safe to call twice. */
  destroy(): Promise<void>;
}

/** A Redis Cluster of real processes in temp dirs. Always call destroy() (use t.after). */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<TestCluster> {
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const host = options.bindHost ?? '127.0.0.1';
  const prefix = options.spawnPrefix ?? [];
  const total = masterCount * (replicasPerMaster + 1);
  const password = options.password;
  const auth = password === undefined ? [] : ['-a', password, '--no-auth-warning'];
  const ports =
    options.ports?.slice(0, total) ??
    (prefix.length > 0 ? Array.from({ length: total }, (_, i) => 7_000 + i) : await clusterPorts(host, total));
  if (ports.length < total) throw new Error(`startRedisCluster: ${total} nodes need ${total} ports, got ${ports.length}`);

  const root = makeTempDir('cluster');
  const procs = ports.map((port) => {
    const dir = join(root, `node-${port}`);
    const args = [
      '--port', String(port), '--bind', host, '--dir', dir, '--logfile', join(dir, 'redis.log'),
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2_000),
      // A replica that lost its master long ago may still take over: tests kill and restart freely.
      '--cluster-replica-validity-factor', '0',
      '--save', '', '--appendonly', 'no',
      ...REPLICATION_ARGS,
      ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
      ...(options.extraArgs ?? []),
    ];
    return new RedisProcess(host, port, dir, args, prefix);
  });
  const cli = (proc: RedisAddress, command: string[]) => redisCli(prefix, ['-h', proc.host, '-p', String(proc.port), ...auth], command);
  const logs = () => procs.map((p) => p.logTail()).join('');
  const find = (node: RedisAddress): RedisProcess => {
    const proc = procs.find((p) => p.port === node.port);
    if (!proc) throw new Error(`port ${node.port} is not a node of this cluster (${ports.join(', ')})`);
    return proc;
  };
  const byPort = (port: number): RedisNode => find({ host, port }).node;
  const live = () => procs.filter((p) => p.running && !p.paused);
  const topology = async (): Promise<ClusterNodesEntry[]> => {
    let lastError: unknown = new Error('no running node to ask');
    for (const proc of live()) {
      try {
        return parseClusterNodes(await cli(proc, ['CLUSTER', 'NODES']));
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  };

  const healthy = async (): Promise<void> => {
    const running = live();
    const runningPorts = new Set(running.map((p) => p.port));
    const views = new Map<number, string>();
    await Promise.all(
      running.map(async (proc) => {
        const info = infoFields(await cli(proc, ['CLUSTER', 'INFO']));
        if (info.get('cluster_state') !== 'ok') throw new Error(`port ${proc.port}: cluster_state:${info.get('cluster_state')}`);
        if (info.get('cluster_known_nodes') !== String(total)) throw new Error(`port ${proc.port} knows ${info.get('cluster_known_nodes')} of ${total} nodes`);
        if (info.get('cluster_size') !== String(masterCount)) throw new Error(`port ${proc.port}: cluster_size:${info.get('cluster_size')}`);
        const entries = parseClusterNodes(await cli(proc, ['CLUSTER', 'NODES']));
        const failing = entries.filter((e) => runningPorts.has(e.port) && isFailing(e));
        if (failing.length > 0) throw new Error(`port ${proc.port} sees running node ${failing.map((e) => e.port).join(', ')} as failing`);
        views.set(proc.port, describeTopology(entries));
        // A master killed before its replica's first full sync never fails over.
        const replication = infoFields(await cli(proc, ['INFO', 'replication']));
        if (replication.get('role') === 'slave') {
          if (replication.get('master_link_status') !== 'up' || replication.get('master_sync_in_progress') !== '0') {
            throw new Error(`replica ${proc.port}: master_link_status:${replication.get('master_link_status')} master_sync_in_progress:${replication.get('master_sync_in_progress')}`);
          }
        }
      }),
    );
    // Right after create (or a failover) a node can be ready yet still think some replicas are
    // masters without slots; clients reading CLUSTER SLOTS there would get a different picture.
    const distinct = new Set(views.values());
    if (distinct.size > 1) throw new Error(`nodes disagree on the topology: ${[...views].map(([port, view]) => `${port} sees ${view}`).join('; ')}`);
  };

  let destroyed: Promise<void> | undefined;
  const destroy = () => {
    destroyed ??= (async () => {
      await Promise.all(procs.map((p) => p.stop()));
      removeTempDir(root);
    })();
    return destroyed;
  };

  try {
    for (const proc of procs) proc.start();
    await Promise.all(procs.map((proc) => waitUntil(`cluster node ${proc.port} did not answer`, 10_000, () => probePing(proc, (c) => cli(proc, c)), () => proc.logTail())));
    const [file, args] = withPrefix(prefix, 'redis-cli', [
      ...auth, '--cluster', 'create', ...procs.map((p) => `${host}:${p.port}`),
      '--cluster-replicas', String(replicasPerMaster), '--cluster-yes',
    ]);
    await new Promise<void>((resolve, reject) => {
      execFile(file, args, { timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
        err || /\[ERR\]/.test(stdout)
          ? reject(new Error(`redis-cli --cluster create failed: ${`${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '').trim() || err?.message}${logs()}`))
          : resolve(),
      );
    });
    const anyDead = async () => {
      const dead = procs.find((p) => p.death !== undefined);
      if (dead) throw new ProbeGaveUp(dead.death);
      await healthy();
    };
    await waitUntil('Redis Cluster did not become ready', 30_000, anyDead, logs);
  } catch (err) {
    await destroy();
    throw err;
  }

  const startMasters = (await topology()).filter((e) => e.flags.includes('master') && e.slots.length > 0).sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0));
  const seeds = startMasters.map((e) => ({ host, port: e.port }));
  const masterForSlot = async (slot: number): Promise<RedisNode> => {
    const owner = (await topology()).find((e) => e.flags.includes('master') && e.slots.some(([from, to]) => slot >= from && slot <= to));
    if (!owner) throw new Error(`no master owns slot ${slot}`);
    return byPort(owner.port);
  };

  return {
    nodes: procs.map((p) => p.node),
    url: `redis+cluster://${encodedPassword(password)}${seeds.map((s) => `${s.host}:${s.port}`).join(',')}`,
    seeds,
    masterForSlot,
    masterForKey: async (key) => {
      const proc = live()[0];
      if (!proc) throw new Error('no running node to ask CLUSTER KEYSLOT');
      const slot = Number((await cli(proc, ['CLUSTER', 'KEYSLOT', key])).trim());
      if (!Number.isInteger(slot) || slot < 0 || slot >= CLUSTER_SLOTS) throw new Error(`CLUSTER KEYSLOT ${key} gave ${slot}`);
      return masterForSlot(slot);
    },
    masters: async () =>
      (await topology())
        .filter((e) => e.flags.includes('master') && !isFailing(e) && e.slots.length > 0)
        .sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0))
        .map((e) => byPort(e.port)),
    replicasOf: async (master) => {
      const entries = await topology();
      const id = entries.find((e) => e.port === master.port)?.id;
      return entries.filter((e) => id !== undefined && e.masterId === id && !isFailing(e)).map((e) => byPort(e.port));
    },
    kill: (node, signal = 'SIGKILL') => find(node).kill(signal),
    restart: async (node) => {
      const proc = find(node);
      await proc.stop();
      proc.start();
      await waitUntil(`cluster node ${proc.port} did not answer after restart`, 10_000, () => probePing(proc, (c) => cli(proc, c)), () => proc.logTail());
    },
    pause: (node) => find(node).pause(),
    resume: (node) => find(node).resume(),
    waitForHealthy: (timeoutMs = 30_000) => waitUntil('Redis Cluster did not become healthy', timeoutMs, healthy, logs),
    waitForFailover: async (oldMaster, timeoutMs = 30_000) => {
      const started = find(oldMaster).lostAt ?? Date.now();
      await waitUntil(
        `no replica of ${oldMaster.host}:${oldMaster.port} took over`,
        timeoutMs,
        async () => {
          const running = live().filter((p) => p.port !== oldMaster.port);
          if (running.length === 0) throw new Error('no surviving node');
          await Promise.all(
            running.map(async (proc) => {
              const state = infoFields(await cli(proc, ['CLUSTER', 'INFO'])).get('cluster_state');
              if (state !== 'ok') throw new Error(`port ${proc.port}: cluster_state:${state}`);
              const old = parseClusterNodes(await cli(proc, ['CLUSTER', 'NODES'])).find((e) => e.port === oldMaster.port);
              if (old && old.slots.length > 0) throw new Error(`port ${proc.port} still sees ${oldMaster.port} owning slots (${old.flags.join(',')})`);
            }),
          );
        },
        logs,
      );
      return Date.now() - started;
    },
    destroy,
  };
}
