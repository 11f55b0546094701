/**
 * What an application gets from `npm install` of a tarball or a git URL (before Troupe is on the
 * registry): the package's entry points and runtime files are packed, "prepare" builds them on a
 * git install, and every package the code imports at run time is a dependency, not a
 * devDependency (an application does not install those). scripts/check-install.mjs does the
 * real pack-and-install (about 30 s); this is the cheap check that runs with the suite.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  exports: Record<string, Record<string, string>>;
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const work = mkdtempSync(join(tmpdir(), 'troupe-package-'));
after(() => rmSync(work, { recursive: true, force: true }));

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && keep(e.name))
    .map((e) => join(e.parentPath, e.name));
}

const norm = (p: string): string => posix.normalize(p.replace(/\\/g, '/')).replace(/^\.\//, '');

/** Where the build puts src/x.ts: dist/x.js (tsconfig.build.json: rootDir src, outDir dist). */
function built(srcPath: string, ext = '.js'): string {
  return `dist/${norm(relative(join(ROOT, 'src'), srcPath)).replace(/\.ts$/, ext)}`;
}

/** Every path the installed package needs at run time. */
function neededPaths(): string[] {
  const entry = Object.values(pkg.exports['.']!);
  const wasmOut = JSON.parse(readFileSync(join(ROOT, 'wasm/extractor/asconfig.json'), 'utf8')).options.outFile as string;
  return [
    pkg.main,
    pkg.types,
    ...entry,
    ...Object.values(pkg.bin),
    built(join(ROOT, 'src/cli/main.ts')),
    norm(relative(ROOT, join(ROOT, 'wasm/extractor', wasmOut))),
    // The Lua scripts are loaded from beside the compiled code (scripts/copy-assets.mjs).
    ...filesUnder(join(ROOT, 'src'), (n) => n.endsWith('.lua')).map((p) => built(p, '.lua')),
  ].map(norm);
}

test('the build makes every entry point from a source file, and "prepare" runs it (a git URL install builds)', () => {
  const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
  assert.deepEqual([build.compilerOptions.rootDir, build.compilerOptions.outDir], ['src', 'dist']);
  for (const target of [pkg.main, pkg.exports['.']!.import!, built(join(ROOT, 'src/cli/main.ts'))]) {
    const source = join(ROOT, norm(target).replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'));
    assert.doesNotThrow(() => readFileSync(source), `${target} is built from ${relative(ROOT, source)}, which should exist`);
  }
  assert.match(readFileSync(join(ROOT, pkg.bin.troupe!), 'utf8'), /import\('\.\.\/dist\/cli\/main\.js'\)/, 'the bin starts the built CLI');
  assert.match(pkg.scripts.prepare ?? '', /npm run build/);
  assert.match(pkg.scripts.build ?? '', /build:wasm/);
  assert.match(pkg.scripts.build ?? '', /tsc -p tsconfig\.build\.json/);
  assert.match(pkg.scripts.build ?? '', /copy-assets/);
});

test('"files" packs every runtime path and no sources or tests (npm pack --dry-run on the same package.json)', () => {
  // A stand-in tree with a file at every needed path, packed by npm itself: this checks
  // "files" with npm's own rules, whatever state the real dist/ is in.
  const tree = join(work, 'tree');
  const needed = neededPaths();
  const unwanted = ['src/index.ts', 'test/queue.test.ts', 'bench/run.ts', 'wasm/extractor/assembly/index.ts', 'scratch-tmp/x.mts'];
  for (const file of [...needed, ...unwanted]) {
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    writeFileSync(join(tree, file), '// stand-in\n');
  }
  writeFileSync(join(tree, 'package.json'), JSON.stringify({ ...pkg, scripts: {} }));
  const out = execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], { cwd: tree, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const packed = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  for (const file of needed) assert.ok(packed.has(file), `${file} is needed at run time but "files" leaves it out`);
  for (const file of unwanted) assert.ok(!packed.has(file), `${file} should not be in the package`);
  assert.ok(needed.some((f) => f.endsWith('.lua')), 'the Lua scripts are among the needed paths');
});

test('every package the code imports at run time is a dependency, not a devDependency', () => {
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  const imported = new Map<string, string>();
  for (const file of filesUnder(join(ROOT, 'src'), (n) => n.endsWith('.ts'))) {
    const text = readFileSync(file, 'utf8');
    // Static imports and re-exports (type-only ones vanish when compiled), and dynamic imports.
    const statics = [...text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)].filter((m) => !m[1]).map((m) => m[2]!);
    const dynamics = [...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
    for (const spec of [...statics, ...dynamics]) {
      if (spec.startsWith('.') || builtins.has(spec)) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      imported.set(name, relative(ROOT, file));
    }
  }
  assert.ok(imported.has('ioredis') && imported.has('piscina'), `the scan finds the runtime imports (found ${[...imported.keys()].join(', ')})`);
  for (const [name, file] of imported) {
    assert.ok(name in pkg.dependencies, `${file} imports ${name}, which is ${name in pkg.devDependencies ? 'only a devDependency' : 'not a dependency'}: an installed application would not have it`);
  }
});
