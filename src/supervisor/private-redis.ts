import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RedisConnectionSpec } from '../queue/connection.js';

/**
 * The folder of the private redis-server `troupe supervise` starts when no Redis is given and
 * none answers: its AOF holds job data, so it is the user's alone. The folder is 0700 whatever
 * the umask, nothing in it is readable by others (files an older version left are tightened
 * too), and the server asks for a generated password kept in `password` (0600) beside it. The
 * password reaches redis-server through `redis.conf` in the folder, never its command line,
 * which `ps` shows to every user.
 */
export function privateRedisDir(): string {
  return resolve('.troupe', 'redis');
}

const PASSWORD_FILE = 'password';
const CONF_FILE = 'redis.conf';
/** What a password this module wrote looks like (base64url of 24 random bytes). */
const PASSWORD_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/** Creates the folder (0700) or tightens an existing one: directories 0700, files without group and other bits. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir);
}

function tighten(path: string): void {
  const stat = lstatSync(path);
  // A link is not followed: whatever it points to is not this folder's to change.
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    chmodSync(path, 0o700);
    for (const entry of readdirSync(path)) tighten(join(path, entry));
    return;
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(path, stat.mode & 0o700);
}

/** The password a private server of this folder uses, if one was ever made. */
export function storedPassword(dir: string): string | undefined {
  try {
    const password = readFileSync(join(dir, PASSWORD_FILE), 'utf8').trim();
    return PASSWORD_PATTERN.test(password) ? password : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes the server's config (0600) with the folder's password, made now if there is none yet,
 * and returns its path and the password. Kept across starts, so clients of a server another
 * troupe process started here find it.
 */
export function writePrivateConf(dir: string): { confFile: string; password: string } {
  let password = storedPassword(dir);
  if (!password) {
    password = randomBytes(24).toString('base64url');
    writeFileSync(join(dir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
  }
  const confFile = join(dir, CONF_FILE);
  writeFileSync(confFile, `# Written by troupe for the private redis-server of this folder (the password is also in ./${PASSWORD_FILE}).\nrequirepass ${password}\n`, { mode: 0o600 });
  chmodSync(confFile, 0o600);
  return { confFile, password };
}

/** The URL with a password in place of whatever it had (base64url needs no escaping). */
export function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = password;
  return u.toString();
}

/**
 * The spec of the private server of `dir`, when that folder has a password: what a client that
 * was given no URL tries once the default one asks for a password (a server another troupe
 * process started here).
 */
export function privateRedisSpec(spec: RedisConnectionSpec, dir: string = privateRedisDir()): RedisConnectionSpec | undefined {
  const password = storedPassword(dir);
  return password ? { ...spec, url: withPassword(spec.url, password) } : undefined;
}
