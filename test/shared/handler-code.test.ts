import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

import { handlerBundleDir, handlerCode, packageRoot } from '../../lib/shared/handler-code';

describe('handler code', () => {
  test('packageRoot finds this package from the source folder', () => {
    const root = packageRoot();
    expect(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).name).toBe('cdk-rekognition-custom-labels');
    expect(fs.existsSync(path.join(root, 'lib', 'shared', 'handler-code.ts'))).toBe(true);
  });

  test('packageRoot walks up past other packages and fails clearly outside any', () => {
    // GIVEN an installed layout: <tmp>/node_modules/cdk-rekognition-custom-labels/dist/lib/shared inside another package
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'handler-code-'));
    try {
      fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ name: 'users-app' }));
      const ours = path.join(tmp, 'node_modules', 'cdk-rekognition-custom-labels');
      const deep = path.join(ours, 'dist', 'lib', 'shared');
      fs.mkdirSync(deep, { recursive: true });
      fs.writeFileSync(path.join(ours, 'package.json'), JSON.stringify({ name: 'cdk-rekognition-custom-labels' }));
      fs.writeFileSync(path.join(ours, 'dist', 'package.json'), '{ not json');
      // WHEN / THEN
      expect(packageRoot(deep)).toBe(ours);
      expect(() => packageRoot(tmp)).toThrow(`Cannot find the cdk-rekognition-custom-labels package root above ${tmp}`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('handlerBundleDir points into dist/lambda-bundles and refuses odd names', () => {
    expect(handlerBundleDir('teardown')).toBe(path.join(packageRoot(), 'dist', 'lambda-bundles', 'teardown'));
    expect(() => handlerBundleDir('../etc')).toThrow('handler name must match /^[a-z0-9][a-z0-9-]*$/, got: "../etc"');
  });

  test('handlerCode tells how to fix a missing bundle', () => {
    expect(() => handlerCode('no-such-handler')).toThrow(
      `The Lambda bundle for handler "no-such-handler" is missing (${path.join(packageRoot(), 'dist', 'lambda-bundles', 'no-such-handler', 'index.js')}): run npm run build`);
  });

  test('handlerCode loads a built bundle as an asset', () => {
    const code = handlerCode('teardown');
    expect(code).toBeInstanceOf(lambda.AssetCode);
    expect((code as lambda.AssetCode).path).toBe(handlerBundleDir('teardown'));
    expect(code.bind(new Stack()).s3Location).toBeDefined();
  });

  test('each asset folder holds index.js only: no source map is uploaded with a function', () => {
    // Every lambda/<name>/index.ts is a handler (lambda/shared holds code the handlers share).
    const handlers = fs.readdirSync(path.join(packageRoot(), 'lambda')).filter((n) => fs.existsSync(path.join(packageRoot(), 'lambda', n, 'index.ts')));
    expect(handlers.length).toBeGreaterThanOrEqual(5);
    for (const name of handlers) {
      expect(fs.readdirSync(handlerBundleDir(name))).toEqual(['index.js']);
      expect(fs.readFileSync(path.join(handlerBundleDir(name), 'index.js'), 'utf8')).not.toContain('sourceMappingURL');
      // the maps exist for contributors, outside the asset folders (and outside the package)
      expect(fs.existsSync(path.join(packageRoot(), 'dist', 'lambda-maps', name, 'index.js.map'))).toBe(true);
    }
  });

  test('the licenses of the code bundled into the handlers sit beside the bundles', () => {
    const text = fs.readFileSync(path.join(packageRoot(), 'dist', 'lambda-bundles', 'THIRD-PARTY-LICENSES.txt'), 'utf8');
    const sdk = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'node_modules', '@aws-sdk', 'client-rekognition', 'package.json'), 'utf8')) as { version: string };
    expect(text).toContain(`@aws-sdk/client-rekognition@${sdk.version}  Apache-2.0`);
    expect(text).toContain('Apache License');
    expect(text).toMatch(/Applies to: .*@aws-sdk\/client-rekognition@/);
  });
});
