import { deriveLockfile, Lockfile, tarballUrl } from './lockfile';

/** A source lockfile: app deps `lib` (with a nested `util@2`) and `tool`; `tool` has a platform-only optional dependency. */
function source(): Lockfile {
  return {
    name: 'repo', version: '1.0.0', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'repo', version: '1.0.0' },
      'node_modules/lib': { version: '1.0.0', integrity: 'sha512-lib', dependencies: { util: '^2.0.0' }, peerDependencies: { peer: '^1' } },
      'node_modules/lib/node_modules/util': { version: '2.0.0', integrity: 'sha512-util2' },
      'node_modules/util': { version: '1.0.0', integrity: 'sha512-util1', dev: true },
      'node_modules/peer': { version: '1.2.0', integrity: 'sha512-peer', dev: true },
      'node_modules/tool': { version: '3.0.0', integrity: 'sha512-tool', dependencies: { util: '^1.0.0' }, optionalDependencies: { '@x/native': '3.0.0' } },
      'node_modules/@x/native': { version: '3.0.0', integrity: 'sha512-native', os: ['darwin'], optional: true },
      'node_modules/unused': { version: '9.0.0', integrity: 'sha512-unused' },
    },
  };
}

describe('deriveLockfile', () => {
  test('takes what the app needs from the source, where Node.js would find it, with npm\'s flags and tarball URLs', () => {
    // WHEN an app depends on lib (prod) and tool (dev)
    const lock = deriveLockfile({
      source: source(),
      app: { name: 'app', version: '0.1.0', dependencies: { lib: '1.0.0' }, devDependencies: { tool: '3.0.0' } },
      registry: 'https://registry.example/',
    });
    // THEN the tree holds them, their dependencies at the paths they resolve to, and nothing else
    expect(Object.keys(lock.packages)).toEqual(['', 'node_modules/@x/native', 'node_modules/lib', 'node_modules/lib/node_modules/util',
      'node_modules/peer', 'node_modules/tool', 'node_modules/util']);
    expect(lock.packages['']).toEqual({ name: 'app', version: '0.1.0', dependencies: { lib: '1.0.0' }, devDependencies: { tool: '3.0.0' } });
    // AND the flags say which part of the tree each belongs to (the platform package stays optional: npm skips it here)
    const flags = (p: string): string[] => ['dev', 'optional', 'devOptional'].filter((f) => lock.packages[p][f] === true);
    expect(flags('node_modules/lib')).toEqual([]);
    expect(flags('node_modules/lib/node_modules/util')).toEqual([]);
    expect(flags('node_modules/peer')).toEqual([]);
    expect(flags('node_modules/tool')).toEqual(['dev']);
    expect(flags('node_modules/util')).toEqual(['dev']);
    expect(flags('node_modules/@x/native')).toEqual(['dev', 'optional']);
    // AND each entry has its tarball URL and keeps its integrity
    expect(lock.packages['node_modules/lib/node_modules/util']).toMatchObject({ resolved: 'https://registry.example/util/-/util-2.0.0.tgz',
      integrity: 'sha512-util2' });
    expect(lock.packages['node_modules/@x/native'].resolved).toBe('https://registry.example/@x/native/-/native-3.0.0.tgz');
  });

  test('a local entry (a packed tarball) is used as given', () => {
    const lock = deriveLockfile({
      source: source(),
      app: { name: 'app', version: '0.1.0', dependencies: { mine: 'file:../mine.tgz', peer: '1.2.0' }, devDependencies: {} },
      local: { mine: { version: '0.1.0', resolved: 'file:../mine.tgz', integrity: 'sha512-mine', peerDependencies: { peer: '^1' } } },
      registry: 'https://registry.example',
    });
    expect(lock.packages['node_modules/mine']).toEqual({ version: '0.1.0', resolved: 'file:../mine.tgz', integrity: 'sha512-mine',
      peerDependencies: { peer: '^1' } });
  });

  test('refuses a package the source does not hold, or holds at another version', () => {
    const app = (deps: Record<string, string>) => ({ name: 'app', version: '0.1.0', dependencies: deps, devDependencies: {} });
    expect(() => deriveLockfile({ source: source(), app: app({ nope: '1.0.0' }), registry: 'r' }))
      .toThrow("nope is not in this repository's package-lock.json: add it to devDependencies so npm ci caches it");
    expect(() => deriveLockfile({ source: source(), app: app({ lib: '1.1.0' }), registry: 'r' }))
      .toThrow('lib: the app asks for 1.1.0, package-lock.json pins 1.0.0');
  });

  test('tarballUrl: scoped and unscoped names', () => {
    expect(tarballUrl('https://registry.npmjs.org/', '@aws-sdk/client-s3', '3.1.0')).toBe('https://registry.npmjs.org/@aws-sdk/client-s3/-/client-s3-3.1.0.tgz');
    expect(tarballUrl('https://registry.npmjs.org', 'tsx', '4.23.15')).toBe('https://registry.npmjs.org/tsx/-/tsx-4.23.15.tgz');
  });
});
