import * as fs from 'node:fs';
import * as path from 'node:path';

import { ENGINE_PACKAGE } from '../../lib/iam/engine';
import {
  assertOfflinePackages, missingOfflinePackages, MissingOfflinePackagesError, offlinePackages, Resolver,
} from '../../lib/shared/offline-packages';

const ownPackage = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>; peerDependenciesMeta: Record<string, { optional?: boolean }>; devDependencies: Record<string, string>;
};

/** A resolver that finds everything but `absent`. */
const without = (...absent: string[]): Resolver => (request) => {
  if (absent.some((name) => request === name || request.startsWith(`${name}/`))) throw new Error(`Cannot find module '${request}'`);
  return `/node_modules/${request}`;
};

describe('offline packages', () => {
  test('are the optional peer dependencies of package.json but the IAM policy engine, each with its range and tested version', () => {
    const packages = offlinePackages();
    const optional = Object.keys(ownPackage.peerDependenciesMeta).filter((n) => ownPackage.peerDependenciesMeta[n].optional);
    // the policy engine is loaded (and explained) where it is used: enforcement can be turned off
    expect(optional).toContain(ENGINE_PACKAGE);
    expect(packages.map((p) => p.name)).toEqual(optional.filter((n) => n !== ENGINE_PACKAGE));
    expect(packages.map((p) => p.name)).toEqual(expect.arrayContaining(['s3rver', 'aws-local-stepfunctions', '@aws-sdk/client-rekognition']));
    for (const p of packages) {
      expect(p.range).toBe(ownPackage.peerDependencies[p.name]);
      expect(p.tested).toBe(ownPackage.devDependencies[p.name]);
    }
    // aws-cdk-lib and constructs are required peers, not offline packages
    expect(packages.map((p) => p.name)).not.toContain('aws-cdk-lib');
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
    expect((error as Error).message).toBe('custom-labels local needs packages that are not installed: s3rver. They are optional peer dependencies '
      + `of cdk-rekognition-custom-labels (the constructs do not need them); install them with: npm install --save-dev s3rver@${ownPackage.devDependencies.s3rver}`);
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
