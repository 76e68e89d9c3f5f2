import { CreateDatasetCommand, CreateProjectCommand, DescribeDatasetCommand, RekognitionClient } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { newPrepareStats, prepare, PrepareDeps } from '../../../lambda/prepare/prepare';
import { compressManifest } from '../../../lib/data/local';
import { LocalCloud, startLocalCloud } from '../../../lib/emulator/local-cloud';
import { DataSource, ModelVersionConfig, runConfigFor, TestSource } from '../../../lib/model/contracts';

// Each remote path of the prepare handler past 65,535 lines (the most a zip without ZIP64 holds), against the emulator
// and the local S3: the manifests stream through in parts, never whole. One generated manifest serves every test.
const LINES = 70_000;
const LABELS = ['circle', 'square', 'triangle'];
let cloud: LocalCloud;
let deps: PrepareDeps;
let manifest: string;
let s3Requests: string[];

function configFor(training: DataSource, testing: TestSource): ModelVersionConfig {
  return {
    modelPath: 'S/Model', projectArn: 'arn:aws:rekognition:us-east-1:123456789012:project/big/1', projectName: 'big', versionPrefix: 'model',
    synthFingerprint: 'aaaaaaaaaaaaaaaa', fingerprintComplete: false, modelType: '', training, testing,
    dataBucket: 'data', outputBucket: 'data', kmsKeyId: '', tags: {},
    gate: { minF1: 0, minLabelF1: 0, mustNotRegress: false }, deployment: { enabled: false, minInferenceUnits: 1, maxInferenceUnits: 1 },
    trainingTimeoutSeconds: 3600, servingParameterName: 'p', waitHandleUrl: '', notificationTopicArn: '', removal: 'DESTROY',
  };
}

async function lines(key: string): Promise<string[]> {
  const text = await (await deps.s3.send(new GetObjectCommand({ Bucket: 'data', Key: key }))).Body!.transformToString();
  return text.trim().split('\n');
}

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: ['remote', 'data', 'assets'] });
  const clientConfig = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 };
  const s3 = new S3Client({ ...clientConfig, endpoint: cloud.s3Endpoint, forcePathStyle: true });
  s3Requests = [];
  s3.middlewareStack.add((next, context) => async (args) => {
    s3Requests.push(String(context.commandName));
    return next(args);
  }, { step: 'initialize', name: 'recordRequests' });
  deps = { rekognition: new RekognitionClient({ ...clientConfig, endpoint: cloud.rekognitionEndpoint }), s3 };
  // Lines of about 330 bytes: 23 MB in all, so the written manifests go up in 8 MiB multipart parts.
  manifest = Array.from({ length: LINES }, (_, i) => JSON.stringify({
    'source-ref': `s3://remote/images/${LABELS[i % 3]}/${String(i).padStart(6, '0')}.png`,
    'shape': 0,
    'shape-metadata': { 'class-name': LABELS[i % 3], 'confidence': 1, 'type': 'groundtruth/image-classification', 'human-annotated': 'yes',
      'creation-date': '2026-01-01T00:00:00.000', 'job-name': 'labeling-job/shape' },
  })).join('\n') + '\n';
  await s3.send(new PutObjectCommand({ Bucket: 'remote', Key: 'big.manifest', Body: manifest }));
}, 120_000);

afterAll(async () => {
  deps?.s3.destroy();
  deps?.rekognition.destroy();
  await cloud?.stop();
});

describe(`prepare at ${LINES.toLocaleString('en-US')} lines`, () => {
  test('fromS3Manifest with a split: two streaming passes, both sides written in multipart parts, every line once', async () => {
    s3Requests.length = 0;
    const stats = newPrepareStats();
    const config = configFor({ kind: 's3', manifest: { Bucket: 'remote', Name: 'big.manifest' } }, { kind: 'split', ratio: 0.2, seed: 7 });
    const result = await prepare({ action: 'prepare', config: runConfigFor(config, 'model-s3') }, deps, { stats });
    expect(result.trainingLines + result.testingLines).toBe(LINES);
    // Stratified: 20% of each label, rounded per label.
    expect(Math.abs(result.testingLines - LINES * 0.2)).toBeLessThanOrEqual(LABELS.length);
    // Read twice (plan, then write), never held: two GETs of the source, the sides in parts.
    expect(stats.manifestBytesRead).toBe(2 * Buffer.byteLength(manifest));
    expect(s3Requests.filter((c) => c === 'GetObjectCommand')).toHaveLength(2);
    expect(s3Requests.filter((c) => c === 'UploadPartCommand').length).toBeGreaterThanOrEqual(2);
    const training = await lines(result.training.Name);
    const testing = await lines(result.testing.Name);
    expect(new Set([...training, ...testing]).size).toBe(LINES);
    expect(training[0]).toContain('"source-ref":"s3://remote/images/');
  }, 300_000);

  test('fromLocalManifest (images in S3): the gzip asset streams through unchanged', async () => {
    await deps.s3.send(new PutObjectCommand({ Bucket: 'assets', Key: 'training.manifest.gz', Body: compressManifest(manifest) }));
    const config = configFor({ kind: 'asset', manifest: { Bucket: 'assets', Name: 'training.manifest.gz' } }, { kind: 'service' });
    const result = await prepare({ action: 'prepare', config: runConfigFor(config, 'model-local') }, deps);
    expect(result).toMatchObject({ trainingLines: LINES, serviceSplit: true, images: 0 });
    const written = await lines(result.training.Name);
    expect(written.join('\n') + '\n').toBe(manifest);
  }, 300_000);

  test('fromDataset with a split: the entries are copied to S3 once, then split from there', async () => {
    const { ProjectArn } = await deps.rekognition.send(new CreateProjectCommand({ ProjectName: 'source' }));
    const { DatasetArn } = await deps.rekognition.send(new CreateDatasetCommand({ ProjectArn, DatasetType: 'TRAIN',
      DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: 'remote', Name: 'big.manifest' } } } }));
    for (let i = 0; i < 50; i++) {
      const status = (await deps.rekognition.send(new DescribeDatasetCommand({ DatasetArn }))).DatasetDescription?.Status;
      if (status === 'CREATE_COMPLETE') break;
      cloud.clock.advance(600_000);
      await cloud.emulator.idle();
    }
    const config = configFor({ kind: 'dataset', datasetArn: DatasetArn! }, { kind: 'split', ratio: 0.2, seed: 7 });
    const result = await prepare({ action: 'prepare', config: runConfigFor(config, 'model-ds') }, deps);
    expect(result.trainingLines + result.testingLines).toBe(LINES);
    const source = await lines('manifests/big/model-ds/training-source.manifest');
    expect(source).toHaveLength(LINES);
    expect(source.every((l) => !l.includes('"errors"'))).toBe(true);
  }, 600_000);
});
