/**
 * A CDK app made the way a user makes one, with this package installed from its tarball: `npm pack`, `cdk init app
 * --language typescript` (the CLI this repository pins, whose templates are the ones users get), the package and the
 * offline tools installed offline from the npm cache. Used by packed-app.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { deriveLockfile, LockEntry, Lockfile } from './lockfile';

export const REPO = path.resolve(__dirname, '..', '..');

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Variables `npm test` sets for its script that would point a nested npm at this repository (its prefix, its package). */
const NPM_SCRIPT_VARIABLES = /^(npm_(lifecycle_|package_|command$|execpath$|node_execpath$)|npm_config_(local_prefix|prefix|global_prefix)$|INIT_CWD$)/i;

/**
 * The environment of a user's shell: ours without the variables of an npm script (jest may run under `npm test`).
 * npm's own settings (`npm_config_cache`, `npm_config_registry`, ...) are kept: the install must use the same cache.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!NPM_SCRIPT_VARIABLES.test(k)) env[k] = v;
  // Nor this repository's node_modules/.bin, which `npm test` puts first on the PATH: the app uses its own tools.
  env.PATH = (env.PATH ?? '').split(path.delimiter).filter((p) => !p.startsWith(path.join(REPO, 'node_modules'))).join(path.delimiter);
  // No version check or notices over a network that may not answer; no telemetry.
  return { ...env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true', CI: 'true', ...extra };
}

/** Runs a command to its end; never throws. */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = userEnv(), timeoutMs = 120_000): Run {
  const start = Date.now();
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  const error = r.error ? `\n${r.error.message}` : '';
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + error, ms: Date.now() - start };
}

/** Throws with the command's output unless it exited 0. */
export function ok(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r;
}

export interface PackResult {
  readonly tarball: string;
  readonly files: Array<{ path: string; size: number }>;
  readonly size: number;
  readonly unpackedSize: number;
}

/** `npm pack` of the built package (no build: CI builds first; prepack would rebuild under running tests). */
export function pack(dest: string): PackResult {
  for (const f of ['dist/lib/index.js', 'dist/bin/custom-labels.js', 'dist/lambda-bundles/model-version/index.js']) {
    if (!fs.existsSync(path.join(REPO, f))) throw new Error(`${f} is missing: run npm run build before this test`);
  }
  const r = ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], REPO), 'npm pack');
  type PackInfo = { filename: string; files: Array<{ path: string; size: number }>; size: number; unpackedSize: number };
  const [info] = JSON.parse(r.stdout) as PackInfo[];
  return { tarball: path.join(dest, info.filename), files: info.files, size: info.size, unpackedSize: info.unpackedSize };
}

/** `cdk init app --language typescript --generate-only`, with the CLI this repository pins. */
export function cdkInit(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  ok(run(process.execPath, [path.join(REPO, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'init', 'app', '--language', 'typescript', '--generate-only'], dir),
    'cdk init');
}

interface PackageJson {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  [key: string]: unknown;
}

/**
 * The versions our lockfile pins for the app's packages. `cdk init` writes ranges (`^2.275.0`, `~7.0.2`); an offline
 * install can only use versions the cache holds, and those are ours.
 */
function pinned(lock: Lockfile, name: string): string {
  const v = lock.packages[`node_modules/${name}`]?.version;
  if (!v) throw new Error(`${name} is not in package-lock.json`);
  return v;
}

export interface InstallOptions {
  /** The tarball from `pack`. */
  readonly tarball: string;
  /** Extra packages as the README's Install section tells users to add them (names only; versions from our lockfile). */
  readonly devDependencies: string[];
  readonly dependencies: string[];
}

/**
 * Installs the app as `npm install <tarball>` and the README's install commands would, but offline: the app's
 * package.json pins the versions our lockfile holds, a lockfile cut from ours lists the whole tree, `npm ci --offline`
 * installs it from the cache. Returns the package.json written and how long the install took.
 */
export function installOffline(appDir: string, options: InstallOptions): { packageJson: PackageJson; ms: number } {
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as Lockfile;
  const generated = JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8')) as PackageJson;
  const tarballName = path.basename(options.tarball);
  const relativeTarball = `file:${path.relative(appDir, options.tarball)}`;
  const own = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as PackageJson & LockEntry;
  // What cdk init wrote, pinned; minus @swc/core, @swc/jest and jest, which only run the app's own unit tests (not
  // run here) and are not in our lockfile. @types/jest stays: the generated tsconfig names it in "types".
  const devDependencies: Record<string, string> = {};
  for (const name of Object.keys(generated.devDependencies)) {
    if (['@swc/core', '@swc/jest', 'jest'].includes(name)) continue;
    devDependencies[name] = pinned(lock, name);
  }
  for (const name of options.devDependencies) devDependencies[name] = pinned(lock, name);
  const dependencies: Record<string, string> = { 'cdk-rekognition-custom-labels': relativeTarball };
  for (const name of [...Object.keys(generated.dependencies), ...options.dependencies]) dependencies[name] = pinned(lock, name);
  const packageJson: PackageJson = { ...generated, dependencies: sortKeys(dependencies), devDependencies: sortKeys(devDependencies) };
  fs.writeFileSync(path.join(appDir, 'package.json'), JSON.stringify(packageJson, null, 2) + '\n');

  const tarballEntry: LockEntry = {
    version: own.version,
    resolved: relativeTarball,
    integrity: `sha512-${createHash('sha512').update(fs.readFileSync(options.tarball)).digest('base64')}`,
    license: own.license as string,
    peerDependencies: own.peerDependencies,
    peerDependenciesMeta: own.peerDependenciesMeta,
    bin: own.bin,
    engines: own.engines,
  };
  const appLock = deriveLockfile({
    source: lock,
    app: { name: packageJson.name, version: packageJson.version, dependencies: packageJson.dependencies,
      devDependencies: packageJson.devDependencies },
    local: { 'cdk-rekognition-custom-labels': tarballEntry },
    registry: ok(run('npm', ['config', 'get', 'registry'], appDir), 'npm config get registry').stdout.trim(),
  });
  fs.writeFileSync(path.join(appDir, 'package-lock.json'), JSON.stringify(appLock, null, 2) + '\n');
  const r = ok(run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], appDir), `npm ci --offline of ${tarballName}`);
  return { packageJson, ms: r.ms };
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * The TypeScript blocks of a markdown file, in order, with the line each starts on: ```ts (construct code, which
 * jsii-rosetta also translates for the Python package) and ```TypeScript (Node.js-only code, which rosetta leaves alone).
 */
export function typescriptBlocks(markdown: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/i.test(lines[i])) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') + '\n' });
    i = end;
  }
  return blocks;
}
