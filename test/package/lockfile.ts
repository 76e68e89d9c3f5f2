/**
 * A package-lock.json for a temporary app, cut from this repository's own lockfile: every package the app needs at
 * the version (and with the integrity) our lockfile pins. `npm ci --offline` then installs the app from the npm
 * cache that our own `npm ci` filled, with no registry request: `npm install --offline` cannot, because it needs the
 * registry's full package documents, which `npm ci` never caches.
 */

/** One entry of a lockfile's `packages`. */
export interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  license?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  bin?: Record<string, string> | string;
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  inBundle?: boolean;
  hasInstallScript?: boolean;
  bundleDependencies?: string[];
  [key: string]: unknown;
}

export interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires: boolean;
  packages: Record<string, LockEntry>;
}

export interface AppManifest {
  readonly name: string;
  readonly version: string;
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
}

export interface DeriveOptions {
  /** This repository's lockfile. */
  readonly source: Lockfile;
  /** The app's package.json: every dependency must be in `source` at the version named, or in `local`. */
  readonly app: AppManifest;
  /** Entries that are not in `source`, by package name (a packed tarball: `resolved: 'file:../x.tgz'`). */
  readonly local?: Record<string, LockEntry>;
  /**
   * The registry, to write each package's tarball URL when `source` omits it (npm's omit-lockfile-registry-resolved):
   * with a URL and an integrity, npm fetches the tarball from the cache by its integrity and needs no package document.
   */
  readonly registry: string;
}

const FLAGS = ['dev', 'optional', 'devOptional', 'peer'] as const;

/** The app's lockfile. Throws when a dependency is missing from `source` or pinned there at another version. */
export function deriveLockfile(options: DeriveOptions): Lockfile {
  const { source, app } = options;
  const local = options.local ?? {};
  const out: Record<string, LockEntry> = {};
  /** Edges of the new tree, from a path to the paths it depends on, for the dependency flags. */
  const edges = new Map<string, Array<{ to: string; optional: boolean }>>();
  const queue: string[] = [];

  const add = (target: string, entry: LockEntry): void => {
    if (out[target]) return;
    const copy: LockEntry = { ...entry };
    for (const f of FLAGS) delete copy[f];
    if (copy.resolved === undefined && !copy.inBundle && copy.version !== undefined) {
      copy.resolved = tarballUrl(options.registry, copy.name ?? target.slice(target.lastIndexOf('node_modules/') + 13), copy.version);
    }
    out[target] = copy;
    queue.push(target);
  };

  const rootDeps = { ...app.dependencies, ...app.devDependencies };
  for (const [name, spec] of Object.entries(rootDeps)) {
    const path = `node_modules/${name}`;
    if (local[name]) {
      add(path, local[name]);
      continue;
    }
    const entry = source.packages[path];
    if (!entry) throw new Error(`${name} is not in this repository's package-lock.json: add it to devDependencies so npm ci caches it`);
    if (entry.version !== spec) throw new Error(`${name}: the app asks for ${spec}, package-lock.json pins ${entry.version}`);
    add(path, entry);
  }
  edges.set('', Object.keys(rootDeps).map((name) => ({ to: `node_modules/${name}`, optional: false })));

  while (queue.length > 0) {
    const from = queue.shift()!;
    const entry = out[from];
    const wanted: Array<[string, boolean]> = [
      ...Object.keys(entry.dependencies ?? {}).map((n): [string, boolean] => [n, false]),
      ...Object.keys(entry.optionalDependencies ?? {}).map((n): [string, boolean] => [n, true]),
      // Required peers are installed by npm; optional peers only when something else brings them.
      ...Object.keys(entry.peerDependencies ?? {})
        .filter((n) => entry.peerDependenciesMeta?.[n]?.optional !== true)
        .map((n): [string, boolean] => [n, false]),
    ];
    const list: Array<{ to: string; optional: boolean }> = [];
    for (const [name, optional] of wanted) {
      const found = resolve(source.packages, out, from, name);
      if (found === undefined) {
        if (optional) continue;
        throw new Error(`${from} needs ${name}, which this repository's package-lock.json does not hold where ${from} would find it`);
      }
      if (!out[found]) add(found, source.packages[found]);
      list.push({ to: found, optional });
    }
    edges.set(from, list);
  }

  setFlags(out, edges, Object.keys(app.dependencies).map((n) => `node_modules/${n}`));
  const rootEntry: LockEntry = { name: app.name, version: app.version, dependencies: app.dependencies, devDependencies: app.devDependencies };
  const packages: Record<string, LockEntry> = { '': rootEntry };
  for (const key of Object.keys(out).sort()) packages[key] = out[key];
  return { name: app.name, version: app.version, lockfileVersion: 3, requires: true, packages };
}

/** The registry's tarball URL of a package version: `<registry>/@scope/name/-/name-1.2.3.tgz`. */
export function tarballUrl(registry: string, name: string, version: string): string {
  const base = registry.endsWith('/') ? registry : `${registry}/`;
  return `${base}${name}/-/${name.slice(name.lastIndexOf('/') + 1)}-${version}.tgz`;
}

/**
 * Where `name` is found from `from` the way Node.js looks: `<from>/node_modules/<name>`, then each parent's
 * node_modules up to the top. Paths already in the new tree come first (a local entry), then the source lockfile's.
 */
function resolve(source: Record<string, LockEntry>, target: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (target[candidate] || source[candidate]) return candidate;
    if (base === '') return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i === -1 ? '' : base.slice(0, i);
  }
}

/**
 * npm's dependency flags: `dev` when no path from the app's dependencies reaches the package, `optional` when every
 * path from the root goes through an optional dependency (platform packages: npm skips them where they do not fit),
 * `devOptional` when it is neither but only dev or optional paths reach it.
 */
function setFlags(out: Record<string, LockEntry>, edges: Map<string, Array<{ to: string; optional: boolean }>>, prodRoots: string[]): void {
  const reach = (starts: string[], requiredOnly: boolean): Set<string> => {
    const seen = new Set<string>(starts);
    const queue = [...starts];
    while (queue.length > 0) {
      const at = queue.shift()!;
      for (const e of edges.get(at) ?? []) {
        if (requiredOnly && e.optional) continue;
        if (!seen.has(e.to)) {
          seen.add(e.to);
          queue.push(e.to);
        }
      }
    }
    return seen;
  };
  const allRoots = (edges.get('') ?? []).map((e) => e.to);
  const anyFromProd = reach(prodRoots, false);
  const requiredFromProd = reach(prodRoots, true);
  const requiredFromAll = reach(allRoots, true);
  for (const [path, entry] of Object.entries(out)) {
    const dev = !anyFromProd.has(path);
    const optional = !requiredFromAll.has(path);
    if (dev) entry.dev = true;
    if (optional) entry.optional = true;
    if (!dev && !optional && !requiredFromProd.has(path)) entry.devOptional = true;
  }
}
