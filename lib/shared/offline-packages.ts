/**
 * The offline tools (the emulator, the runner, `custom-labels emulator|local`) need packages that users of the
 * constructs alone do not. They are listed in this package's package.json under `offlineDependencies`, a field npm
 * ignores: npm does not install them, the README's "Install" says how, and this module says clearly which are missing
 * (or installed in a version we do not support) and how to install them, instead of a `Cannot find module` stack.
 *
 * Why not optional peer dependencies (what they were): jsii, which builds the Python package, requires every
 * dependency and peer dependency to be a jsii library or bundled, optional or not (README, "Packaging").
 *
 * Adding a tools-only package to `offlineDependencies` is all it takes for it to be checked; except the IAM policy
 * engine, which the offline world loads on first use (lib/iam/engine.ts) with its own message, because enforcement can
 * be turned off and then needs no engine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ENGINE_PACKAGE } from '../iam/engine';
import { ownPackageJson, PACKAGE_NAME, PackageJson } from './package-info';

/** Offline packages checked where they are used, not before the offline tools start. */
const CHECKED_WHERE_USED: readonly string[] = [ENGINE_PACKAGE];

/** A package the offline tools need, with the version range we accept and the version we test. */
export interface OfflinePackage {
  readonly name: string;
  /** The range we accept, e.g. `^3.7.1` (package.json `offlineDependencies`). */
  readonly range: string;
  /** The version our own lockfile pins and the tests run (from devDependencies); the range's when absent. */
  readonly tested: string;
}

/** An offline package that cannot be used: not installed, or installed in a version outside its range. */
export interface OfflinePackageProblem extends OfflinePackage {
  /** The installed version when there is one (then it is outside `range`). */
  readonly installed?: string;
}

/** The offline packages of `pkg` (this package's by default) the offline tools need to start, in package.json order. */
export function offlinePackages(pkg: PackageJson = ownPackageJson()): OfflinePackage[] {
  return Object.entries(pkg.offlineDependencies ?? {})
    .filter(([name]) => !CHECKED_WHERE_USED.includes(name))
    .map(([name, range]) => ({ name, range, tested: pkg.devDependencies?.[name] ?? range.replace(/^[\^~]/, '') }));
}

/** Resolves a package name from where this package is installed; throws when it is not installed. */
export type Resolver = (request: string) => string;

/** The offline packages that cannot be loaded from this package's location, or are installed outside their range. */
export function missingOfflinePackages(resolve: Resolver = require.resolve, packages: OfflinePackage[] = offlinePackages()): OfflinePackageProblem[] {
  const problems: OfflinePackageProblem[] = [];
  for (const p of packages) {
    const found = locate(p.name, resolve);
    if (!found) problems.push(p);
    else {
      const installed = versionAt(found);
      // A version we cannot read is given the benefit of the doubt: the package loads, and that is what we can tell.
      if (installed !== undefined && satisfies(installed, p.range) === false) problems.push({ ...p, installed });
    }
  }
  return problems;
}

/** The package.json of an installed package, or undefined when it is not installed. */
function locate(name: string, resolve: Resolver): string | undefined {
  try {
    return resolve(`${name}/package.json`);
  } catch {
    // Not resolvable this way: a package whose `exports` hides its package.json may still resolve its main.
  }
  let main: string;
  try {
    main = resolve(name);
  } catch {
    return undefined;
  }
  for (let dir = path.dirname(main); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (readName(file) === name) return file;
  }
  return main;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? parsed as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

function readName(file: string): unknown {
  return readJson(file)?.name;
}

function versionAt(file: string): string | undefined {
  const version = file.endsWith('package.json') ? readJson(file)?.version : undefined;
  return typeof version === 'string' ? version : undefined;
}

/**
 * Whether `version` is in `range`, for the forms package.json uses here: `1.2.3`, `^1.2.3`, `~1.2.3` (npm's meaning:
 * a caret keeps the first non-zero part; a prerelease such as `3.8.0-beta.1` is in none of them). Undefined for any
 * other form (a test checks that ours are all understood).
 */
export function satisfies(version: string, range: string): boolean | undefined {
  const v = /^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(version);
  const r = /^([\^~]?)(\d+)\.(\d+)\.(\d+)$/.exec(range.trim());
  if (!v || !r) return undefined;
  if (v[4] !== undefined) return false;
  const have = [Number(v[1]), Number(v[2]), Number(v[3])];
  const want = [Number(r[2]), Number(r[3]), Number(r[4])];
  const cmp = have[0] - want[0] || have[1] - want[1] || have[2] - want[2];
  if (r[1] === '') return cmp === 0;
  if (cmp < 0) return false;
  // How many leading parts must stay as they are: ~ keeps major and minor; ^ keeps everything up to the first non-zero.
  const fixed = r[1] === '~' ? 2 : want[0] > 0 ? 1 : want[1] > 0 ? 2 : 3;
  return have.slice(0, fixed).every((n, i) => n === want[i]);
}

/** The one-line message: what needs them, which are missing or in the wrong version, and the command that installs them. */
export function missingPackagesMessage(what: string, problems: OfflinePackageProblem[]): string {
  const allMissing = problems.every((p) => p.installed === undefined);
  const names = problems.map((p) => (p.installed === undefined ? p.name : `${p.name} ${p.installed} (supported: ${p.range})`)).join(', ');
  const install = problems.map((p) => `${p.name}@${p.tested}`).join(' ');
  return `${what} needs packages that are ${allMissing ? 'not installed' : 'missing or in a version it does not support'}: ${names}. `
    + `The constructs do not need them, so ${PACKAGE_NAME} does not install them; install them with: npm install --save-dev ${install}`;
}

/** Thrown when the offline tools are loaded without their packages. */
export class MissingOfflinePackagesError extends Error {
  constructor(readonly missing: OfflinePackageProblem[], what: string) {
    super(missingPackagesMessage(what, missing));
    this.name = 'MissingOfflinePackagesError';
  }
}

/** Throws MissingOfflinePackagesError when any offline package (or any of `only`, when given) is missing or unsupported. */
export function assertOfflinePackages(what: string, resolve: Resolver = require.resolve, only?: readonly string[]): void {
  const packages = offlinePackages().filter((p) => only === undefined || only.includes(p.name));
  const missing = missingOfflinePackages(resolve, packages);
  if (missing.length > 0) throw new MissingOfflinePackagesError(missing, what);
}
