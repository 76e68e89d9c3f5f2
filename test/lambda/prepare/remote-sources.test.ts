import { CreateDatasetCommand, CreateProjectCommand, DescribeDatasetCommand, ListDatasetEntriesCommand, RekognitionClient,
  UpdateDatasetEntriesCommand } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';

import { resolveVersionName, VersionHandlerDeps } from '../../../lambda/model-version/handler';
import { prepare, PrepareDeps } from '../../../lambda/prepare/prepare';
import { LocalCloud, startLocalCloud } from '../../../lib/emulator/local-cloud';
import { DataSource, ModelVersionConfig, runConfigFor, TestSource } from '../../../lib/model/contracts';
import { classificationSamples, SampleImage } from '../../../lib/samples/shapes';

// TrainingData/TestData.fromS3Manifest and fromDataset: the version name the model-version handler derives from the remote
// data, and the manifests the prepare handler writes from it, against the Rekognition emulator and the local S3.
let cloud: LocalCloud;
let rekognition: RekognitionClient;
let s3: S3Client;
let deps: VersionHandlerDeps & PrepareDeps;
let samples: SampleImage[];
const REMOTE = 'remote-data';
/** The keys of the S3 requests the clients sent, with the VersionId they asked for. */
const s3Requests: Array<{ command: string; key?: string; versionId?: string }> = [];

function line(sample: SampleImage, label = sample.labels[0]): string {
  return JSON.stringify({
    'source-ref': `s3://${REMOTE}/images/${sample.relPath}`,
    'shape': 0,
    'shape-metadata': { 'class-name': label, 'confidence': 1, 'type': 'groundtruth/image-classification', 'human-annotated': 'yes',
      'creation-date': '2026-01-01T00:00:00.000', 'job-name': 'labeling-job/shape' },
  });
}

/** 3 labels x 4 images: the first 3 of each label train, the last one tests. */
const trainingSamples = (): SampleImage[] => samples.filter((_, i) => i % 4 !== 3);
const testingSamples = (): SampleImage[] => samples.filter((_, i) => i % 4 === 3);
const manifest = (items: SampleImage[]): string => items.map((s) => line(s)).join('\n') + '\n';

function configFor(training: DataSource, testing: TestSource): ModelVersionConfig {
  return {
    modelPath: 'S/Model', projectArn: 'arn:aws:rekognition:us-east-1:123456789012:project/dst/*', projectName: 'dst', versionPrefix: 'model',
    synthFingerprint: 'aaaaaaaaaaaaaaaa', fingerprintComplete: false, modelType: '', training, testing,
    dataBucket: 'data', outputBucket: 'data', kmsKeyId: '', tags: {},
    gate: { minF1: 0, minLabelF1: 0, mustNotRegress: false }, deployment: { enabled: false, minInferenceUnits: 1, maxInferenceUnits: 1 },
    trainingTimeoutSeconds: 3600, servingParameterName: 'p', waitHandleUrl: '', notificationTopicArn: '', removal: 'DESTROY',
  };
}

async function settle(datasetArn: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const d = (await rekognition.send(new DescribeDatasetCommand({ DatasetArn: datasetArn }))).DatasetDescription;
    if (d?.Status && !d.Status.endsWith('IN_PROGRESS')) return { Status: d.Status, ...d.DatasetStats };
    cloud.clock.advance(60_000);
    await cloud.emulator.idle();
  }
  throw new Error(`${datasetArn} never settled`);
}

async function importInto(projectArn: string, type: 'TRAIN' | 'TEST', key: string): Promise<{ arn: string; stats: Record<string, unknown> }> {
  const { DatasetArn } = await rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: type,
    DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: 'data', Name: key } } } }));
  return { arn: DatasetArn!, stats: await settle(DatasetArn!) };
}

async function read(bucket: string, key: string): Promise<string> {
  return (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
}

const refsOf = (text: string): string[] => text.trim().split('\n').map((l) => (JSON.parse(l) as Record<string, string>)['source-ref']).sort();

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: [REMOTE, 'data'] });
  const clientConfig = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 };
  rekognition = new RekognitionClient({ ...clientConfig, endpoint: cloud.rekognitionEndpoint });
  s3 = new S3Client({ ...clientConfig, endpoint: cloud.s3Endpoint, forcePathStyle: true });
  s3.middlewareStack.add((next, context) => async (args) => {
    const input = args.input as { Key?: string; VersionId?: string };
    s3Requests.push({ command: String(context.commandName), key: input.Key, versionId: input.VersionId });
    return next(args);
  }, { step: 'initialize', name: 'recordRequests' });
  // Not called by these tests: the name is resolved without Step Functions.
  const sfn = new SFNClient({ ...clientConfig, endpoint: 'http://127.0.0.1:9' });
  const ssm = new SSMClient({ ...clientConfig, endpoint: 'http://127.0.0.1:9' });
  deps = { rekognition, s3, sfn, ssm };
  samples = classificationSamples({ perLabel: 4, seed: 11 });
  for (const sample of samples) await s3.send(new PutObjectCommand({ Bucket: REMOTE, Key: `images/${sample.relPath}`, Body: sample.bytes }));
  await rekognition.send(new CreateProjectCommand({ ProjectName: 'dst' }));
}, 60_000);

afterAll(async () => {
  await cloud?.stop();
});

describe('fromS3Manifest: a manifest already in S3, images already in S3', () => {
  const training: DataSource = { kind: 's3', manifest: { Bucket: REMOTE, Name: 'train.manifest' } };
  const testing: TestSource = { kind: 's3', manifest: { Bucket: REMOTE, Name: 'test.manifest' } };

  test('the version name follows the objects\' content; prepare uses the manifests as they are; both import with 0 errors', async () => {
    // GIVEN the training and testing manifests in S3
    await s3.send(new PutObjectCommand({ Bucket: REMOTE, Key: 'train.manifest', Body: manifest(trainingSamples()) }));
    await s3.send(new PutObjectCommand({ Bucket: REMOTE, Key: 'test.manifest', Body: manifest(testingSamples()) }));
    const config = configFor(training, testing);

    // WHEN the version name is resolved twice, the second time after the same bytes were uploaded again
    const first = await resolveVersionName(deps, config);
    await s3.send(new PutObjectCommand({ Bucket: REMOTE, Key: 'train.manifest', Body: manifest(trainingSamples()) }));
    const again = await resolveVersionName(deps, config);
    // THEN it is a name of this model, not the synth-only one, and it did not change
    expect(first).toMatch(/^model-[0-9a-f]{16}$/);
    expect(first).not.toBe('model-aaaaaaaaaaaaaaaa');
    expect(again).toBe(first);

    // WHEN one training line is relabelled
    const changedTraining = trainingSamples().map((s, i) => line(s, i === 0 ? 'blue-square' : undefined)).join('\n') + '\n';
    await s3.send(new PutObjectCommand({ Bucket: REMOTE, Key: 'train.manifest', Body: changedTraining }));
    const afterTraining = await resolveVersionName(deps, config);
    // AND then the testing manifest changes (one line fewer)
    await s3.send(new PutObjectCommand({ Bucket: REMOTE, Key: 'test.manifest', Body: manifest(testingSamples().slice(0, 2)) }));
    const afterTesting = await resolveVersionName(deps, config);
    await s3.send(new PutObjectCommand({ Bucket: REMOTE, Key: 'test.manifest', Body: manifest(testingSamples()) }));
    // THEN each change gives a new name
    expect(new Set([first, afterTraining, afterTesting]).size).toBe(3);
    const versionName = await resolveVersionName(deps, config);
    expect(versionName).toBe(afterTraining);

    // WHEN prepare runs for that version
    const result = await prepare({ action: 'prepare', config: runConfigFor(config, versionName) }, deps);
    // THEN the manifests are copied unchanged into this run's prefix of the data bucket (no images to unpack)
    expect(result).toEqual({
      training: { Bucket: 'data', Name: `manifests/dst/${versionName}/training.manifest` },
      testing: { Bucket: 'data', Name: `manifests/dst/${versionName}/testing.manifest` },
      serviceSplit: false, trainingLines: 9, testingLines: 3, images: 0,
    });
    expect(await read('data', result.training.Name)).toBe(changedTraining);
    expect(await read('data', result.testing.Name)).toBe(manifest(testingSamples()));

    // AND Rekognition imports both with every line usable (the images are where the source-refs say)
    const projectArn = (await rekognition.send(new CreateProjectCommand({ ProjectName: 's3-import' }))).ProjectArn!;
    const train = await importInto(projectArn, 'TRAIN', result.training.Name);
    const test = await importInto(projectArn, 'TEST', result.testing.Name);
    expect(train.stats).toMatchObject({ Status: 'CREATE_COMPLETE', TotalEntries: 9, ErrorEntries: 0, TotalLabels: 3 });
    expect(test.stats).toMatchObject({ Status: 'CREATE_COMPLETE', TotalEntries: 3, ErrorEntries: 0, TotalLabels: 3 });
  });

  test('objectVersion is asked for when the name is resolved and when the manifest is read', async () => {
    // GIVEN a pinned object version (the local S3 keeps no versions: it answers with the latest object)
    const pinned: DataSource = { kind: 's3', manifest: { Bucket: REMOTE, Name: 'train.manifest' }, objectVersion: 'v-3' };
    const config = configFor(pinned, { kind: 'service' });
    s3Requests.length = 0;
    // WHEN the name is resolved and the data prepared
    const versionName = await resolveVersionName(deps, config);
    const result = await prepare({ action: 'prepare', config: runConfigFor(config, versionName) }, deps);
    // THEN both reads of the manifest carry the version id
    expect(s3Requests.filter((r) => r.key === 'train.manifest')).toEqual([
      { command: 'GetObjectCommand', key: 'train.manifest', versionId: 'v-3' },
      { command: 'GetObjectCommand', key: 'train.manifest', versionId: 'v-3' },
    ]);
    // AND a service split writes no testing manifest
    expect(result).toMatchObject({ serviceSplit: true, testing: { Bucket: '', Name: '' }, testingLines: 0, trainingLines: 9 });
  });

  test('a manifest that is not there fails with the S3 error', async () => {
    const config = configFor({ kind: 's3', manifest: { Bucket: REMOTE, Name: 'missing.manifest' } }, { kind: 'service' });
    await expect(prepare({ action: 'prepare', config: runConfigFor(config, 'model-0000000000000000') }, deps))
      .rejects.toMatchObject({ name: 'NoSuchKey' });
  });
});

describe('fromDataset: the entries of a dataset of another project', () => {
  let sourceTrain: string;
  let sourceTest: string;

  beforeAll(async () => {
    // GIVEN a source project whose datasets were created from manifests in the local S3
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'source/train.manifest', Body: manifest(trainingSamples()) }));
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'source/test.manifest', Body: manifest(testingSamples()) }));
    const projectArn = (await rekognition.send(new CreateProjectCommand({ ProjectName: 'src' }))).ProjectArn!;
    const train = await importInto(projectArn, 'TRAIN', 'source/train.manifest');
    const test = await importInto(projectArn, 'TEST', 'source/test.manifest');
    expect([train.stats.Status, test.stats.Status]).toEqual(['CREATE_COMPLETE', 'CREATE_COMPLETE']);
    sourceTrain = train.arn;
    sourceTest = test.arn;
  });

  test('the name follows the dataset\'s updates; prepare copies its entries; the copy imports with 0 errors', async () => {
    const config = configFor({ kind: 'dataset', datasetArn: sourceTrain }, { kind: 'dataset', datasetArn: sourceTest });

    // WHEN the name is resolved twice with no change in between
    const first = await resolveVersionName(deps, config);
    cloud.clock.advance(60_000);
    expect(await resolveVersionName(deps, config)).toBe(first);
    expect(first).toMatch(/^model-[0-9a-f]{16}$/);

    // WHEN the source TRAIN dataset is updated (one entry relabelled)
    const relabelled = line(trainingSamples()[0], 'green-triangle');
    await rekognition.send(new UpdateDatasetEntriesCommand({ DatasetArn: sourceTrain, Changes: { GroundTruth: Buffer.from(`${relabelled}\n`) } }));
    // THEN prepare refuses to copy it while the update runs
    await expect(prepare({ action: 'prepare', config: runConfigFor(config, first) }, deps))
      .rejects.toThrow(`Dataset ${sourceTrain} is UPDATE_IN_PROGRESS: its entries can be copied only when it is CREATE_COMPLETE or UPDATE_COMPLETE`);
    expect(await settle(sourceTrain)).toMatchObject({ Status: 'UPDATE_COMPLETE', TotalEntries: 9 });
    // AND once it is done the name changes
    const versionName = await resolveVersionName(deps, config);
    expect(versionName).not.toBe(first);

    // WHEN prepare runs
    const result = await prepare({ action: 'prepare', config: runConfigFor(config, versionName) }, deps);
    expect(result).toMatchObject({ serviceSplit: false, trainingLines: 9, testingLines: 3, images: 0 });
    // THEN the manifests hold the source's entries (with the update), without the service's `errors` arrays
    const trainingText = await read('data', result.training.Name);
    const sourceEntries = (await rekognition.send(new ListDatasetEntriesCommand({ DatasetArn: sourceTrain }))).DatasetEntries!;
    expect(refsOf(trainingText)).toEqual(refsOf(sourceEntries.join('\n')));
    expect(trainingText).toContain(relabelled);
    expect(trainingText).not.toContain('"errors"');
    expect(refsOf(await read('data', result.testing.Name))).toEqual(refsOf(manifest(testingSamples())));

    // AND the target project imports the copies with every line usable
    const projectArn = (await rekognition.send(new CreateProjectCommand({ ProjectName: 'dataset-import' }))).ProjectArn!;
    const train = await importInto(projectArn, 'TRAIN', result.training.Name);
    const test = await importInto(projectArn, 'TEST', result.testing.Name);
    expect(train.stats).toMatchObject({ Status: 'CREATE_COMPLETE', TotalEntries: 9, ErrorEntries: 0, TotalLabels: 3 });
    expect(test.stats).toMatchObject({ Status: 'CREATE_COMPLETE', TotalEntries: 3, ErrorEntries: 0, TotalLabels: 3 });
  });

  test('a dataset that does not exist fails with the service\'s error', async () => {
    const missing = sourceTrain.replace(/\/[0-9]+$/, '/1');
    const config = configFor({ kind: 'dataset', datasetArn: missing }, { kind: 'service' });
    await expect(prepare({ action: 'prepare', config: runConfigFor(config, 'model-0000000000000000') }, deps))
      .rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
