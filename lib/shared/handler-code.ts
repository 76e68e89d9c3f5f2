import * as fs from 'node:fs';
import * as path from 'node:path';

import * as lambda from 'aws-cdk-lib/aws-lambda';

import { packageRoot } from './package-info';

export { packageRoot } from './package-info';

const HANDLER_NAME = /^[a-z0-9][a-z0-9-]*$/;

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
