/**
 * Facts about this package read from its own package.json: its root folder, its version, and the packages the offline
 * tools need (`offlineDependencies`). Pure Node.js (no aws-cdk-lib), so the CLI can use it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PACKAGE_NAME = 'cdk-rekognition-custom-labels';

/**
 * The root of this package: the nearest folder above this file whose package.json is ours.
 * Works from lib/shared under ts-jest and from dist/lib/shared once installed.
 */
export function packageRoot(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && readPackageJson(manifest)?.name === PACKAGE_NAME) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the ${PACKAGE_NAME} package root above ${start}`);
    dir = parent;
  }
}

/** What we read from a package.json. */
export interface PackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly peerDependencies?: Record<string, string>;
  /** The offline tools' packages and the ranges we accept: a field of ours, which npm ignores (see offline-packages.ts). */
  readonly offlineDependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

/** This package's package.json. */
export function ownPackageJson(): PackageJson {
  const file = path.join(packageRoot(), 'package.json');
  const json = readPackageJson(file);
  if (!json) throw new Error(`Cannot read ${file}`);
  return json;
}

/** This package's version, e.g. `0.1.0`. */
export function packageVersion(): string {
  return ownPackageJson().version ?? '0.0.0';
}

function readPackageJson(file: string): PackageJson | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as PackageJson;
  } catch {
    // An unreadable package.json belongs to some other package: keep walking up.
  }
  return undefined;
}
