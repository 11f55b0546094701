import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Private test "hosts" as Linux network namespaces, for tests that put processes on several hosts
 * and cut one host's link. Each host is a namespace with its own loopback (127.0.0.1 there is the
 * host's own, not this machine's shared Redis) and one veth into a bridge that lives in an extra
 * "switch" namespace. The only route in a host is the lab's /24, so nothing reaches the outside.
 * Needs root; guard tests with netnsAvailable() and always call destroy() (use t.after).
 */

/** Absolute, so spawn() still finds it when a test passes an env without PATH. */
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((path) => existsSync(path)) ?? 'ip';

/** Every namespace we make starts with this and our pid, so cleanupStaleLabs() can tell whose it is. */
const PREFIX = 'troupe-';
const STALE_NAME = /^troupe-(\d+)-/;

export interface TestHost {
  name: string;
  /** The namespace's name (for `ip netns exec` / `ip -n`). */
  ns: string;
  /** The host's IPv4 address in the lab's /24; other hosts reach it here. */
  address: string;
}

export interface TestLab {
  hosts: Record<string, TestHost>;
  /** argv prefix that runs a command inside the host's namespace: [ip, 'netns', 'exec', ns]. */
  prefix(host: string): string[];
  /**
   * Spawns a process inside the host in its own process group (detached: true), stdio piped,
   * tracked so destroy() kills it. env replaces process.env, as with child_process.spawn.
   */
  spawn(host: string, command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): ChildProcess;
  /** Runs to completion inside the host; on timeoutMs its process group gets SIGKILL (code null). */
  exec(host: string, command: string, args: string[], options?: { timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /**
   * Unplugs the host's cable at the switch: packets to and from it vanish, with no reset and no
   * local error, so established connections stall and new ones hang in SYN retries.
   */
  cut(host: string): Promise<void>;
  /** Plugs it back in; stalled connections resume at their next TCP retransmission. */
  restore(host: string): Promise<void>;
  /**
   * Kills every tracked process group (SIGCONT, SIGTERM, then SIGKILL after 3 s) and anything else
   * left in the lab's namespaces, then deletes the namespaces (which takes the veths and bridge with
   * them). Safe to call twice.
   */
  destroy(): Promise<void>;
}

/** What the exit hook needs to clean up a lab whose test crashed before destroy(). */
interface LabState {
  namespaces: string[];
  children: Set<ChildProcess>;
}

const liveLabs = new Set<LabState>();
let exitHookInstalled = false;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function ip(args: string[]): Promise<string> {
  try {
    return (await execFileAsync(IP, args)).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || String(error)}`);
  }
}

function ipSync(args: string[]): string {
  return execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Signals a whole process group; false when the group is gone (ESRCH). */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but is not ours to signal: still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether any live (non-zombie) process is in the group. kill(-pgid, 0) alone would also count
 * zombies that init has not reaped yet (slow here), and make every destroy() wait out the grace.
 */
function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Exited while we looked.
    }
    // Fields after "(comm)": state ppid pgrp ...; comm may itself hold spaces or parens.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

async function killGroup(pgid: number): Promise<void> {
  // SIGCONT first: a test may have SIGSTOPped it, and a stopped process never acts on SIGTERM.
  signalGroup(pgid, 'SIGCONT');
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + 3_000;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(50);
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGKILL');
  // SIGKILL cannot be refused; wait only so ports are free when destroy() resolves.
  const killDeadline = Date.now() + 1_000;
  while (groupAlive(pgid) && Date.now() < killDeadline) await sleep(20);
}

/**
 * Kills what is left inside a namespace (e.g. a grandchild that left its group) and deletes it.
 * A namespace with live processes would outlive `ip netns del`, veth and all.
 */
function deleteNamespaceSync(ns: string): void {
  try {
    for (const pid of ipSync(['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  } catch {
    // The namespace is already gone: nothing to kill.
  }
  try {
    ipSync(['netns', 'del', ns]);
  } catch {
    // Already gone (or never finished being made).
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Best effort for a test that crashed before destroy(): 'exit' handlers must be synchronous,
  // so no SIGTERM grace here. A killed test runner skips this; cleanupStaleLabs() covers that.
  process.on('exit', () => {
    for (const lab of liveLabs) {
      for (const child of lab.children) if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      for (const ns of lab.namespaces) deleteNamespaceSync(ns);
    }
  });
}

let available: boolean | undefined;
/** Root, and this kernel lets us make a namespace with a bridge and a veth in it; tests skip otherwise. */
export function netnsAvailable(): boolean {
  if (available !== undefined) return available;
  if (process.getuid?.() !== 0) return (available = false);
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    ipSync(['netns', 'add', probe]);
    ipSync(['-n', probe, 'link', 'add', 'tvprobe', 'type', 'veth', 'peer', 'name', 'tvprobep']);
    ipSync(['-n', probe, 'link', 'add', 'tvprobebr', 'type', 'bridge']);
    available = true;
  } catch {
    available = false;
  } finally {
    deleteNamespaceSync(probe);
  }
  return available;
}

/**
 * Deletes `troupe-<pid>-…` namespaces whose creating process is gone (a test runner killed before
 * its exit hook ran), killing anything still inside. Returns the names it deleted.
 */
export async function cleanupStaleLabs(): Promise<string[]> {
  const deleted: string[] = [];
  let listing: string;
  try {
    listing = await ip(['netns', 'list']);
  } catch {
    return deleted;
  }
  // Lines look like "troupe-123-ab12-h1 (id: 3)"; the name is the first word.
  for (const name of listing.split('\n').map((line) => line.split(' ')[0] ?? '')) {
    const pid = Number(STALE_NAME.exec(name)?.[1]);
    if (!pid || pid === process.pid || pidAlive(pid)) continue;
    deleteNamespaceSync(name);
    deleted.push(name);
  }
  return deleted;
}

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/**
 * Makes one namespace per host name plus a switch namespace, all named `troupe-<pid>-<id>…`.
 * Hosts get 10.213.<random>.1, .2, … in the order given. Namespaces isolate labs from each other
 * anyway; the random octet just keeps logs of parallel runs apart.
 */
export async function createLab(hostNames: string[]): Promise<TestLab> {
  if (hostNames.length === 0 || hostNames.length > 250) throw new Error('createLab needs 1 to 250 hosts');
  for (const name of hostNames) if (!HOST_NAME.test(name)) throw new Error(`bad host name ${JSON.stringify(name)}`);
  if (new Set(hostNames).size !== hostNames.length) throw new Error('host names must be unique');

  const idBytes = randomBytes(2);
  const id = idBytes.toString('hex');
  const base = `${PREFIX}${process.pid}-${id}`;
  // A dot cannot appear in a host name, so no host's namespace can be the switch's.
  const switchNs = `${base}.switch`;
  const subnet = `10.213.${randomInt(1, 251)}`;
  const state: LabState = { namespaces: [], children: new Set() };
  const hosts: Record<string, TestHost> = {};
  /** The switch-side veth end per host: the one cut() takes down. */
  const switchPorts = new Map<string, string>();

  installExitHook();
  liveLabs.add(state);

  const addNamespace = async (ns: string) => {
    await ip(['netns', 'add', ns]);
    state.namespaces.push(ns);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  };

  let destroying: Promise<void> | undefined;
  const destroy = () =>
    (destroying ??= (async () => {
      await Promise.all([...state.children].map((child) => (child.pid === undefined ? undefined : killGroup(child.pid))));
      for (const ns of state.namespaces) deleteNamespaceSync(ns);
      liveLabs.delete(state);
    })());

  try {
    await addNamespace(switchNs);
    await ip(['-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', switchNs, 'link', 'set', 'br0', 'up']);

    const macs: string[] = [];
    for (const [i, name] of hostNames.entries()) {
      const index = i + 1;
      const ns = `${base}-${name}`;
      const dev = `tv${id}${index}`;
      const port = `tv${id}${index}p`;
      // Fixed, locally administered MACs, so every host can hold permanent neighbour entries below.
      const mac = [0x02, 0x74, idBytes[0]!, idBytes[1]!, index >> 8, index & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':');
      await addNamespace(ns);
      // Created straight inside the two namespaces, so nothing ever sits in the root namespace.
      await ip(['link', 'add', dev, 'address', mac, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', switchNs]);
      await ip(['-n', switchNs, 'link', 'set', port, 'master', 'br0', 'up']);
      await ip(['-n', ns, 'addr', 'add', `${subnet}.${index}/24`, 'dev', dev]);
      await ip(['-n', ns, 'link', 'set', dev, 'up']);
      hosts[name] = { name, ns, address: `${subnet}.${index}` };
      switchPorts.set(name, port);
      macs.push(mac);
    }

    // Without these, ARP fails a few seconds into a cut and the kernel reports "No route to host"
    // to the sockets involved: an error, not silence. Permanent entries survive carrier loss.
    for (const [i, name] of hostNames.entries()) {
      const self = hosts[name]!;
      for (const [j, other] of hostNames.entries()) {
        if (i === j) continue;
        await ip(['-n', self.ns, 'neigh', 'replace', hosts[other]!.address, 'lladdr', macs[j]!, 'dev', `tv${id}${i + 1}`, 'nud', 'permanent']);
      }
    }
  } catch (error) {
    await destroy();
    throw error;
  }

  const hostOf = (name: string): TestHost => {
    const host = hosts[name];
    if (!host) throw new Error(`no host ${JSON.stringify(name)} in this lab (have ${hostNames.join(', ')})`);
    return host;
  };
  const prefix = (name: string) => [IP, 'netns', 'exec', hostOf(name).ns];

  const spawnIn = (name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) => {
    const [file, ...rest] = prefix(name);
    // `ip netns exec` execs the command in place, so the child (and its group) is the command itself.
    const child = spawn(file!, [...rest, command, ...args], { detached: true, stdio: 'pipe', env: options.env, cwd: options.cwd });
    state.children.add(child);
    return child;
  };

  // Changes the switch end only. Taking the host's own end down too would drop its connected
  // route, and then every send fails at once with ENETUNREACH instead of vanishing; the host end
  // merely loses carrier, and with ignore_routes_with_linkdown at its default (0) keeps routing.
  const setPort = async (name: string, updown: 'up' | 'down') => {
    hostOf(name);
    await ip(['-n', switchNs, 'link', 'set', switchPorts.get(name)!, updown]);
  };

  return {
    hosts,
    prefix,
    spawn: spawnIn,
    exec: (name, command, args, options = {}) =>
      new Promise((resolve, reject) => {
        const child = spawnIn(name, command, args);
        let stdout = '';
        let stderr = '';
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const timer =
          options.timeoutMs === undefined ? undefined : setTimeout(() => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'), options.timeoutMs);
        child.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.on('close', (code) => {
          clearTimeout(timer);
          state.children.delete(child);
          resolve({ code, stdout, stderr });
        });
      }),
    cut: (name) => setPort(name, 'down'),
    restore: (name) => setPort(name, 'up'),
    destroy,
  };
}
