import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { collectJsonLines, PROJECT_DIR, type LogLine } from './supervisor-process.js';

const run = promisify(execFile);

/**
 * Troupe as an application has it after `npm install`: app/node_modules/troupe holds the package
 * (package.json, bin/troupe.js, dist/) and app/node_modules/.bin/troupe links to the bin, so
 * `npx troupe …` in app/ runs it the way users do (npm → sh -c → node). The dist is the working
 * tree compiled with esbuild (no type check, well under a second), so the test needs no
 * `npm run build`; the package's node_modules links to the checkout's.
 */
export interface InstalledPackage {
  /** The application directory: run `npx troupe` here. */
  appDir: string;
  /** app/node_modules/.bin/troupe, the bin as production runs it. */
  bin: string;
  remove(): void;
}

export async function installPackage(): Promise<InstalledPackage> {
  const root = mkdtempSync(join(tmpdir(), 'troupe-installed-'));
  const pkg = join(root, 'troupe');
  const app = join(root, 'app');
  try {
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    copyFileSync(join(PROJECT_DIR, 'package.json'), join(pkg, 'package.json'));
    copyFileSync(join(PROJECT_DIR, 'bin', 'troupe.js'), join(pkg, 'bin', 'troupe.js'));
    symlinkSync(join(PROJECT_DIR, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    const sources = listTs(join(PROJECT_DIR, 'src'));
    await run(join(PROJECT_DIR, 'node_modules', '.bin', 'esbuild'), [...sources, `--outdir=${join(pkg, 'dist')}`, `--outbase=${join(PROJECT_DIR, 'src')}`, '--format=esm', '--platform=node', '--log-level=error'], {
      cwd: PROJECT_DIR,
      maxBuffer: 16 << 20,
    });
    // Lua scripts load from beside the compiled code, as in dist/ (scripts/copy-assets.mjs).
    cpSync(join(PROJECT_DIR, 'src'), join(pkg, 'dist'), { recursive: true, filter: (path) => path.endsWith('.lua') || statSync(path).isDirectory() });
    mkdirSync(join(app, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'troupe-test-app', private: true, type: 'module' }));
    symlinkSync(pkg, join(app, 'node_modules', 'troupe'), 'dir');
    symlinkSync(join('..', 'troupe', 'bin', 'troupe.js'), join(app, 'node_modules', '.bin', 'troupe'));
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    if (manifest.bin?.troupe !== './bin/troupe.js') throw new Error(`package.json's bin moved (${JSON.stringify(manifest.bin)}): update this helper`);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return { appDir: app, bin: join(app, 'node_modules', '.bin', 'troupe'), remove: () => rmSync(root, { recursive: true, force: true }) };
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTs(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Pids of the processes in process group `pgid` still alive (Linux /proc; zombies count as gone). */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(name));
  }
  return members;
}

export type LoggedLine = LogLine;

/**
 * A command in a process group of its own (as a shell's `cmd &` with job control makes it),
 * with its JSON log lines on stdout collected. `drained` resolves once every process holding the
 * pipe (npm, its shell, the supervisor) has let go of it.
 */
export class GroupProcess {
  readonly child: ChildProcess;
  readonly logs: LoggedLine[] = [];
  readonly exited: Promise<number | null>;
  readonly drained: Promise<void>;
  stderr = '';

  constructor(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, TROUPE_LOG_LEVEL: 'info', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    collectJsonLines(this.child.stdout!, this.logs);
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.drained = new Promise((resolve) => this.child.stdout!.on('close', () => resolve()));
  }

  get pgid(): number {
    return this.child.pid!;
  }

  async waitForLog(match: (line: LoggedLine) => boolean, timeoutMs = 20_000): Promise<LoggedLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms; last lines:\n${this.logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL to whatever is left of the group (always call in after hooks). */
  killGroup(): void {
    try {
      process.kill(-this.pgid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  }
}
