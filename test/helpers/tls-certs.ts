import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { RedisProcess, encodedPassword, freePortOn, makeTempDir, probePing, redisCli, removeTempDir, waitUntil } from './redis-cluster.js';

export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** In the server certificate (with IP 127.0.0.1), for clients that check a name. */
  readonly serverName: 'redis.test';
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A leaf key and certificate signed by the CA in `dir`, with the extensions in `extensions`. */
function issue(dir: string, name: string, subject: string, extensions: string[]): void {
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  // EC keys: generating RSA ones would take most of the time here.
  openssl(dir, ['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  // An explicit random serial: openssl would otherwise want a serial file next to the CA.
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '3650', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ]);
}

/**
 * A private CA, a server certificate for DNS:redis.test and IP:127.0.0.1 and a client certificate,
 * both signed by it (PEM files). Without `dir`, a temp dir removed when the test process exits.
 */
export function makeTestCertificates(dir?: string): TestCertificates {
  const target = dir ?? makeTempDir('tls');
  mkdirSync(target, { recursive: true });
  openssl(target, [
    'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '3650', '-sha256', '-subj', '/CN=Troupe Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  issue(target, 'server', '/CN=redis.test', [
    'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:redis.test,IP:127.0.0.1',
  ]);
  issue(target, 'client', '/CN=troupe-test-client', ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth']);
  return {
    dir: target,
    caFile: join(target, 'ca.crt'),
    serverCertFile: join(target, 'server.crt'),
    serverKeyFile: join(target, 'server.key'),
    clientCertFile: join(target, 'client.crt'),
    clientKeyFile: join(target, 'client.key'),
    serverName: 'redis.test',
  };
}

export interface TlsRedis {
  readonly port: number;
  /** rediss://[:PASS@]127.0.0.1:port */
  readonly url: string;
  /** Stops the server and removes its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

/** A redis-server that speaks only TLS (no plain port), on a free loopback port. Always call destroy(). */
export async function startTlsRedis(options: { certs: TestCertificates; requireClientCert?: boolean; password?: string }): Promise<TlsRedis> {
  const { certs, password } = options;
  const requireClientCert = options.requireClientCert ?? false;
  const host = '127.0.0.1';
  const port = await freePortOn(host);
  const dir = makeTempDir('tls-redis');
  const proc = new RedisProcess(host, port, dir, [
    '--port', '0', '--tls-port', String(port), '--bind', host, '--dir', dir, '--logfile', join(dir, 'redis.log'),
    '--save', '', '--appendonly', 'no',
    '--tls-cert-file', certs.serverCertFile, '--tls-key-file', certs.serverKeyFile, '--tls-ca-cert-file', certs.caFile,
    '--tls-auth-clients', requireClientCert ? 'yes' : 'no',
    ...(password === undefined ? [] : ['--requirepass', password]),
  ], []);
  const connection = [
    '-h', host, '-p', String(port), '--tls', '--cacert', certs.caFile,
    ...(requireClientCert ? ['--cert', certs.clientCertFile, '--key', certs.clientKeyFile] : []),
    ...(password === undefined ? [] : ['-a', password, '--no-auth-warning']),
  ];
  let destroyed: Promise<void> | undefined;
  const destroy = () => {
    destroyed ??= (async () => {
      await proc.stop();
      removeTempDir(dir);
    })();
    return destroyed;
  };
  try {
    proc.start();
    await waitUntil(`TLS redis-server on port ${port} did not answer`, 10_000, () => probePing(proc, (command) => redisCli([], connection, command)), () => proc.logTail());
  } catch (err) {
    await destroy();
    throw err;
  }
  return { port, url: `rediss://${encodedPassword(password)}${host}:${port}`, destroy };
}
