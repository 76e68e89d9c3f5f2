/**
 * BatchAnalysis's hourly sweep (an EventBridge Scheduler schedule) fires offline: a run stopped by hand (StopExecution)
 * never releases its hold on the model; once the hold expires, the sweep stops the model. IAM is enforced, so the
 * schedule's role must trust the scheduler and may invoke the batch function.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Rekognition } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { LocalCloud, startLocalCloud } from '../../lib/emulator/local-cloud';
import { BatchAnalysis, CustomLabelsModel } from '../../lib/index';
import { LocalRunner } from '../../lib/runner/local-runner';
import { classificationSamples } from '../../lib/samples/shapes';
import { trainedVersion } from '../e2e/helpers';

// aws-cdk-lib's built-in CloudFormation validation (a WebAssembly engine) takes ~13 s per synth and only warns: skipped here.
process.env.CDK_VALIDATION = 'false';

const IMAGES = 'sweep-images';
const RESULTS = 'sweep-results';
const PROJECT = 'sweep-shapes';
const HOUR = 3_600_000;

describe('BatchAnalysis sweep on the local scheduler', () => {
  let dir: string;
  let cloud: LocalCloud;
  let runner: LocalRunner;
  let waiting: (executionArn: string) => void;
  const firstWait = new Promise<string>((resolve) => { waiting = resolve; });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-'));
    cloud = await startLocalCloud({ timeScale: 0, buckets: [IMAGES, RESULTS] });
    // The first Wait of a run (waiting for the model to start) holds the run there until it is stopped.
    runner = await LocalRunner.open({ stateDir: path.join(dir, 'state'), cloud, log: process.env.DBG ? (l) => process.stderr.write(`${cloud.clock.now()} ${l}\n`) : undefined, beforeWait: (execution) => {
      waiting(execution.executionArn);
      return new Promise<void>(() => undefined);
    } });
  });
  afterAll(async () => {
    await runner?.close();
    await cloud?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a run stopped by hand leaves a hold; after it expires the hourly sweep stops the model', async () => {
    const admin = cloud.s3.client();
    const rekognition = new Rekognition({ endpoint: cloud.rekognitionEndpoint, region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } });
    const versionArn = await trainedVersion(cloud, rekognition, { projectName: PROJECT, dataBucket: IMAGES, outputBucket: RESULTS, seed: 7 });
    for (const s of classificationSamples({ perLabel: 1, seed: 8 })) {
      await admin.send(new PutObjectCommand({ Bucket: IMAGES, Key: `incoming/${s.relPath}`, Body: s.bytes }));
    }

    const outdir = path.join(dir, 'cdk.out');
    const app = new App({ outdir });
    const stack = new Stack(app, 'Sweep', { env: { region: 'us-east-1' } });
    new BatchAnalysis(stack, 'Batch', {
      model: CustomLabelsModel.fromVersionArn(stack, 'Model', versionArn),
      input: { bucket: s3.Bucket.fromBucketName(stack, 'Images', IMAGES), prefix: 'incoming/' },
      output: { bucket: s3.Bucket.fromBucketName(stack, 'Results', RESULTS), prefix: 'results/' },
      stopWhenIdle: Duration.minutes(15),
      leaseDuration: Duration.hours(1),
    });
    app.synth();
    await runner.deploy(outdir);
    expect(runner.iamEnforced).toBe(true);
    const machineArn = Object.values(runner.stackState('Sweep')!.resources).find((r) => r.type === 'AWS::StepFunctions::StateMachine')!.physicalId;

    // WHEN a run takes the model and is stopped by hand while it waits for the model to start
    const sfn = new SFNClient({ endpoint: runner.servicesEndpoint, region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } });
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, input: '{}' }));
    expect(await firstWait).toBe(executionArn);
    await sfn.send(new StopExecutionCommand({ executionArn }));
    const stoppedAt = cloud.clock.now();
    // THEN its hold stays, and the model it started runs on
    const leases = await admin.send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: 'results/leases/' }));
    expect(leases.Contents).toHaveLength(1);
    const lease = JSON.parse(await (await admin.send(new GetObjectCommand({ Bucket: RESULTS, Key: leases.Contents![0].Key! })))
      .Body!.transformToString()) as { holders: Record<string, { expiresAt: number }> };
    const expiresAt = Math.max(...Object.values(lease.holders).map((h) => h.expiresAt));
    // Up to a minute before the hold expires, the sweeps (hourly, the first at deploy) leave the model running.
    await runner.runFor(expiresAt - 60_000 - cloud.clock.now());
    expect(cloud.emulator.usage().running).toEqual([versionArn]);

    // WHEN a few virtual hours pass: the sweep fires hourly, and stops the model once the hold expired (1 hour)
    await runner.runFor(3 * HOUR);
    const sweeps = runner.scheduleInvocations().filter((i) => i.resource.startsWith('Sweep/BatchSweep'));
    expect(sweeps.length).toBeGreaterThanOrEqual(3);
    expect(sweeps.every((i) => i.outcome === 'SUCCEEDED' && i.functionResult === 'SUCCEEDED')).toBe(true);
    expect(cloud.emulator.usage().running).toEqual([]);
    const { ProjectVersionDescriptions } = await rekognition.describeProjectVersions({
      ProjectArn: (await rekognition.describeProjects({ ProjectNames: [PROJECT] })).ProjectDescriptions![0].ProjectArn });
    expect(ProjectVersionDescriptions![0].Status).toBe('STOPPED');
    // The meter: the model ran less than the hold (1 hour) plus the sweep's period (1 hour) after the stop.
    const hours = cloud.emulator.usage().totals.inferenceUnitHours;
    expect(hours).toBeLessThan((cloud.clock.now() - stoppedAt) / HOUR);
    expect(hours).toBeLessThanOrEqual(2 + 0.1);
  });
});
