/**
 * Finds a plugin package's ES module entry from a given directory. require.resolve does this for
 * CommonJS and dual packages, but a package whose "exports" has only an "import" condition is
 * invisible to it, and Node 20 cannot resolve ESM relative to another directory without a flag.
 * This covers that case for the common shapes of "exports" (string, conditions, "." map with
 * exact subpaths); patterns ("./*") are not followed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const CONDITIONS = new Set(['node', 'import', 'default']);

function splitSpec(spec: string): { name: string; subpath: string } {
  const parts = spec.split('/');
  const count = spec.startsWith('@') ? 2 : 1;
  const rest = parts.slice(count).join('/');
  return { name: parts.slice(0, count).join('/'), subpath: rest ? `./${rest}` : '.' };
}

/** Follows conditions in the package's own key order, as Node does. */
function pickTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const item of target) {
      const picked = pickTarget(item);
      if (picked) return picked;
    }
    return undefined;
  }
  if (typeof target !== 'object' || target === null) return undefined;
  for (const [key, value] of Object.entries(target)) {
    if (!CONDITIONS.has(key)) continue;
    const picked = pickTarget(value);
    if (picked) return picked;
  }
  return undefined;
}

function exportsTarget(exportsField: unknown, subpath: string): string | undefined {
  const isSubpathMap =
    typeof exportsField === 'object' && exportsField !== null && !Array.isArray(exportsField) && Object.keys(exportsField).some((k) => k.startsWith('.'));
  if (!isSubpathMap) return subpath === '.' ? pickTarget(exportsField) : undefined;
  return pickTarget((exportsField as Record<string, unknown>)[subpath]);
}

/** The absolute path of the package's ESM entry, or undefined if no such package is found above baseDir. */
export function resolveEsmPackage(spec: string, baseDir: string): string | undefined {
  const { name, subpath } = splitSpec(spec);
  for (let dir = resolve(baseDir); ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', name);
    const manifest = join(pkgDir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown; main?: unknown };
      const target =
        pkg.exports !== undefined
          ? exportsTarget(pkg.exports, subpath)
          : subpath === '.'
            ? typeof pkg.main === 'string'
              ? pkg.main
              : 'index.js'
            : subpath;
      return target === undefined ? undefined : join(pkgDir, target);
    }
    if (dirname(dir) === dir) return undefined;
  }
}
