import * as fs from 'node:fs';
import * as path from 'node:path';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { CustomLabelsModel, CustomLabelsProject, TestData, TrainingData } from '../../lib/index';
import { classificationSamples } from '../../lib/samples/shapes';
import { manifestFor, openSession, PREFIX, PROJECT_NAME, servingVersion, Session, STACK_NAME, tempDir, versionStatuses } from './helpers';

const REMOTE = 'e2e-remote-data';

/** A model trained from a manifest already in S3, split by the service, its version encrypted with a customer key. */
function synthApp(outdir: string): string {
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir });
  const stack = new Stack(app, STACK_NAME, { env: { region: 'us-east-1' } });
  const project = new CustomLabelsProject(stack, 'Project', { projectName: PROJECT_NAME, removalPolicy: RemovalPolicy.DESTROY });
  const encryptionKey = new kms.Key(stack, 'Key', { enableKeyRotation: true, removalPolicy: RemovalPolicy.DESTROY });
  new CustomLabelsModel(stack, 'Model', {
    project,
    versionPrefix: PREFIX,
    trainingData: TrainingData.fromS3Manifest(s3.Bucket.fromBucketName(stack, 'Remote', REMOTE), 'train.manifest'),
    testData: TestData.serviceSplit(),
    encryptionKey,
    evaluationGate: { minF1: 0 },
    deployment: { minInferenceUnits: 1 },
  });
  app.synth();
  return outdir;
}

// KMS offline: the runner records AWS::KMS::Key (an id and an ARN, no key material); the emulator checks KmsKeyId's
// pattern and echoes it in DescribeProjectVersions, but neither checks that the key exists or that Rekognition may use it
// (kms:CreateGrant, Decrypt, GenerateDataKey*), and nothing is encrypted: the local S3 ignores the data bucket's SSE-KMS
// default encryption, and the model artifacts and evaluation files are written in the clear.
describe('a model from an S3 manifest, with the service\'s split and a KMS key, deployed offline', () => {
  let dir: string;
  let session: Session | undefined;

  beforeAll(() => {
    dir = tempDir('data-sources');
  });

  afterAll(async () => {
    await session?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('deploys, trains with the key, passes and serves; destroy leaves nothing', async () => {
    // GIVEN 3 labels x 4 images and their manifest in a bucket of the local S3
    const samples = classificationSamples({ perLabel: 4, seed: 61 });
    const manifest = manifestFor(samples).replace(/s3:\/\/e2e-images\//g, `s3://${REMOTE}/images/`);
    session = await openSession(path.join(dir, 'state'), { cloud: { buckets: [REMOTE] } });
    const { runner, rekognition, cloud } = session;
    const client = cloud.s3.client();
    await client.send(new PutObjectCommand({ Bucket: REMOTE, Key: 'train.manifest', Body: manifest }));
    for (const s of samples) await client.send(new PutObjectCommand({ Bucket: REMOTE, Key: `images/${s.relPath}`, Body: s.bytes }));

    // WHEN the app is deployed
    const deployed = await runner.deploy(synthApp(path.join(dir, 'cdk.out')));
    // The stack completes when the wait condition is signalled; the workflow still has its last steps to run.
    await runner.settle();

    // THEN the stack is created and the workflow succeeded through the service split and the keyed CreateProjectVersion
    expect(deployed.stacks.map((s) => s.status)).toEqual(['CREATE_COMPLETE']);
    const [execution] = runner.executions();
    expect(runner.executions().map((e) => e.status)).toEqual(['SUCCEEDED']);
    const entered = execution.events.filter((e) => e.type === 'StateEntered').map((e) => e.state);
    expect(entered).toEqual(expect.arrayContaining(['CreateEmptyTestDataset', 'DistributeEntries', 'CreateVersionWithKey']));
    expect(entered).not.toContain('CreateVersion');

    // AND the project's datasets hold every line of the manifest, split by the service, none in error
    const project = (await rekognition.describeProjects({ ProjectNames: [PROJECT_NAME] })).ProjectDescriptions![0];
    const stats: Record<string, { TotalEntries?: number; ErrorEntries?: number }> = {};
    for (const d of project.Datasets ?? []) {
      stats[d.DatasetType!] = (await rekognition.describeDataset({ DatasetArn: d.DatasetArn })).DatasetDescription!.DatasetStats!;
    }
    expect(stats.TRAIN.TotalEntries! + stats.TEST.TotalEntries!).toBe(samples.length);
    expect(stats.TEST.TotalEntries).toBeGreaterThan(0);
    expect([stats.TRAIN.ErrorEntries, stats.TEST.ErrorEntries]).toEqual([0, 0]);

    // AND the one version was trained with the stack's key, passed the gate, runs and is the serving version
    const statuses = await versionStatuses(rekognition);
    expect(Object.values(statuses)).toEqual(['RUNNING']);
    const version = (await rekognition.describeProjectVersions({ ProjectArn: project.ProjectArn })).ProjectVersionDescriptions![0];
    const key = Object.values(runner.stackState(STACK_NAME)!.resources).find((r) => r.type === 'AWS::KMS::Key')!;
    expect(version.KmsKeyId).toBe(key.attributes.Arn);
    expect(version.KmsKeyId).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\//);
    expect(servingVersion(runner)).toBe(version.ProjectVersionArn);
    expect(Object.keys(statuses)[0]).toMatch(new RegExp(`^${PREFIX}-[0-9a-f]{16}$`));

    // WHEN the stack is destroyed
    await runner.destroy();
    // THEN nothing runs and the project is gone
    expect(cloud.usage().running).toEqual([]);
    expect((await rekognition.describeProjects({ ProjectNames: [PROJECT_NAME] })).ProjectDescriptions).toEqual([]);
  }, 60_000);
});
