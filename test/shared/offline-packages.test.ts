import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ENGINE_PACKAGE } from '../../lib/iam/engine';
import {
  assertOfflinePackages, missingOfflinePackages, MissingOfflinePackagesError, offlinePackages, Resolver, satisfies,
} from '../../lib/shared/offline-packages';

const ownPackage = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>; offlineDependencies: Record<string, string>; devDependencies: Record<string, string>;
};

/** A resolver that finds everything but `absent`. */
const without = (...absent: string[]): Resolver => (request) => {
  if (absent.some((name) => request === name || request.startsWith(`${name}/`))) throw new Error(`Cannot find module '${request}'`);
  return `/node_modules/${request}`;
};

describe('offline packages', () => {
  test('are the offlineDependencies of package.json but the IAM policy engine, each with its range and tested version', () => {
    const packages = offlinePackages();
    const listed = Object.keys(ownPackage.offlineDependencies);
    // the policy engine is loaded (and explained) where it is used: enforcement can be turned off
    expect(listed).toContain(ENGINE_PACKAGE);
    expect(packages.map((p) => p.name)).toEqual(listed.filter((n) => n !== ENGINE_PACKAGE));
    expect(packages.map((p) => p.name)).toEqual(expect.arrayContaining(['s3rver', 'aws-local-stepfunctions', '@aws-sdk/client-rekognition']));
    for (const p of packages) {
      expect(p.range).toBe(ownPackage.offlineDependencies[p.name]);
      expect(p.tested).toBe(ownPackage.devDependencies[p.name]);
    }
    // none is a dependency or a peer dependency npm would install or check (jsii allows only jsii libraries there)
    expect(Object.keys(ownPackage.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(listed.filter((n) => n in ownPackage.peerDependencies)).toEqual([]);
  });

  test('every range is one the version check understands, and the tested version is in it', () => {
    for (const [name, range] of Object.entries(ownPackage.offlineDependencies)) {
      expect({ name, ok: satisfies(ownPackage.devDependencies[name], range) }).toEqual({ name, ok: true });
    }
  });

  test('the version check: exact, caret and tilde ranges as npm reads them', () => {
    expect(satisfies('3.7.1', '^3.7.1')).toBe(true);
    expect(satisfies('3.9.0', '^3.7.1')).toBe(true);
    expect(satisfies('3.7.0', '^3.7.1')).toBe(false);
    expect(satisfies('4.0.0', '^3.7.1')).toBe(false);
    expect(satisfies('0.4.9', '^0.4.4')).toBe(true);
    expect(satisfies('0.5.0', '^0.4.4')).toBe(false);
    expect(satisfies('0.0.4', '^0.0.3')).toBe(false);
    expect(satisfies('0.1.173', '0.1.173')).toBe(true);
    expect(satisfies('0.1.174', '0.1.173')).toBe(false);
    expect(satisfies('1.2.9', '~1.2.3')).toBe(true);
    expect(satisfies('1.3.0', '~1.2.3')).toBe(false);
    expect(satisfies('3.8.0-beta.1', '^3.7.1')).toBe(false);
    expect(satisfies('3.8.0+build.5', '^3.7.1')).toBe(true);
    expect(satisfies('3.7.1', '>=3 <4')).toBeUndefined();
  });

  test('are all installed in this repository (as devDependencies)', () => {
    expect(missingOfflinePackages()).toEqual([]);
    expect(() => assertOfflinePackages('custom-labels local')).not.toThrow();
  });

  test('a missing one: the error names it and gives the command that installs it', () => {
    const missing = missingOfflinePackages(without('s3rver', 'aws-local-stepfunctions'));
    expect(missing.map((p) => p.name).sort()).toEqual(['aws-local-stepfunctions', 's3rver']);
    let error: unknown;
    try {
      assertOfflinePackages('custom-labels local', without('s3rver'));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MissingOfflinePackagesError);
    expect((error as Error).message).toBe('custom-labels local needs packages that are not installed: s3rver. The constructs do not need them, '
      + `so cdk-rekognition-custom-labels does not install them; install them with: npm install --save-dev s3rver@${ownPackage.devDependencies.s3rver}`);
  });

  test('one installed in a version outside its range: the error names the version and the supported range', () => {
    // GIVEN a node_modules where s3rver is 3.6.0 and pngjs 7.0.0 (its main file hides nothing)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'offline-packages-'));
    try {
      for (const [name, version] of [['s3rver', '3.6.0'], ['pngjs', '7.0.0']]) {
        fs.mkdirSync(path.join(dir, 'node_modules', name), { recursive: true });
        fs.writeFileSync(path.join(dir, 'node_modules', name, 'package.json'), JSON.stringify({ name, version, main: 'index.js' }));
        fs.writeFileSync(path.join(dir, 'node_modules', name, 'index.js'), '');
      }
      const resolve: Resolver = (request) => require.resolve(request, { paths: [dir] });
      // WHEN the tools that need them check
      const problems = missingOfflinePackages(resolve, offlinePackages().filter((p) => ['s3rver', 'pngjs', 'jpeg-js'].includes(p.name)));
      // THEN s3rver is refused with its version, jpeg-js is missing, pngjs passes
      expect(problems.map((p) => [p.name, p.installed])).toEqual([['jpeg-js', undefined], ['s3rver', '3.6.0']]);
      expect(() => assertOfflinePackages('custom-labels local', resolve, ['s3rver'])).toThrow(
        `custom-labels local needs packages that are missing or in a version it does not support: s3rver 3.6.0 (supported: ${ownPackage.offlineDependencies.s3rver}). `
        + `The constructs do not need them, so cdk-rekognition-custom-labels does not install them; install them with: npm install --save-dev s3rver@${ownPackage.devDependencies.s3rver}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a command that needs some of them is told only about those', () => {
    expect(() => assertOfflinePackages('this command', without('jpeg-js', 's3rver'), ['jpeg-js', 'pngjs']))
      .toThrow('this command needs packages that are not installed: jpeg-js. ');
    expect(() => assertOfflinePackages('this command', without('s3rver'), ['jpeg-js', 'pngjs'])).not.toThrow();
  });

  test('a package whose exports hide its main but show package.json counts as installed', () => {
    const onlyPackageJson: Resolver = (request) => {
      if (request === 's3rver') throw new Error('ERR_PACKAGE_PATH_NOT_EXPORTED');
      return `/node_modules/${request}`;
    };
    expect(missingOfflinePackages(onlyPackageJson).map((p) => p.name)).not.toContain('s3rver');
  });
});
