/**
 * The offline tools (the emulator, the runner, `custom-labels emulator|local`) need packages that users of the
 * constructs alone do not: they are optional peer dependencies of this package (see the README's "Install"), and
 * this module says clearly which are missing and how to install them, instead of a `Cannot find module` stack.
 *
 * The list is this package's `peerDependenciesMeta` entries marked optional, so adding a tools-only package to
 * package.json is all it takes for it to be checked; except the IAM policy engine, which the offline world loads on
 * first use (lib/iam/engine.ts) with its own message, because enforcement can be turned off and then needs no engine.
 */
import { ENGINE_PACKAGE } from '../iam/engine';
import { ownPackageJson, PACKAGE_NAME, PackageJson } from './package-info';

/** Optional peers checked where they are used, not before the offline tools start. */
const CHECKED_WHERE_USED: readonly string[] = [ENGINE_PACKAGE];

/** A package the offline tools need, with the version range we accept and the version we test. */
export interface OfflinePackage {
  readonly name: string;
  /** The peer dependency range, e.g. `^3.7.1`. */
  readonly range: string;
  /** The version our own lockfile pins and the tests run (from devDependencies); the range's when absent. */
  readonly tested: string;
}

/** The optional peer dependencies of `pkg` (this package's by default) the offline tools need to start, in package.json order. */
export function offlinePackages(pkg: PackageJson = ownPackageJson()): OfflinePackage[] {
  const meta = pkg.peerDependenciesMeta ?? {};
  return Object.entries(pkg.peerDependencies ?? {})
    .filter(([name]) => meta[name]?.optional === true && !CHECKED_WHERE_USED.includes(name))
    .map(([name, range]) => ({ name, range, tested: pkg.devDependencies?.[name] ?? range.replace(/^[\^~]/, '') }));
}

/** Resolves a package name from where this package is installed; throws when it is not installed. */
export type Resolver = (request: string) => string;

/** The offline packages that cannot be loaded from this package's location. */
export function missingOfflinePackages(resolve: Resolver = require.resolve, packages: OfflinePackage[] = offlinePackages()): OfflinePackage[] {
  return packages.filter((p) => !isInstalled(p.name, resolve));
}

function isInstalled(name: string, resolve: Resolver): boolean {
  for (const request of [name, `${name}/package.json`]) {
    try {
      resolve(request);
      return true;
    } catch {
      // Not resolvable this way: a package whose `exports` hides its main or its package.json may answer the other.
    }
  }
  return false;
}

/** The one-line message for missing packages: what needs them, which are missing, and the command that installs them. */
export function missingPackagesMessage(what: string, missing: OfflinePackage[]): string {
  const names = missing.map((p) => p.name).join(', ');
  const install = missing.map((p) => `${p.name}@${p.tested}`).join(' ');
  return `${what} needs packages that are not installed: ${names}. They are optional peer dependencies of ${PACKAGE_NAME} `
    + `(the constructs do not need them); install them with: npm install --save-dev ${install}`;
}

/** Thrown when the offline tools are loaded without their packages. */
export class MissingOfflinePackagesError extends Error {
  constructor(readonly missing: OfflinePackage[], what: string) {
    super(missingPackagesMessage(what, missing));
    this.name = 'MissingOfflinePackagesError';
  }
}

/** Throws MissingOfflinePackagesError when any offline package (or any of `only`, when given) is missing. */
export function assertOfflinePackages(what: string, resolve: Resolver = require.resolve, only?: readonly string[]): void {
  const packages = offlinePackages().filter((p) => only === undefined || only.includes(p.name));
  const missing = missingOfflinePackages(resolve, packages);
  if (missing.length > 0) throw new MissingOfflinePackagesError(missing, what);
}
