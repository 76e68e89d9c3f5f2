import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CreateDatasetCommand, CreateProjectCommand, CreateProjectVersionCommand, DescribeDatasetCommand, DescribeProjectVersionsCommand,
  RekognitionClient } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { gate } from '../../../lambda/gate/gate';
import { checkManifests, prepare, probe, rewriteSourceRefs } from '../../../lambda/prepare/prepare';
import { LabelSource } from '../../../lib/data/label-source';
import { compressManifest, localManifestFromFolder, prepareLocalData } from '../../../lib/data/local';
import { planPacks } from '../../../lib/data/packs';
import { LocalCloud, startLocalCloud } from '../../../lib/emulator/local-cloud';
import { ModelVersionConfig, runConfigFor, versionNameFor } from '../../../lib/model/contracts';
import { classificationSamples, writeSamplesToFolder } from '../../../lib/samples/shapes';

// The handlers' logic against the Rekognition emulator and a local S3, through the real SDK clients.
let cloud: LocalCloud;
let rekognition: RekognitionClient;
let s3: S3Client;
let tmp: string;
let projectArn: string;
let config: ModelVersionConfig;
const versionName = versionNameFor('model', '0123456789abcdef');

async function untilStatus(read: () => Promise<string | undefined>, wanted: string[]): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const status = await read();
    if (status && wanted.includes(status)) return status;
    cloud.clock.advance(60_000);
    await cloud.emulator.idle();
  }
  throw new Error(`never reached ${wanted.join('|')}`);
}

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: ['assets', 'data'] });
  const clientConfig = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 };
  rekognition = new RekognitionClient({ ...clientConfig, endpoint: cloud.rekognitionEndpoint });
  s3 = new S3Client({ ...clientConfig, endpoint: cloud.s3Endpoint, forcePathStyle: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'prepare-test-'));
  const samples = classificationSamples({ perLabel: 10, seed: 5 });
  writeSamplesToFolder(tmp, samples);
  // What synth does: generate, split and validate; the images travel as a zip.
  const cacheDir = path.join(tmp, '.cache');
  const local = prepareLocalData({ manifest: localManifestFromFolder(tmp, LabelSource.FOLDER_NAMES), imagesDir: tmp, cacheDir }, undefined,
    { ratio: 0.2, seed: 7 });
  expect(local.errors).toEqual([]);
  await s3.send(new PutObjectCommand({ Bucket: 'assets', Key: 'training.manifest', Body: compressManifest(local.training!.manifest) }));
  await s3.send(new PutObjectCommand({ Bucket: 'assets', Key: 'testing.manifest', Body: compressManifest(local.testing!.manifest) }));
  const [pack] = planPacks(cacheDir, [...local.training!.objects, ...local.testing!.objects]);
  await s3.send(new PutObjectCommand({ Bucket: 'assets', Key: `${pack.id}.zip`, Body: fs.readFileSync(pack.file) }));
  projectArn = (await rekognition.send(new CreateProjectCommand({ ProjectName: 'p1' }))).ProjectArn!;
  const packs = [{ Bucket: 'assets', Name: `${pack.id}.zip` }];
  config = {
    modelPath: 'S/Model', projectArn, projectName: 'p1', versionPrefix: 'model', synthFingerprint: '0123456789abcdef', fingerprintComplete: true,
    modelType: '',
    training: { kind: 'asset', manifest: { Bucket: 'assets', Name: 'training.manifest' }, packs },
    testing: { kind: 'asset', manifest: { Bucket: 'assets', Name: 'testing.manifest' }, packs },
    dataBucket: 'data', outputBucket: 'data', kmsKeyId: '', tags: {},
    gate: { minF1: 0, minLabelF1: 0, mustNotRegress: false }, deployment: { enabled: false, minInferenceUnits: 1, maxInferenceUnits: 1 },
    trainingTimeoutSeconds: 3600, servingParameterName: 'p', waitHandleUrl: '', notificationTopicArn: '', removal: 'DESTROY',
  };
}, 60_000);

afterAll(async () => {
  await cloud?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('prepare handler against the emulator', () => {
  test('GIVEN an empty project THEN probe reports nothing busy, no version, no datasets', async () => {
    await expect(probe({ action: 'probe', projectArn, projectName: 'p1', versionName }, { rekognition, s3 })).resolves.toEqual({
      busy: false, busyReason: '', version: { exists: false, arn: '', status: '', statusMessage: '' }, datasets: { train: '', test: '' },
    });
  });

  test('GIVEN asset data THEN prepare copies every image of the pack into the data bucket and points the manifests there', async () => {
    const result = await prepare({ action: 'prepare', config: runConfigFor(config, versionName) }, { rekognition, s3 });
    expect(result).toMatchObject({ serviceSplit: false, images: 30, trainingLines: 24, testingLines: 6,
      training: { Bucket: 'data', Name: `manifests/p1/${versionName}/training.manifest` } });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'images/' }));
    expect(listed.KeyCount).toBe(31); // 30 images + the pack's marker
    const manifest = await (await s3.send(new GetObjectCommand({ Bucket: 'data', Key: result.training.Name }))).Body!.transformToString();
    const refs = manifest.trim().split('\n').map((l) => (JSON.parse(l) as Record<string, string>)['source-ref']);
    // Content-addressed: images/<sha256 of the bytes>/<file name>.
    expect(refs.every((r) => /^s3:\/\/data\/images\/[0-9a-f]{64}\/[^/]+\.png$/.test(r))).toBe(true);

    // WHEN Rekognition imports it THEN every line is usable (the images are where the manifest says).
    const { DatasetArn } = await rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: 'TRAIN',
      DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: 'data', Name: result.training.Name } } } }));
    await untilStatus(async () => (await rekognition.send(new DescribeDatasetCommand({ DatasetArn }))).DatasetDescription?.Status,
      ['CREATE_COMPLETE', 'CREATE_FAILED']);
    const stats = (await rekognition.send(new DescribeDatasetCommand({ DatasetArn }))).DatasetDescription;
    expect(stats).toMatchObject({ Status: 'CREATE_COMPLETE', DatasetStats: { TotalEntries: 24, ErrorEntries: 0 } });

    // AND a second prepare does not unpack again (the marker).
    const again = await prepare({ action: 'prepare', config: runConfigFor(config, versionName) }, { rekognition, s3 });
    expect(again.images).toBe(0);

    // AND probe now sees the TRAIN dataset.
    const seen = await probe({ action: 'probe', projectArn, projectName: 'p1', versionName }, { rekognition, s3 });
    expect(seen.datasets.train).toBe(DatasetArn);
  });

  test('GIVEN a training-time split of an S3 manifest THEN both sides are written and together hold every line', async () => {
    const all = await (await s3.send(new GetObjectCommand({ Bucket: 'data', Key: `manifests/p1/${versionName}/training.manifest` }))).Body!
      .transformToString();
    await s3.send(new PutObjectCommand({ Bucket: 'assets', Key: 'remote.manifest', Body: all }));
    const result = await prepare({ action: 'prepare', config: runConfigFor({ ...config,
      training: { kind: 's3', manifest: { Bucket: 'assets', Name: 'remote.manifest' } }, testing: { kind: 'split', ratio: 0.25, seed: 1 } },
    'model-split') }, { rekognition, s3 });
    expect(result.trainingLines + result.testingLines).toBe(24);
    expect(result.testingLines).toBeGreaterThan(0);
  });

  test('GIVEN data the service would reject THEN prepare fails with line-numbered codes', () => {
    expect(() => checkManifests('{"source-ref":"s3://b/a.png"}\nnope\n', undefined))
      .toThrow(/training manifest line 2: ERROR_INVALID_JSON_LINE The JSON Line has an invalid format\./);
  });

  test('rewriteSourceRefs keeps the key and replaces the bucket', () => {
    expect(rewriteSourceRefs('{"source-ref":"s3://x/a/b.png","l":1}\n\n', 'data', 'images/h/')).toBe('{"source-ref":"s3://data/images/h/a/b.png","l":1}\n');
  });
});

// The model-version handler is tested against a local Step Functions in test/lambda/model-version/.
describe('gate handler against the emulator', () => {
  let versionArn: string;

  beforeAll(async () => {
    const { DatasetArn } = await rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: 'TEST',
      DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: 'data', Name: `manifests/p1/${versionName}/testing.manifest` } } } }));
    await untilStatus(async () => (await rekognition.send(new DescribeDatasetCommand({ DatasetArn }))).DatasetDescription?.Status,
      ['CREATE_COMPLETE', 'CREATE_FAILED']);
    cloud.emulator.force.training({ versionName, f1: 0.8 });
    versionArn = (await rekognition.send(new CreateProjectVersionCommand({ ProjectArn: projectArn, VersionName: versionName,
      OutputConfig: { S3Bucket: 'data', S3KeyPrefix: `output/p1/${versionName}/` } }))).ProjectVersionArn!;
    await untilStatus(async () => (await rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn,
      VersionNames: [versionName] }))).ProjectVersionDescriptions?.[0]?.Status, ['TRAINING_COMPLETED', 'TRAINING_FAILED']);
  }, 60_000);

  test('GIVEN a trained version THEN the gate reads the summary from S3, passes or fails on the overall F1', async () => {
    const passed = await gate({ projectArn, versionName, gate: { minF1: 0.1, minLabelF1: 0, mustNotRegress: false }, servingVersionArn: 'none' },
      { rekognition, s3 });
    expect(passed).toMatchObject({ passed: true, versionArn, status: 'TRAINING_COMPLETED', servingF1: -1 });
    expect(passed.f1).toBeCloseTo(0.8, 2);
    expect(passed.labels.map((l) => l.label).sort()).toEqual(['blue-square', 'green-triangle', 'red-circle']);
    const failed = await gate({ projectArn, versionName, gate: { minF1: 0.99, minLabelF1: 0, mustNotRegress: false }, servingVersionArn: 'none' },
      { rekognition, s3 });
    expect(failed.passed).toBe(false);
    expect(failed.reason).toMatch(/^Evaluation gate failed: overall F1 0\.8\d\d is below minF1 0\.990$/);
  });
});
