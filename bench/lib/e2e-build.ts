/**
 * Compiles the current sources (src/ and the bench child) into a temp dir, so consumers run as
 * deployed code: plain JavaScript, no TypeScript loader. tsx in a process costs ~30 MiB of RSS
 * and a loader thread, which would swamp an RSS comparison with peers that need no loader.
 *
 * The build is the working tree as it is now (other work in progress included); node_modules is
 * linked in so packages resolve as they do from the checkout.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BenchBuild {
  dir: string;
  /** The consumer child (bench/lib/e2e-child.ts, compiled). */
  childEntry: string;
  /** The CLI (src/cli/main.ts, compiled): `node <cliEntry> supervise ...`. */
  cliEntry: string;
  /** The peers' CommonJS no-op processor, used in place (it needs no build). */
  processorFile: string;
  /** Compiler complaints when it emitted anyway (someone's work in progress); empty when clean. */
  warnings: string;
  remove(): void;
}

export async function buildForBench(): Promise<BenchBuild> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-build-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    // "type": "module" for the emitted .js, and the version the HTTP endpoint reads beside dist.
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    const tsconfig = {
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: { noEmit: false, rootDir: ROOT, outDir: dir, declaration: false, sourceMap: false },
      include: [join(ROOT, 'src'), join(ROOT, 'bench/lib/e2e-child.ts')],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    let warnings = '';
    try {
      await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: ROOT, maxBuffer: 16 << 20 });
    } catch (err) {
      // tsc emits despite type errors; a type error elsewhere in the tree must not stop the bench.
      const out = err as { stdout?: string; stderr?: string };
      warnings = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim() || String(err);
    }
    // Lua scripts are loaded from beside the compiled code that runs them, as in dist/.
    cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true, filter: (path) => path.endsWith('.lua') || statSync(path).isDirectory() });
    const build: BenchBuild = {
      dir,
      childEntry: join(dir, 'bench/lib/e2e-child.js'),
      cliEntry: join(dir, 'src/cli/main.js'),
      processorFile: join(ROOT, 'bench/lib/e2e-noop.cjs'),
      warnings,
      remove,
    };
    for (const file of [build.childEntry, build.cliEntry, join(dir, 'src/threads/worker.js')]) {
      if (!existsSync(file)) throw new Error(`the bench build did not produce ${file}:\n${warnings}`);
    }
    return build;
  } catch (err) {
    remove();
    throw err;
  }
}
