/**
 * BatchAnalysis end to end, offline with IAM enforced: a model version trained in the emulator, imported by ARN, and
 * a batch stack deployed by the runner. A run lists the images, starts the stopped model, analyses every image through
 * the Distributed Map, writes results, a summary and a predictions manifest FeedbackLoop can read, and stops the model
 * stopWhenIdle after. Faults (a poisoned image, a throttling burst, a start that fails) leave no model running and no
 * image unaccounted for.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { App, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';

import { BatchSummary, ImageResult } from '../../lib/batch/contracts';
import { BatchAnalysis, CustomLabelsModel } from '../../lib/index';
import { selectForReview } from '../../lib/manifest/feedback';
import { classificationSamples } from '../../lib/samples/shapes';
import { openSession, rekognitionOperations, Session, STACK_NAME, tempDir, trainedVersion } from './helpers';

// aws-cdk-lib's built-in CloudFormation validation (a WebAssembly engine) takes seconds per synth and only warns: skipped
// here (cdk-nag still runs where a test asks for it).
process.env.CDK_VALIDATION = 'false';

const IMAGES = 'e2e-batch-images';
const RESULTS = 'e2e-batch-results';
const PROJECT = 'batch-shapes';
const STOP_WHEN_IDLE_MIN = 15;
const UPLOAD_WINDOW_MIN = 5;

function synth(outdir: string, versionArn: string, schedule?: scheduler.ScheduleExpression, analyseUploads = false): string {
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir });
  const stack = new Stack(app, STACK_NAME, { env: { region: 'us-east-1' } });
  new BatchAnalysis(stack, 'Batch', {
    model: CustomLabelsModel.fromVersionArn(stack, 'Model', versionArn),
    input: { bucket: s3.Bucket.fromBucketName(stack, 'Images', IMAGES), prefix: 'incoming/' },
    output: { bucket: s3.Bucket.fromBucketName(stack, 'Results', RESULTS), prefix: 'results/' },
    stopWhenIdle: Duration.minutes(STOP_WHEN_IDLE_MIN),
    imagesPerBatch: 10,
    toleratedFailurePercentage: 0,
    schedule,
    ...(analyseUploads ? { analyseUploads, batchWindow: Duration.minutes(UPLOAD_WINDOW_MIN) } : {}),
  });
  app.synth();
  return outdir;
}

describe('BatchAnalysis offline under IAM enforcement', () => {
  let dir: string;
  let session: Session;
  let versionArn: string;
  let sfn: SFNClient;
  let machineArn: string;

  const admin = () => session.cloud.s3.client();
  const text = async (bucket: string, key: string): Promise<string> =>
    (await admin().send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
  const status = async (): Promise<string> => {
    const projectArn = (await session.rekognition.describeProjects({ ProjectNames: [PROJECT] })).ProjectDescriptions![0].ProjectArn!;
    return (await session.rekognition.describeProjectVersions({ ProjectArn: projectArn })).ProjectVersionDescriptions![0].Status!;
  };
  const runBatch = async (): Promise<{ status: string; output?: BatchSummary; error?: string; cause?: string; name: string }> => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, input: '{}' }));
    await session.runner.settle();
    const done = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return { status: done.status!, output: done.output ? JSON.parse(done.output) as BatchSummary : undefined, error: done.error, cause: done.cause,
      name: executionArn!.split(':').pop()! };
  };
  const putImages = async (prefix: string, perLabel: number, seed: number): Promise<string[]> => {
    const keys: string[] = [];
    for (const s of classificationSamples({ perLabel, seed })) {
      const key = `${prefix}${s.relPath}`;
      await admin().send(new PutObjectCommand({ Bucket: IMAGES, Key: key, Body: s.bytes }));
      keys.push(key);
    }
    return keys;
  };

  beforeAll(async () => {
    dir = tempDir('batch');
    session = await openSession(path.join(dir, 'state'), { cloud: { buckets: [IMAGES, RESULTS],
      modelCapacity: [{ projectName: PROJECT, tpsPerInferenceUnit: 3, latencyMs: 200 }] } });
    const { cloud, rekognition, runner } = session;
    expect(runner.iamEnforced).toBe(true);
    versionArn = await trainedVersion(cloud, rekognition, { projectName: PROJECT, dataBucket: IMAGES, outputBucket: RESULTS, seed: 91 });

    await runner.deploy(synth(path.join(dir, 'cdk.out'), versionArn));
    await runner.settle();
    sfn = new SFNClient({ endpoint: runner.servicesEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    machineArn = Object.values(runner.stackState(STACK_NAME)!.resources).find((r) => r.type === 'AWS::StepFunctions::StateMachine')!.physicalId;
  });

  afterAll(async () => {
    await session?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a batch end to end: the stopped model is started, every image analysed, results, summary and predictions written, the model stopped when idle', async () => {
    const keys = await putImages('incoming/', 8, 93);
    const before = session.cloud.emulator.usage().totals.inferenceUnitHours;
    const run = await runBatch();
    expect([run.status, run.error, run.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const summary = run.output!;
    expect(summary).toMatchObject({ images: keys.length, analysed: keys.length, failed: 0, unprocessed: 0, modelVersion: versionArn });
    expect(Object.values(summary.labels).reduce((a, b) => a + b, 0)).toBe(keys.length);
    // The model takes 3 calls a second: the batches were refused, backed off and retried, and lost nothing.
    expect(summary.throttled).toBeGreaterThan(0);

    // One JSON object per image, each image once.
    const listed = await admin().send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: `results/runs/${run.name}/images/` }));
    const results: ImageResult[] = [];
    for (const o of listed.Contents ?? []) results.push(...(await text(RESULTS, o.Key!)).trimEnd().split('\n').map((l) => JSON.parse(l) as ImageResult));
    expect(results.map((r) => r.image).sort()).toEqual(keys.map((k) => `s3://${IMAGES}/${k}`).sort());
    expect(results.every((r) => r.modelVersion === versionArn && (r.labels ?? []).length > 0 && r.labels![0].confidence > 0)).toBe(true);
    expect(JSON.parse(await text(RESULTS, `results/runs/${run.name}/summary.json`))).toEqual(summary);

    // The predictions manifest is what FeedbackLoop selects from.
    const predictions = await text(RESULTS, `results/runs/${run.name}/predictions.manifest`);
    const review = selectForReview(predictions, { belowConfidence: 0, sampleShare: 1, seed: 's' });
    expect([review.images, review.sampled, review.skippedLines]).toEqual([keys.length, keys.length, 0]);

    // The model is stopped (a stop takes a moment), and it ran no longer than the batch plus stopWhenIdle (and its start) on the meter.
    session.cloud.clock.advance(5 * 60_000);
    await session.cloud.emulator.idle();
    expect(await status()).toBe('STOPPED');
    expect(session.cloud.emulator.usage().running).toEqual([]);
    const hours = session.cloud.emulator.usage().totals.inferenceUnitHours - before;
    expect(hours).toBeGreaterThan(STOP_WHEN_IDLE_MIN / 60);
    expect(hours).toBeLessThan((STOP_WHEN_IDLE_MIN + 10) / 60);
    // The lease is released.
    const leases = await admin().send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: 'results/leases/' }));
    const lease = JSON.parse(await text(RESULTS, leases.Contents![0].Key!)) as { holders: object; startedByLease: boolean };
    expect(lease).toMatchObject({ holders: {}, startedByLease: false });
  });

  test('faults: a poisoned image and a throttling burst leave every image accounted for and the model stopped', async () => {
    const keys = (await admin().send(new ListObjectsV2Command({ Bucket: IMAGES, Prefix: 'incoming/' }))).Contents!.map((o) => o.Key!);
    await admin().send(new PutObjectCommand({ Bucket: IMAGES, Key: 'incoming/poisoned.jpg', Body: Buffer.from('not an image at all') }));
    keys.push('incoming/poisoned.jpg');
    session.cloud.emulator.faults.add({ operation: 'DetectCustomLabels', error: 'ProvisionedThroughputExceededException', times: 30, afterCalls: 3 });
    const refusedBefore = session.requests.filter((l) => l.includes('DetectCustomLabels 400') && l.endsWith('ProvisionedThroughputExceededException')).length;
    const run = await runBatch();
    session.cloud.emulator.faults.clear();
    expect([run.status, run.error, run.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(run.output).toMatchObject({ images: keys.length, analysed: keys.length - 1, failed: 1, failures: { InvalidImageFormatException: 1 },
      unprocessed: 0 });
    // Each refusal reached the batch (no SDK retries in the same second) and was retried after a back-off.
    const refused = session.requests.filter((l) => l.includes('DetectCustomLabels 400') && l.endsWith('ProvisionedThroughputExceededException'));
    expect(run.output!.throttled).toBeGreaterThanOrEqual(30);
    expect(run.output!.throttled).toBe(refused.length - refusedBefore);
    const listed = await admin().send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: `results/runs/${run.name}/images/` }));
    const results: ImageResult[] = [];
    for (const o of listed.Contents ?? []) results.push(...(await text(RESULTS, o.Key!)).trimEnd().split('\n').map((l) => JSON.parse(l) as ImageResult));
    expect(results.map((r) => r.image).sort()).toEqual(keys.map((k) => `s3://${IMAGES}/${k}`).sort());
    expect(results.find((r) => r.image.endsWith('poisoned.jpg'))!.error).toEqual({ code: 'InvalidImageFormatException',
      message: 'Request has unsupported image format' });
    session.cloud.clock.advance(5 * 60_000);
    await session.cloud.emulator.idle();
    expect(await status()).toBe('STOPPED');
    expect(session.cloud.emulator.usage().running).toEqual([]);
  });

  test('faults: a model stopped by hand mid-batch is not restarted; the run fails with every image accounted for, the lease released', async () => {
    const keys = (await admin().send(new ListObjectsV2Command({ Bucket: IMAGES, Prefix: 'incoming/' }))).Contents!.map((o) => o.Key!);
    const opsBefore = rekognitionOperations(session.requests).length;
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, input: '{}' }));
    const name = executionArn!.split(':').pop()!;
    // Virtual time passes until the Map has analysed some images, then the model is stopped by hand.
    const detected = (): number => rekognitionOperations(session.requests).slice(opsBefore).filter((op) => op === 'DetectCustomLabels').length;
    for (let i = 0; i < 600 && detected() < 4; i++) await session.runner.runFor(1000);
    expect(detected()).toBeGreaterThanOrEqual(4);
    await session.rekognition.stopProjectVersion({ ProjectVersionArn: versionArn });
    await session.runner.settle();

    const done = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    // The Map fails as a whole (no batch failure is tolerated); the summary names why its batches failed.
    expect([done.status, done.error]).toEqual(['FAILED', 'States.ExceedToleratedFailureThreshold']);
    const ops = rekognitionOperations(session.requests).slice(opsBefore);
    expect(ops.filter((op) => op === 'StartProjectVersion')).toHaveLength(1);
    // Only the hand's stop: the idle stop found the model stopped already.
    expect(ops.filter((op) => op === 'StopProjectVersion')).toHaveLength(1);
    // Every image is in the summary, analysed or unprocessed, exactly once.
    const summary = JSON.parse(await text(RESULTS, `results/runs/${name}/summary.json`)) as BatchSummary;
    expect(summary.images).toBe(keys.length);
    expect(summary.analysed + summary.failed + summary.unprocessed).toBe(keys.length);
    expect(summary.unprocessed).toBeGreaterThan(0);
    // The batch that met the stopped model failed with ModelNotAvailable (the Map then aborted the others in flight).
    expect(summary.failedBatches.ModelNotAvailable).toBeGreaterThanOrEqual(1);
    const listed = await admin().send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: `results/runs/${name}/images/` }));
    const analysed: string[] = [];
    for (const o of listed.Contents ?? []) analysed.push(...(await text(RESULTS, o.Key!)).trimEnd().split('\n').map((l) => (JSON.parse(l) as ImageResult).image));
    expect([...analysed, ...summary.unprocessedImages].sort()).toEqual(keys.map((k) => `s3://${IMAGES}/${k}`).sort());
    session.cloud.clock.advance(5 * 60_000);
    await session.cloud.emulator.idle();
    expect(await status()).toBe('STOPPED');
    expect(session.cloud.emulator.usage().running).toEqual([]);
    const leases = await admin().send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: 'results/leases/' }));
    expect(JSON.parse(await text(RESULTS, leases.Contents![0].Key!))).toMatchObject({ holders: {}, startedByLease: false });
  });

  test('two overlapping batches share one start and one stop', async () => {
    const opsBefore = rekognitionOperations(session.requests).length;
    const start = async (): Promise<string> =>
      (await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, input: '{}' }))).executionArn!;
    const first = await start();
    // The second starts while the first waits for the model to start.
    await session.runner.runFor(20_000);
    const second = await start();
    await session.runner.settle();
    for (const arn of [first, second]) {
      const done = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      expect([done.status, done.error]).toEqual(['SUCCEEDED', undefined]);
      expect(JSON.parse(done.output!)).toMatchObject({ unprocessed: 0, failed: 1 });
    }
    const ops = rekognitionOperations(session.requests).slice(opsBefore);
    expect(ops.filter((op) => op === 'StartProjectVersion')).toHaveLength(1);
    expect(ops.filter((op) => op === 'StopProjectVersion')).toHaveLength(1);
    session.cloud.clock.advance(5 * 60_000);
    await session.cloud.emulator.idle();
    expect(session.cloud.emulator.usage().running).toEqual([]);
  });

  test('a schedule in a time zone starts runs at its times: 03:00 in Berlin, one run a day, each analysing the prefix', async () => {
    await session.runner.deploy(synth(path.join(dir, 'cdk.out'), versionArn,
      scheduler.ScheduleExpression.cron({ hour: '3', minute: '0', timeZone: TimeZone.EUROPE_BERLIN })));
    await session.runner.settle();
    const keys = (await admin().send(new ListObjectsV2Command({ Bucket: IMAGES, Prefix: 'incoming/' }))).Contents!.map((o) => o.Key!);
    const ours = () => session.runner.scheduleInvocations().filter((i) => i.target === machineArn);
    expect(ours()).toEqual([]);
    const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    const days = new Set<string>();
    // Two days of virtual time: two runs.
    await session.runner.runFor(48 * 3600_000);
    await session.runner.settle();
    const fired = ours();
    expect(fired).toHaveLength(2);
    for (const f of fired) {
      expect([f.outcome, f.error]).toEqual(['SUCCEEDED', undefined]);
      expect(berlin.format(new Date(f.scheduledAt))).toBe('03:00:00');
      expect(f.at).toBe(f.scheduledAt);
      days.add(new Date(f.scheduledAt).toISOString().slice(0, 10));
      const done = await sfn.send(new DescribeExecutionCommand({ executionArn: f.executionArn }));
      expect([done.status, done.error]).toEqual(['SUCCEEDED', undefined]);
      expect(JSON.parse(done.output!)).toMatchObject({ images: keys.length, unprocessed: 0 });
    }
    expect(days.size).toBe(2);
    expect(session.cloud.emulator.usage().running).toEqual([]);
    // Back to on demand only: the redeploy deletes the schedule, and it fires no more.
    await session.runner.deploy(synth(path.join(dir, 'cdk.out'), versionArn));
    await session.runner.runFor(24 * 3600_000);
    await session.runner.settle();
    expect(ours()).toHaveLength(2);
  });

  test('uploads within one window make one run analysing exactly those uploads; a later upload opens a new window; nothing lost', async () => {
    await session.runner.deploy(synth(path.join(dir, 'cdk.out'), versionArn, undefined, true));
    await session.runner.settle();
    const known = new Set(session.runner.executions().map((e) => e.executionArn));
    const newRuns = () => session.runner.executions().filter((e) => !known.has(e.executionArn) && e.name.startsWith('uploads-'));
    const samples = classificationSamples({ perLabel: 1, seed: 94 });
    const upload = async (i: number): Promise<string> => {
      const key = `incoming/uploaded/${i}-${samples[i].relPath.split('/').pop()}`;
      await admin().send(new PutObjectCommand({ Bucket: IMAGES, Key: key, Body: samples[i].bytes }));
      return key;
    };
    const analysedIn = async (run: string): Promise<string[]> => {
      const listed = await admin().send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: `results/runs/${run}/images/` }));
      const out: string[] = [];
      for (const o of listed.Contents ?? []) out.push(...(await text(RESULTS, o.Key!)).trimEnd().split('\n').map((l) => (JSON.parse(l) as ImageResult).image));
      return out.sort();
    };
    // Three uploads a minute apart: one window.
    const first = [await upload(0)];
    await session.runner.runFor(60_000);
    first.push(await upload(1));
    await session.runner.runFor(60_000);
    first.push(await upload(2));
    await session.runner.runFor((UPLOAD_WINDOW_MIN + STOP_WHEN_IDLE_MIN + 20) * 60_000);
    await session.runner.settle();
    expect(newRuns()).toHaveLength(1);
    const [one] = newRuns();
    expect([one.status, one.error]).toEqual(['SUCCEEDED', undefined]);
    expect(JSON.parse(one.output!)).toMatchObject({ images: 3, analysed: 3, unprocessed: 0 });
    expect(await analysedIn(one.name)).toEqual(first.map((k) => `s3://${IMAGES}/${k}`).sort());
    // A later upload: a new window, with that upload only.
    const later = await upload(0);
    await session.runner.runFor((UPLOAD_WINDOW_MIN + STOP_WHEN_IDLE_MIN + 20) * 60_000);
    await session.runner.settle();
    expect(newRuns()).toHaveLength(2);
    const two = newRuns().find((e) => e.name !== one.name)!;
    expect(JSON.parse(two.output!)).toMatchObject({ images: 1, analysed: 1 });
    expect(await analysedIn(two.name)).toEqual([`s3://${IMAGES}/${later}`]);
    const markers = await admin().send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: 'results/windows/' }));
    expect(markers.Contents ?? []).toEqual([]);
    expect(session.cloud.emulator.usage().running).toEqual([]);
    await session.runner.deploy(synth(path.join(dir, 'cdk.out'), versionArn));
  });

  test('faults: a start that FAILs fails the run with the service\'s status, and the lease is released', async () => {
    session.cloud.emulator.force.start({ versionName: 'v1', fail: true, message: 'Injected: not enough capacity' });
    const run = await runBatch();
    session.cloud.emulator.force.clear();
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('ModelNotAvailable');
    expect(run.cause).toContain('FAILED');
    expect(session.cloud.emulator.usage().running).toEqual([]);
    const leases = await admin().send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: 'results/leases/' }));
    expect(JSON.parse(await text(RESULTS, leases.Contents![0].Key!))).toMatchObject({ holders: {} });
  });
});
