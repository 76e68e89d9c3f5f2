import * as fs from 'node:fs';
import * as path from 'node:path';

import * as lambda from 'aws-cdk-lib/aws-lambda';

const PACKAGE_NAME = 'cdk-rekognition-custom-labels';
const HANDLER_NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The root of this package: the nearest folder above this file whose package.json is ours.
 * Works from lib/shared under ts-jest and from dist/lib/shared once installed.
 */
export function packageRoot(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && readPackageName(manifest) === PACKAGE_NAME) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the ${PACKAGE_NAME} package root above ${start}`);
    dir = parent;
  }
}

/** The folder holding the bundle of handler `name` (lambda/<name>/index.ts bundled to dist/lambda-bundles/<name>/index.js). */
export function handlerBundleDir(name: string): string {
  if (!HANDLER_NAME.test(name)) throw new Error(`handler name must match ${HANDLER_NAME}, got: ${JSON.stringify(name)}`);
  return path.join(packageRoot(), 'dist', 'lambda-bundles', name);
}

/**
 * Lambda code for a handler bundled when the library was built, so users need neither esbuild nor Docker at synth.
 */
export function handlerCode(name: string): lambda.Code {
  const dir = handlerBundleDir(name);
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(`The Lambda bundle for handler "${name}" is missing (${path.join(dir, 'index.js')}): run npm run build`);
  }
  return lambda.Code.fromAsset(dir);
}

function readPackageName(file: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && typeof parsed.name === 'string') return parsed.name;
  } catch {
    // An unreadable package.json belongs to some other package: keep walking up.
  }
  return undefined;
}
