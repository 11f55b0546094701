/**
 * The network guard's decisions without any network: which addresses are refused by default,
 * what each allow-list form opens, the lookup a socket gets, and the allow-list as a setting
 * (flag, environment, config file) with a bad entry named.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flagsLayer } from '../src/cli/config-args.js';
import { guardedLookup, DestinationRefusedError, parseAllowList, refusedAddress, refusedName, checkHop } from '../src/net-guard/index.js';
import { envLayer, resolveConfig, ConfigError, type Layer } from '../src/supervisor/config.js';

const none = parseAllowList([]);

describe('refused by default', () => {
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fdff::1', 'unique-local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    // IPv4 carried in IPv6 is judged as the IPv4 address it reaches.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['::127.0.0.1', 'loopback'],
  ];
  for (const [address, range] of refused) {
    test(`${address} is ${range}`, () => {
      assert.equal(refusedAddress(none, address, address)?.range, range);
    });
  }

  test('public addresses pass, including the neighbours of each range', () => {
    for (const address of ['8.8.8.8', '93.184.216.34', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '11.0.0.1', '2606:4700::1111', '::ffff:8.8.8.8', 'fec0::1', 'fe00::1']) {
      assert.equal(refusedAddress(none, address, address), undefined, address);
    }
  });

  test('metadata host names are refused before any lookup, in any letter case and with the root dot', () => {
    for (const host of ['metadata.google.internal', 'METADATA.google.internal.', 'metadata.goog']) assert.equal(refusedName(none, host)?.range, 'metadata', host);
    assert.equal(refusedName(none, 'example.com'), undefined);
  });
});

describe('each allow-list form', () => {
  test('a range name opens that range only', () => {
    const loopback = parseAllowList(['loopback']);
    assert.equal(refusedAddress(loopback, 'x', '127.0.0.1'), undefined);
    assert.equal(refusedAddress(loopback, 'x', '::1'), undefined);
    assert.equal(refusedAddress(loopback, 'x', '::ffff:127.0.0.1'), undefined);
    assert.equal(refusedAddress(loopback, 'x', '10.0.0.1')?.range, 'private');
    const priv = parseAllowList(['private', 'unique-local', 'cgnat']);
    for (const a of ['10.0.0.1', '172.20.0.1', '192.168.0.1', 'fd12::1', '100.64.1.1']) assert.equal(refusedAddress(priv, 'x', a), undefined, a);
  });

  test('an IP address opens that address; a CIDR opens its range', () => {
    const one = parseAllowList(['10.0.0.5', '::1']);
    assert.equal(refusedAddress(one, 'x', '10.0.0.5'), undefined);
    assert.equal(refusedAddress(one, 'x', '10.0.0.6')?.range, 'private');
    assert.equal(refusedAddress(one, 'x', '::1'), undefined);
    assert.equal(refusedAddress(one, 'x', '127.0.0.1')?.range, 'loopback', '::1 does not open IPv4 loopback');
    const cidr = parseAllowList(['10.20.0.0/16', 'fd00:1::/32']);
    assert.equal(refusedAddress(cidr, 'x', '10.20.255.1'), undefined);
    assert.equal(refusedAddress(cidr, 'x', '10.21.0.1')?.range, 'private');
    assert.equal(refusedAddress(cidr, 'x', 'fd00:1:ffff::1'), undefined);
    assert.equal(refusedAddress(cidr, 'x', 'fd00:2::1')?.range, 'unique-local');
  });

  test('metadata opens only by name or by its very address, not by a range that contains it', () => {
    assert.equal(refusedAddress(parseAllowList(['link-local']), 'x', '169.254.169.254')?.range, 'metadata');
    assert.equal(refusedAddress(parseAllowList(['169.254.0.0/16']), 'x', '169.254.169.254')?.range, 'metadata');
    assert.equal(refusedAddress(parseAllowList(['169.254.0.0/16']), 'x', '169.254.1.1'), undefined);
    assert.equal(refusedAddress(parseAllowList(['cgnat']), 'x', '100.100.100.200')?.range, 'metadata');
    assert.equal(refusedAddress(parseAllowList(['metadata']), 'x', '169.254.169.254'), undefined);
    assert.equal(refusedAddress(parseAllowList(['169.254.169.254']), 'x', '169.254.169.254'), undefined);
    assert.equal(refusedName(parseAllowList(['metadata']), 'metadata.google.internal'), undefined);
    assert.equal(refusedName(parseAllowList(['metadata.google.internal']), 'metadata.google.internal'), undefined);
  });

  test('a host name, or *.domain, is reached whatever it resolves to; other names are checked', () => {
    const names = parseAllowList(['executor.internal', '*.svc.cluster.local']);
    assert.deepEqual(checkHop({ policy: names }, new URL('http://EXECUTOR.internal./run'), 'GET'), {}, 'no checking lookup');
    assert.deepEqual(checkHop({ policy: names }, new URL('http://api.team.svc.cluster.local/'), 'GET'), {});
    assert.equal(typeof checkHop({ policy: names }, new URL('http://svc.cluster.local/'), 'GET').lookup, 'function', 'the bare domain is not under *.');
    assert.equal(typeof checkHop({ policy: names }, new URL('http://other.internal/'), 'GET').lookup, 'function');
  });

  test('* opens everything', () => {
    const all = parseAllowList(['*']);
    for (const a of ['127.0.0.1', '169.254.169.254', '10.0.0.1']) assert.equal(refusedAddress(all, 'x', a), undefined);
    assert.equal(refusedName(all, 'metadata.google.internal'), undefined);
  });

  test('a bad entry is named with the accepted forms', () => {
    assert.throws(() => parseAllowList(['10.0.0.0/33']), /"10\.0\.0\.0\/33" is not a valid IP address or CIDR range/);
    assert.throws(() => parseAllowList(['1.2.3']), /"1\.2\.3" is not a valid IP address/);
    assert.throws(() => parseAllowList(['http://x/']), /"http:\/\/x\/" is not a host name .* a CIDR range \(10\.0\.0\.0\/8\), "\*" or a range name \(metadata, unspecified, loopback/);
    assert.throws(() => parseAllowList(['lo opback']), /is not a host name/);
  });
});

describe('checks before and at connect', () => {
  test('an IP literal or a metadata name is refused before any lookup, with the address, range and flag named', () => {
    let lookups = 0;
    const guard = { policy: none, resolve: () => void (lookups += 1) };
    const err = (() => {
      try {
        checkHop(guard, new URL('http://[::ffff:a9fe:a9fe]/latest/meta-data/'), 'GET http://[::ffff:a9fe:a9fe]/latest/meta-data/');
      } catch (e) {
        return e as DestinationRefusedError;
      }
      assert.fail('not refused');
    })();
    assert.ok(err instanceof DestinationRefusedError);
    assert.deepEqual([err.code, err.unrecoverable, err.range, err.address], ['FETCH_DESTINATION_REFUSED', true, 'metadata', '::ffff:a9fe:a9fe']);
    assert.match(err.message, /refused to connect to ::ffff:a9fe:a9fe \(a cloud metadata service address range 169\.254\.169\.254\/32\).*--allow-hosts \(TROUPE_ALLOW_HOSTS, config "allowHosts"\), e\.g\. metadata or/);
    assert.throws(() => checkHop(guard, new URL('http://metadata.google.internal/computeMetadata/v1/'), 'GET'), /refused to connect to metadata\.google\.internal \(a cloud metadata service address\)/);
    assert.throws(() => checkHop(guard, new URL('http://10.0.0.5:8080/'), 'GET'), /10\.0\.0\.5 \(private \(RFC 1918\) range 10\.0\.0\.0\/8\).* e\.g\. 10\.0\.0\.5, 10\.0\.0\.0\/8 or private/);
    assert.equal(lookups, 0);
  });

  test('the lookup refuses a name when any address it resolves to is refused (rebinding), and passes allowed ones on', async () => {
    const answers: Record<string, Array<{ address: string; family: number }>> = {
      'mixed.test': [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
      'public.test': [{ address: '93.184.216.34', family: 4 }],
    };
    const guard = { policy: none, resolve: (host: string, _o: unknown, cb: (e: null, a: Array<{ address: string; family: number }>) => void) => cb(null, answers[host] ?? []) };
    const lookup = guardedLookup(guard, 'GET http://mixed.test/');
    const mixed = await new Promise<unknown>((resolve) => lookup('mixed.test', { all: true }, (err) => resolve(err)));
    assert.ok(mixed instanceof DestinationRefusedError);
    assert.match(mixed.message, /refused to connect to 127\.0\.0\.1 \(loopback range 127\.0\.0\.0\/8\) \(mixed\.test resolves to it\)/);
    const one = await new Promise<unknown[]>((resolve) => lookup('public.test', {}, (err, address, family) => resolve([err, address, family])));
    assert.deepEqual(one, [null, '93.184.216.34', 4]);
    const all = await new Promise<unknown[]>((resolve) => lookup('public.test', { all: true }, (err, address) => resolve([err, address])));
    assert.deepEqual(all, [null, [{ address: '93.184.216.34', family: 4 }]]);
  });
});

describe('the allow-list as a setting', () => {
  const file = (values: Record<string, unknown>): Layer => ({ source: 'file', values, describe: () => 'troupe.json' });

  test('flag, environment variable and config key; the default allows nothing', () => {
    assert.deepEqual(resolveConfig([]).config.allowHosts, []);
    assert.deepEqual(resolveConfig([flagsLayer({ 'allow-hosts': ['loopback,10.0.0.0/8', 'executor.internal'] })]).config.allowHosts, ['loopback', '10.0.0.0/8', 'executor.internal']);
    assert.deepEqual(resolveConfig([envLayer({ TROUPE_ALLOW_HOSTS: 'private, *.svc.cluster.local' })]).config.allowHosts, ['private', '*.svc.cluster.local']);
    assert.deepEqual(resolveConfig([file({ allowHosts: ['::1'] })]).config.allowHosts, ['::1']);
  });

  test('a bad entry stops the start, naming the entry and where it came from', () => {
    assert.throws(
      () => resolveConfig([envLayer({ TROUPE_ALLOW_HOSTS: 'loopback,10.0.0.0/40' })]),
      (err: unknown) => err instanceof ConfigError && /"10\.0\.0\.0\/40" is not a valid IP address or CIDR range .*\(from environment variable TROUPE_ALLOW_HOSTS\)/.test(err.message),
    );
  });

  test('wasmModuleDirs must be absolute', () => {
    assert.deepEqual(resolveConfig([flagsLayer({ 'wasm-module-dirs': ['/srv/wasm'] })]).config.wasmModuleDirs, ['/srv/wasm']);
    assert.throws(() => resolveConfig([flagsLayer({ 'wasm-module-dirs': ['mods'] })]), /wasmModuleDirs: "mods" must be an absolute directory path.*\(from --wasm-module-dirs\)/);
  });
});
