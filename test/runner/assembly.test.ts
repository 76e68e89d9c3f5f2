import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as cdk from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';

import { assetBytes, assetUploads, readCloudAssembly, resolveAssetPlaceholders } from '../../lib/runner/assembly';

/** File names inside a zip, read from its central directory. */
function zipNames(zip: Buffer): string[] {
  const eocd = zip.length - 22;
  let p = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < zip.readUInt16LE(eocd + 10); i++) {
    const nameLen = zip.readUInt16LE(p + 28);
    names.push(zip.subarray(p + 46, p + 46 + nameLen).toString('utf8'));
    p += 46 + nameLen + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return names;
}

describe('readCloudAssembly', () => {
  let work: string;
  let outdir: string;

  beforeAll(() => {
    // GIVEN an app with a directory asset (Lambda code), a file asset, and two dependent stacks
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'assembly-test-'));
    const code = path.join(work, 'code');
    fs.mkdirSync(path.join(code, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(code, 'index.js'), 'exports.handler = async () => 1;');
    fs.writeFileSync(path.join(code, 'lib', 'util.js'), 'module.exports = 2;');
    const file = path.join(work, 'data.json');
    fs.writeFileSync(file, '{"labels":["cat","dog"]}');
    outdir = path.join(work, 'cdk.out');
    const app = new cdk.App({ outdir });
    const base = new cdk.Stack(app, 'Base', { stackName: 'base-stack' });
    const data = new s3assets.Asset(base, 'Data', { path: file });
    new cdk.CfnOutput(base, 'DataKey', { value: data.s3ObjectKey });
    new cdk.CfnWaitConditionHandle(base, 'Handle');
    const main = new cdk.Stack(app, 'Main');
    new lambda.Function(main, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromAsset(code) });
    const units = new cdk.CfnParameter(main, 'Units', { default: '1' });
    new cdk.CfnOutput(main, 'UnitsOut', { value: units.valueAsString });
    main.addStackDependency(base);
    app.synth();
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('lists stacks in dependency order with their templates and names', () => {
    // WHEN
    const assembly = readCloudAssembly(outdir);

    // THEN
    expect(assembly.stacks.map((s) => [s.artifactId, s.stackName])).toEqual([['Base', 'base-stack'], ['Main', 'Main']]);
    const main = assembly.stacks[1];
    expect(main.stackDependencies).toEqual(['Base']);
    expect(main.environment).toBe('aws://unknown-account/unknown-region');
    expect(Object.values(main.template.Resources ?? {}).map((r) => r.Type)).toContain('AWS::Lambda::Function');
    expect(main.template.Parameters?.Units).toMatchObject({ Default: '1' });
    expect(assembly.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('reads file assets: a directory to zip, a plain file, and the template asset', () => {
    const [base, main] = readCloudAssembly(outdir).stacks;
    const code = main.fileAssets.find((a) => !a.isTemplate)!;
    expect(code.packaging).toBe('zip');
    expect(fs.statSync(code.sourcePath).isDirectory()).toBe(true);
    expect(code.destinations[0].bucketName).toBe('cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}');
    expect(code.destinations[0].objectKey).toBe(`${code.id}.zip`);
    expect(main.fileAssets.filter((a) => a.isTemplate).map((a) => a.sourcePath)).toEqual([main.templateFile]);
    const data = base.fileAssets.find((a) => !a.isTemplate)!;
    expect(data.packaging).toBe('file');
  });

  test('asset bytes: directories are zipped, files are read as they are', () => {
    const [base, main] = readCloudAssembly(outdir).stacks;
    const zip = assetBytes(main.fileAssets.find((a) => !a.isTemplate)!);
    expect(zipNames(zip)).toEqual(['index.js', 'lib/util.js']);
    expect(assetBytes(base.fileAssets.find((a) => !a.isTemplate)!).toString()).toBe('{"labels":["cat","dog"]}');
  });

  test('uploads resolve the bucket placeholders and leave out the template unless asked', () => {
    const main = readCloudAssembly(outdir).stacks[1];
    const uploads = assetUploads(main, { accountId: '111122223333', region: 'eu-west-1' });
    expect(uploads.map((u) => u.bucketName)).toEqual(['cdk-hnb659fds-assets-111122223333-eu-west-1']);
    expect(assetUploads(main, {}, true).map((u) => u.bucketName)).toEqual(Array(2).fill('cdk-hnb659fds-assets-123456789012-us-east-1'));
  });

  test('a missing asset source and a missing manifest fail clearly', () => {
    const main = readCloudAssembly(outdir).stacks[1];
    const code = main.fileAssets.find((a) => !a.isTemplate)!;
    expect(() => assetBytes({ ...code, sourcePath: path.join(work, 'gone') })).toThrow(`${path.join(work, 'gone')} does not exist`);
    expect(() => readCloudAssembly(work)).toThrow('is this a cloud assembly directory (cdk.out)?');
  });
});

describe('resolveAssetPlaceholders', () => {
  test('replaces account, region and partition, with offline defaults', () => {
    expect(resolveAssetPlaceholders('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x-${AWS::Region}'))
      .toBe('arn:aws:iam::123456789012:role/x-us-east-1');
  });
});
