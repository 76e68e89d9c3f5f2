/**
 * The gate against the emulator and the local S3, through the real SDK clients signed as a gate role whose policy
 * holds what the workflow grants it: the decision, and the evaluation report written beside the summary.
 */
import {
  CreateProjectCommand, CreateProjectVersionCommand, DescribeProjectVersionsCommand, RekognitionClient,
} from '@aws-sdk/client-rekognition';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { gate, GateDeps, reportKeyOf } from '../../../lambda/gate/gate';
import { LocalCloud, startLocalCloud } from '../../../lib/emulator/local-cloud';
import { MapDirectory } from '../../../lib/iam/world';
import { GateSettings, NO_SERVING_VERSION } from '../../../lib/model/contracts';
import { parseEvaluationSummary } from '../../../lib/report/summary';
import { classificationSamples } from '../../../lib/samples';
import { classificationLine } from '../../emulator/helpers';

const ACCOUNT = '123456789012';
const BUCKET = 'gate-data';
const TRAINER = `arn:aws:iam::${ACCOUNT}:role/Trainer`;
const GATE = `arn:aws:iam::${ACCOUNT}:role/Gate`;
const statement = (Action: string[], Resource: string[]) => ({ Effect: 'Allow', Action, Resource });
const DESCRIBE = statement(['rekognition:DescribeProjectVersions'], [`arn:aws:rekognition:us-east-1:${ACCOUNT}:project/gated/*`]);
const READ_OUTPUT = statement(['s3:GetObject'], [`arn:aws:s3:::${BUCKET}/output/*`]);
const WRITE_REPORT = statement(['s3:PutObject'], [`arn:aws:s3:::${BUCKET}/output/*`]);
const READ_IMAGES = statement(['s3:GetObject'], [`arn:aws:s3:::${BUCKET}/images/*`]);
const SETTINGS: GateSettings = { minF1: 0, minLabelF1: 0, mustNotRegress: true };

let cloud: LocalCloud;
let directory: MapDirectory;
let admin: S3Client;
let projectArn: string;
/** The test images the model gets wrong: labelled as the other shape in the test manifest. */
let mislabelled: string[];

function policy(roleArn: string, ...statements: unknown[]): void {
  directory.roles.set(roleArn, { policies: [{ name: 'policy', policy: { Version: '2012-10-17', Statement: statements } }], unknownManagedPolicies: [] });
}

function clients(roleArn: string): { rekognition: RekognitionClient; s3: S3Client } {
  const credentials = { accessKeyId: cloud.access.keyFor({ roleArn, sessionName: 'test' }), secretAccessKey: 'x', sessionToken: 'x' };
  return {
    rekognition: new RekognitionClient({ endpoint: cloud.rekognitionEndpoint, region: 'us-east-1', credentials, maxAttempts: 1 }),
    s3: new S3Client({ endpoint: cloud.s3Endpoint, region: 'us-east-1', credentials, forcePathStyle: true, maxAttempts: 1 }),
  };
}

async function train(versionName: string, f1?: number): Promise<string> {
  const { rekognition } = clients(TRAINER);
  if (f1 !== undefined) cloud.emulator.force.training({ versionName, f1 });
  const { ProjectVersionArn } = await rekognition.send(new CreateProjectVersionCommand({
    ProjectArn: projectArn, VersionName: versionName,
    OutputConfig: { S3Bucket: BUCKET, S3KeyPrefix: `output/gated/${versionName}/` },
    TrainingData: { Assets: [{ GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: 'manifests/train.manifest' } } }] },
    TestingData: { Assets: [{ GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: 'manifests/test.manifest' } } }] },
  }));
  await cloud.emulator.idle();
  cloud.clock.advance(24 * 3600_000);
  await cloud.emulator.idle();
  const d = await rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn, VersionNames: [versionName] }));
  expect(d.ProjectVersionDescriptions?.[0]?.Status).toBe('TRAINING_COMPLETED');
  rekognition.destroy();
  return ProjectVersionArn!;
}

async function read(key: string): Promise<string> {
  const res = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return res.Body!.transformToString();
}

/** The report's example figure of one image (it must be there). */
function figureOf(html: string, sourceRef: string): string {
  const start = html.indexOf(`data-source-ref="${sourceRef}"`);
  expect(start).toBeGreaterThan(0);
  return html.slice(start, html.indexOf('</figure>', start));
}

function gateDeps(extra: Partial<GateDeps> = {}): GateDeps {
  return { ...clients(GATE), ...extra };
}

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: [BUCKET] });
  directory = new MapDirectory();
  cloud.access.useDirectory(directory);
  policy(TRAINER, statement(['rekognition:*'], ['*']), statement(['s3:*'], [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`]));
  admin = cloud.s3.client();
  const labels = ['red-circle', 'blue-square'];
  const train = classificationSamples({ perLabel: 6, seed: 11, labels });
  const test = classificationSamples({ perLabel: 3, seed: 12, labels });
  await Promise.all([...train.map((s) => ({ s, dir: 'train' })), ...test.map((s) => ({ s, dir: 'test' }))].map(({ s, dir }) =>
    admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: `images/${dir}/${s.relPath}`, Body: s.bytes }))));
  await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'manifests/train.manifest',
    Body: train.map((s) => classificationLine(`s3://${BUCKET}/images/train/${s.relPath}`, s.labels[0])).join('\n') }));
  // One test image of each label carries the other label: the model's right answer is a false positive of one label
  // and a false negative of the other, so the report has examples of both kinds.
  mislabelled = [test.find((s) => s.labels[0] === labels[0])!, test.find((s) => s.labels[0] === labels[1])!]
    .map((s) => `s3://${BUCKET}/images/test/${s.relPath}`);
  await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'manifests/test.manifest', Body: test.map((s) => {
    const ref = `s3://${BUCKET}/images/test/${s.relPath}`;
    return classificationLine(ref, mislabelled.includes(ref) ? labels.find((l) => l !== s.labels[0])! : s.labels[0]);
  }).join('\n') }));
  const { rekognition } = clients(TRAINER);
  projectArn = (await rekognition.send(new CreateProjectCommand({ ProjectName: 'gated' }))).ProjectArn!;
  rekognition.destroy();
}, 60_000);

afterAll(async () => {
  admin.destroy();
  await cloud.stop();
});

describe('the gate against the emulator', () => {
  let v1Arn: string;
  beforeAll(async () => {
    v1Arn = await train('v1');
  }, 60_000);

  test('GIVEN a trained version THEN it passes, and the report beside the summary holds its figures and the mistaken images', async () => {
    policy(GATE, DESCRIBE, READ_OUTPUT, WRITE_REPORT, READ_IMAGES);
    const result = await gate({ projectArn, versionName: 'v1', gate: SETTINGS, servingVersionArn: NO_SERVING_VERSION }, gateDeps());
    const summaryKey = 'output/gated/v1/EvaluationResultSummary-gated-v1.json';
    const summary = parseEvaluationSummary(await read(summaryKey));
    expect(result).toMatchObject({ passed: true, versionArn: v1Arn, status: 'TRAINING_COMPLETED', f1: summary.f1, servingF1: -1, reportError: '' });
    expect(result.labels).toEqual(summary.perLabel.map((l) => ({ label: l.label, f1: l.f1 })));
    expect(result.report).toBe(`s3://${BUCKET}/${reportKeyOf(summaryKey, 'gated', 'v1')}`);
    expect(result.report).toBe(`s3://${BUCKET}/output/gated/v1/EvaluationReport-gated-v1.html`);
    const html = await read('output/gated/v1/EvaluationReport-gated-v1.html');
    expect(html).toContain('Evaluation report: gated v1');
    expect(html).toContain(`data-metric="f1" data-value="${summary.f1}"`);
    expect(html).toContain('data-passed="true"');
    // The mislabelled images are shown, inlined from the images bucket with the gate's rights.
    for (const ref of mislabelled) expect(figureOf(html, ref)).toContain('<image href="data:image/');
  });

  test('GIVEN a serving version with a better F1 and mustNotRegress THEN it fails with both figures, and the report says so', async () => {
    policy(GATE, DESCRIBE, READ_OUTPUT, WRITE_REPORT, READ_IMAGES);
    await train('v2', 0.5);
    const result = await gate({ projectArn, versionName: 'v2', gate: SETTINGS, servingVersionArn: v1Arn }, gateDeps());
    expect(result.passed).toBe(false);
    expect(result.reason).toMatch(/^Evaluation gate failed: overall F1 0\.500 is below the serving version's \d\.\d{3} \(mustNotRegress\)$/);
    const html = await read('output/gated/v2/EvaluationReport-gated-v2.html');
    expect(html).toContain('data-passed="false"');
    expect(html).toContain('(mustNotRegress)');
  }, 60_000);

  test('GIVEN a role that may not write the report THEN the decision stands and the reason carries S3\'s refusal', async () => {
    policy(GATE, DESCRIBE, READ_OUTPUT, READ_IMAGES);
    const result = await gate({ projectArn, versionName: 'v1', gate: SETTINGS, servingVersionArn: NO_SERVING_VERSION }, gateDeps());
    expect(result).toMatchObject({ passed: true, report: '' });
    expect(result.reportError).toBe('the evaluation report could not be written: User: arn:aws:sts::123456789012:assumed-role/Gate/test is not '
      + `authorized to perform: s3:PutObject on resource: "arn:aws:s3:::${BUCKET}/output/gated/v1/EvaluationReport-gated-v1.html" `
      + 'because no identity-based policy allows the s3:PutObject action');
  });

  test('GIVEN images the role may not read, or no time left for them THEN the report is written without them', async () => {
    policy(GATE, DESCRIBE, READ_OUTPUT, WRITE_REPORT);
    const denied = await gate({ projectArn, versionName: 'v1', gate: SETTINGS, servingVersionArn: NO_SERVING_VERSION }, gateDeps());
    expect(denied.reportError).toBe('');
    expect(await read('output/gated/v1/EvaluationReport-gated-v1.html')).not.toContain('<image href="data:image/');
    policy(GATE, DESCRIBE, READ_OUTPUT, WRITE_REPORT, READ_IMAGES);
    // A fixed instant well in the past: a deadline computed from Date.now() could tie with the gate's own clock read.
    const passed = Date.now() - 60_000;
    const late = await gate({ projectArn, versionName: 'v1', gate: SETTINGS, servingVersionArn: NO_SERVING_VERSION },
      gateDeps({ imageDeadline: () => passed }));
    expect(late.reportError).toBe('');
    expect(await read('output/gated/v1/EvaluationReport-gated-v1.html')).not.toContain('<image href="data:image/');
  });

  test('GIVEN a version that has not finished training THEN it throws with the status', async () => {
    policy(GATE, DESCRIBE, READ_OUTPUT, WRITE_REPORT, READ_IMAGES);
    const { rekognition } = clients(TRAINER);
    await rekognition.send(new CreateProjectVersionCommand({
      ProjectArn: projectArn, VersionName: 'v3', OutputConfig: { S3Bucket: BUCKET, S3KeyPrefix: 'output/gated/v3/' },
      TrainingData: { Assets: [{ GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: 'manifests/train.manifest' } } }] },
      TestingData: { Assets: [{ GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: 'manifests/test.manifest' } } }] },
    }));
    rekognition.destroy();
    await expect(gate({ projectArn, versionName: 'v3', gate: SETTINGS, servingVersionArn: NO_SERVING_VERSION }, gateDeps()))
      .rejects.toThrow('Version v3 has no evaluation result (status TRAINING_IN_PROGRESS)');
  });
});
