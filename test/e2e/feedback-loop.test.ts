/**
 * The feedback loop end to end, offline with IAM enforced: a model trained from a manifest in S3 serves; BatchAnalysis
 * predicts labels for new images; its predictions manifest goes through FeedbackLoop (a review manifest), are reviewed in the labeling page in a real
 * browser, merged back by FeedbackLoop into a new training manifest, and a redeploy on it trains a new version that
 * passes a mustNotRegress gate and is promoted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Browser } from 'playwright-core';

import { BatchSummary } from '../../lib/batch/contracts';
import { MergeResult, ReviewResult } from '../../lib/feedback/contracts';
import { BatchAnalysis, CustomLabelsModel, CustomLabelsProject, FeedbackLoop, TestData, TrainingData } from '../../lib/index';
import { LabelSession, startLabelServer } from '../../lib/label';
import { validateManifestSync } from '../../lib/manifest/validator';
import { classificationSamples, SampleImage } from '../../lib/samples/shapes';
import { artifactPath, launchChromium } from '../browser/chromium';
import { manifestFor, openSession, servingVersion, Session, STACK_NAME, tempDir } from './helpers';

const DATA = 'e2e-feedback-data';
const LABELS = ['red-circle', 'blue-square', 'green-triangle'];

function synth(outdir: string, trainingKey: string): string {
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir });
  const stack = new Stack(app, STACK_NAME, { env: { region: 'us-east-1' } });
  const data = s3.Bucket.fromBucketName(stack, 'Data', DATA);
  const project = new CustomLabelsProject(stack, 'Project', { projectName: 'feedback-shapes', removalPolicy: RemovalPolicy.DESTROY });
  const model = new CustomLabelsModel(stack, 'Model', {
    project,
    versionPrefix: 'model',
    trainingData: TrainingData.fromS3Manifest(data, trainingKey, { imagesPrefix: 'images/' }),
    testData: TestData.fromS3Manifest(data, 'manifests/test.manifest', { imagesPrefix: 'images/' }),
    evaluationGate: { minF1: 0, mustNotRegress: true },
    deployment: { minInferenceUnits: 1 },
  });
  new BatchAnalysis(stack, 'Batch', {
    model, input: { bucket: data, prefix: 'images/incoming/' }, output: { bucket: data, prefix: 'predictions/' }, imagesPerBatch: 4,
  });
  new FeedbackLoop(stack, 'Feedback', {
    predictionsBucket: data, predictionsPrefix: 'predictions/', trainingManifestBucket: data, trainingManifestKey: 'manifests/train.manifest',
    reviewBelowConfidence: 0.9, sampleShare: 0.3,
  });
  app.synth();
  return outdir;
}

describe('the feedback loop, offline under IAM enforcement', () => {
  let dir: string;
  let session: Session | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    dir = tempDir('feedback');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await session?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('predictions -> review manifest -> reviews in the page -> merged manifest -> a new version trained and promoted', async () => {
    // GIVEN a small training set, a test set, and new images, in a bucket
    const rel = (s: SampleImage, side: string): SampleImage => ({ ...s, relPath: `${side}/${s.relPath}` });
    const train = classificationSamples({ perLabel: 3, seed: 81 }).map((s) => rel(s, 'train'));
    const test = classificationSamples({ perLabel: 3, seed: 82 }).map((s) => rel(s, 'test'));
    const incoming = classificationSamples({ perLabel: 4, seed: 83 }).map((s) => rel(s, 'incoming'));
    session = await openSession(path.join(dir, 'state'), { cloud: { buckets: [DATA] } });
    const { runner, cloud, rekognition } = session;
    expect(runner.iamEnforced).toBe(true);
    const admin = cloud.s3.client();
    for (const s of [...train, ...test, ...incoming]) {
      await admin.send(new PutObjectCommand({ Bucket: DATA, Key: `images/${s.relPath}`, Body: s.bytes }));
    }
    const inBucket = (manifest: string): string => manifest.replace(/s3:\/\/e2e-images\//g, `s3://${DATA}/images/`);
    await admin.send(new PutObjectCommand({ Bucket: DATA, Key: 'manifests/train.manifest', Body: inBucket(manifestFor(train)) }));
    await admin.send(new PutObjectCommand({ Bucket: DATA, Key: 'manifests/test.manifest', Body: inBucket(manifestFor(test)) }));

    // AND the model deployed, serving its first version
    await runner.deploy(synth(path.join(dir, 'v1.out'), 'manifests/train.manifest'));
    await runner.settle();
    const first = servingVersion(runner)!;
    expect(first).toMatch(/\/version\/model-/);
    const f1Of = async (arn: string): Promise<number> => {
      const projectArn = (await rekognition.describeProjects({ ProjectNames: ['feedback-shapes'] })).ProjectDescriptions![0].ProjectArn;
      const versions = await rekognition.describeProjectVersions({ ProjectArn: projectArn, VersionNames: [arn.split('/')[3]] });
      return versions.ProjectVersionDescriptions![0].EvaluationResult!.F1Score!;
    };
    const firstF1 = await f1Of(first);

    // WHEN a batch analysis of the new images writes its predictions manifest
    const sfn = new SFNClient({ endpoint: runner.servicesEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const machineOf = (id: string): string => Object.entries(runner.stackState(STACK_NAME)!.resources)
      .find(([logicalId, r]) => r.type === 'AWS::StepFunctions::StateMachine' && logicalId.startsWith(id))![1].physicalId;
    const run = async (machine: string, input: object): Promise<unknown> => {
      const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machine, input: JSON.stringify(input) }));
      await runner.settle();
      const done = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      expect([done.status, done.error, done.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
      return JSON.parse(done.output!);
    };
    const batch = await run(machineOf('Batch'), {}) as BatchSummary;
    expect(batch).toMatchObject({ images: incoming.length, analysed: incoming.length, failed: 0, unprocessed: 0, modelVersion: first });
    // The serving model was running already: the batch neither started nor stopped it.
    expect(servingVersion(runner)).toBe(first);
    expect(cloud.usage().running).toHaveLength(1);
    // The emulator's model gets these shapes right; a real model makes mistakes, so one prediction is made wrong (and
    // unsure) for the reviewer to correct.
    const at = /^s3:\/\/([^/]+)\/(.+)$/.exec(batch.predictionsManifest)!;
    expect(at[1]).toBe(DATA);
    const predicted = (await (await admin.send(new GetObjectCommand({ Bucket: DATA, Key: at[2] }))).Body!.transformToString()).trimEnd().split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(predicted.map((l) => l['source-ref']).sort()).toEqual(incoming.map((s) => `s3://${DATA}/images/${s.relPath}`).sort());
    const mistaken = predicted.find((l) => l['source-ref'] === `s3://${DATA}/images/${incoming[0].relPath}`)!;
    const metadataKey = Object.keys(mistaken).find((k) => k.endsWith('-metadata'))!;
    const metadata = mistaken[metadataKey] as Record<string, unknown>;
    expect(metadata['class-name']).toBe(incoming[0].labels[0]);
    Object.assign(metadata, { 'class-name': LABELS.find((l) => l !== incoming[0].labels[0]), 'confidence': 0.2 });
    await admin.send(new PutObjectCommand({ Bucket: DATA, Key: at[2], Body: predicted.map((l) => JSON.stringify(l)).join('\n') + '\n' }));

    // AND the feedback loop chooses what to review
    const review = await run(machineOf('Feedback'), { predictions: batch.predictionsManifest, seed: 'run-1' }) as ReviewResult;
    expect(review.images).toBe(incoming.length);
    expect(review.lowConfidence + review.sampled).toBeGreaterThan(0);
    const reviewAt = /^s3:\/\/([^/]+)\/(.+)$/.exec(review.reviewManifest)!;
    const reviewText = await (await admin.send(new GetObjectCommand({ Bucket: reviewAt[1], Key: reviewAt[2] }))).Body!.transformToString();
    const chosen = reviewText.trimEnd().split('\n').map((l) => (JSON.parse(l) as { 'source-ref': string })['source-ref']);
    expect(chosen).toHaveLength(review.lowConfidence + review.sampled);

    // AND a reviewer opens them in the labeling page (images copied locally) and accepts or corrects each prediction
    const local = path.join(dir, 'review');
    for (const ref of chosen) {
      const key = ref.replace(`s3://${DATA}/`, '');
      fs.mkdirSync(path.dirname(path.join(local, key)), { recursive: true });
      fs.writeFileSync(path.join(local, key), incoming.find((s) => `images/${s.relPath}` === key)!.bytes);
    }
    fs.writeFileSync(path.join(dir, 'review.manifest'), reviewText);
    const reviewedFile = path.join(dir, 'reviewed.manifest');
    const server = await startLabelServer({ session: new LabelSession({ imagesDir: local, manifestFile: reviewedFile, labels: LABELS,
      predictionsFile: path.join(dir, 'review.manifest'), bucket: { bucket: DATA, prefix: '' } }) });
    const page = await browser!.newPage({ viewport: { width: 1280, height: 860 } });
    let corrected = 0;
    try {
      await page.goto(server.url);
      await page.locator('#progress-text', { hasText: `of ${chosen.length} reviewed` }).waitFor();
      for (let i = 0; i < chosen.length; i++) {
        // The page names an image by its path in the images folder: images/<relPath>.
        const shown = (await page.locator('#image-name').textContent())!.trim();
        const sample = incoming.find((s) => shown === `images/${s.relPath}`)!;
        const predicted = (await page.locator('.pred-item .what').first().textContent())!.replace('Label: ', '').trim();
        if (predicted === sample.labels[0]) {
          await page.keyboard.press('a');
        } else {
          await page.getByRole('button', { name: new RegExp(`^Reject Label: ${predicted} `) }).click();
          await page.getByRole('checkbox', { name: sample.labels[0] }).check();
          corrected++;
        }
        await page.locator('#progress-text', { hasText: `${i + 1} of ${chosen.length} reviewed` }).waitFor();
        if (i < chosen.length - 1) await page.keyboard.press('n');
      }
      await page.locator('#status', { hasText: 'All changes saved' }).waitFor();
      await page.screenshot({ path: artifactPath('feedback-review.png') });
    } finally {
      await page.close();
      await server.close();
    }
    const reviewed = fs.readFileSync(reviewedFile, 'utf8');
    expect(validateManifestSync(reviewed, { role: 'dataset' }).validLines).toBe(chosen.length);
    expect(corrected).toBe(1);
    const labelOf = (manifest: string, relPath: string): string | undefined => manifest.trimEnd().split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['source-ref'] === `s3://${DATA}/images/${relPath}`)
      .map((l) => Object.entries(l).find(([k]) => k.endsWith('-metadata'))![1] as { 'class-name': string })[0]?.['class-name'];
    expect(labelOf(reviewed, incoming[0].relPath)).toBe(incoming[0].labels[0]);

    // AND the reviewed manifest is put where the loop picks it up, and merged
    const reviewBucket = reviewAt[1];
    await admin.send(new PutObjectCommand({ Bucket: reviewBucket, Key: 'reviewed/run-1.manifest', Body: reviewed }));
    const merged = await run(machineOf('Feedback'), { reviewed: [`s3://${reviewBucket}/reviewed/run-1.manifest`] }) as MergeResult;
    expect(merged).toMatchObject({ changed: true, added: chosen.length, replaced: 0, bucket: DATA });
    expect(merged.lines).toBe(train.length + chosen.length);
    const mergedText = await (await admin.send(new GetObjectCommand({ Bucket: DATA, Key: merged.key }))).Body!.transformToString();
    expect(labelOf(mergedText, incoming[0].relPath)).toBe(incoming[0].labels[0]);

    // THEN a deploy on the merged manifest trains a new version that is at least as good, and promotes it
    await runner.deploy(synth(path.join(dir, 'v2.out'), merged.key));
    await runner.settle();
    const second = servingVersion(runner)!;
    expect(second).not.toBe(first);
    expect(await f1Of(second)).toBeGreaterThanOrEqual(firstF1);
    expect(runner.executions().filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);
    // AND nothing was refused on the way: every call was allowed by the roles the stack synthesized
    expect(cloud.access.history().filter((r) => !r.allowed)).toEqual([]);

    sfn.destroy();
    admin.destroy();
    await runner.destroy();
    expect(cloud.usage().running).toEqual([]);
  }, 240_000);
});
