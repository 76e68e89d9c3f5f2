import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  CreateDatasetCommand, CreateProjectCommand, CreateProjectVersionCommand, DescribeProjectsCommand, DescribeProjectVersionsCommand,
  DetectCustomLabelsCommand, RekognitionClient, StartProjectVersionCommand, StopProjectVersionCommand, waitUntilProjectVersionRunning,
} from '@aws-sdk/client-rekognition';

import { RekognitionEmulator, VirtualClock } from '../../../lib/emulator';
import { ERRORS } from '../../../lib/manifest/types';
import { classificationSamples } from '../../../lib/samples';
import { DATA_BUCKET, errorOf, newClient, OUTPUT_BUCKET, put, startWorld, T0, uploadClassification, World } from '../helpers';

const TRAIN_PER_LABEL = 4;
const LABELS = ['red-circle', 'blue-square'];

describe('faults, forced outcomes, the meter and persistence', () => {
  let world: World;
  let trainLines: string[];
  let testLines: string[];
  let n = 0;
  beforeAll(async () => {
    world = await startWorld();
    trainLines = await uploadClassification(world, { perLabel: TRAIN_PER_LABEL, seed: 31, prefix: 'fm-train', labels: LABELS });
    testLines = await uploadClassification(world, { perLabel: 2, seed: 32, prefix: 'fm-test', labels: LABELS });
    await put(world, 'fm-train.manifest', trainLines.join('\n'));
    await put(world, 'fm-test.manifest', testLines.join('\n'));
  });
  afterAll(async () => {
    await world.stop();
  });
  afterEach(() => {
    world.emulator.faults.clear();
    world.emulator.force.clear();
  });

  /** A project with TRAIN and TEST datasets, and a version trained to completion (or failure). */
  async function trained(client: RekognitionClient, clock: VirtualClock, versionName: string): Promise<{ projectArn: string; versionArn: string }> {
    n += 1;
    const projectArn = (await client.send(new CreateProjectCommand({ ProjectName: `fm-${n}` }))).ProjectArn!;
    for (const type of ['TRAIN', 'TEST'] as const) {
      await client.send(new CreateDatasetCommand({
        ProjectArn: projectArn, DatasetType: type,
        DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: DATA_BUCKET, Name: `fm-${type.toLowerCase()}.manifest` } } },
      }));
    }
    clock.advance(60_000);
    const versionArn = (await client.send(new CreateProjectVersionCommand({
      ProjectArn: projectArn, VersionName: versionName, OutputConfig: { S3Bucket: OUTPUT_BUCKET, S3KeyPrefix: `fm-${n}/` },
    }))).ProjectVersionArn!;
    clock.advance(24 * 3600_000);
    return { projectArn, versionArn };
  }

  async function describeVersion(client: RekognitionClient, projectArn: string) {
    return (await client.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn }))).ProjectVersionDescriptions![0];
  }

  test('a scripted fault fails the operation twice with HTTP 500, then it succeeds', async () => {
    world.emulator.faults.add({ operation: 'DescribeProjects', error: 'ThrottlingException', times: 2 });
    const first = await errorOf(world.rekognition.send(new DescribeProjectsCommand({})));
    const second = await errorOf(world.rekognition.send(new DescribeProjectsCommand({})));
    expect([first.name, second.name]).toEqual(['ThrottlingException', 'ThrottlingException']);
    expect(first.$metadata?.httpStatusCode).toBe(500);
    expect(first.$fault).toBe('server');
    await expect(world.rekognition.send(new DescribeProjectsCommand({}))).resolves.toHaveProperty('ProjectDescriptions');
  });

  test('the SDK\'s own retries ride over two scripted InternalServerErrors', async () => {
    world.emulator.faults.add({ operation: 'DescribeProjects', error: 'InternalServerError', times: 2 });
    const retrying = new RekognitionClient({
      endpoint: world.endpoint, region: 'us-east-1', maxAttempts: 3, credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const out = await retrying.send(new DescribeProjectsCommand({}));
    retrying.destroy();
    expect(out.$metadata.attempts).toBe(3);
  });

  test('afterCalls lets the first calls through; a 400 fault keeps the client-fault status', async () => {
    world.emulator.faults.add({ operation: 'CreateProject', error: 'LimitExceededException', afterCalls: 1, message: 'too many projects' });
    await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'after-1' }));
    const err = await errorOf(world.rekognition.send(new CreateProjectCommand({ ProjectName: 'after-2' })));
    expect(err.name).toBe('LimitExceededException');
    expect(err.message).toBe('too many projects');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'after-3' }));
  });

  test('random faults with a seed are reproducible, and another seed gives another schedule', async () => {
    const outcomes = async (seed: number): Promise<string[]> => {
      world.emulator.faults.setRandom({ rate: 0.4, seed, operations: ['DescribeProjects'] });
      const out: string[] = [];
      for (let i = 0; i < 30; i++) {
        out.push(await world.rekognition.send(new DescribeProjectsCommand({})).then(() => 'ok', (e: Error) => e.name));
      }
      return out;
    };
    const a = await outcomes(7);
    const b = await outcomes(7);
    const c = await outcomes(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).toContain('ok');
    expect(a.some((x) => x === 'ThrottlingException' || x === 'InternalServerError')).toBe(true);
    // operations outside the list are untouched
    await world.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: 'arn:aws:rekognition:us-east-1:123456789012:project/x/1' }))
      .catch((e: Error) => expect(e.name).toBe('ResourceNotFoundException'));
  });

  test('force.training sets the F1 score of matching versions and leaves others alone', async () => {
    world.emulator.force.training({ versionName: 'gate-*', f1: 0.42 });
    const forced = await trained(world.rekognition, world.clock, 'gate-1');
    const free = await trained(world.rekognition, world.clock, 'other');
    expect((await describeVersion(world.rekognition, forced.projectArn)).EvaluationResult!.F1Score).toBeCloseTo(0.42, 10);
    expect((await describeVersion(world.rekognition, free.projectArn)).EvaluationResult!.F1Score).not.toBeCloseTo(0.42, 3);
  });

  test('force.training with a failure code ends TRAINING_FAILED with the service message', async () => {
    world.emulator.force.training({ failure: { code: 'ERROR_MANIFEST_TOO_MANY_LABELS' } });
    const { projectArn } = await trained(world.rekognition, world.clock, 'doomed');
    expect(await describeVersion(world.rekognition, projectArn)).toMatchObject({
      Status: 'TRAINING_FAILED', StatusMessage: ERRORS.ERROR_MANIFEST_TOO_MANY_LABELS,
    });
  });

  test('force.start makes the start end FAILED and waitUntilProjectVersionRunning fail', async () => {
    world.emulator.force.start({ fail: true, message: 'no capacity' });
    const { projectArn, versionArn } = await trained(world.rekognition, world.clock, 'nostart');
    await world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 }));
    world.clock.advance(5 * 60_000);
    const waiter = { client: world.rekognition, maxWaitTime: 5, minDelay: 1, maxDelay: 1 };
    const err = await errorOf(waitUntilProjectVersionRunning(waiter, { ProjectArn: projectArn }));
    expect(err.message).toContain('FAILURE');
    expect(await describeVersion(world.rekognition, projectArn)).toMatchObject({ Status: 'FAILED', StatusMessage: 'no capacity' });
  });

  test('the meter: training seconds, and IU-seconds = virtual running time x units, nothing running after stop', async () => {
    const { projectArn, versionArn } = await trained(world.rekognition, world.clock, 'metered');
    const trainingSeconds = (await describeVersion(world.rekognition, projectArn)).BillableTrainingTimeInSeconds!;
    expect(trainingSeconds).toBe(30 * 60 + 2 * TRAIN_PER_LABEL * LABELS.length);
    await world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 2 }));
    world.clock.advance(5 * 60_000);
    await world.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn }));
    expect(world.emulator.usage().running).toContain(versionArn);
    world.clock.advance(3600_000);
    const during = world.emulator.usage().versions.find((v) => v.projectVersionArn === versionArn)!;
    expect(during.inferenceUnitSeconds).toBe(2 * 3600);
    await world.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: versionArn }));
    world.clock.advance(3600_000);
    const usage = world.emulator.usage();
    const after = usage.versions.find((v) => v.projectVersionArn === versionArn)!;
    expect(after).toEqual({ projectVersionArn: versionArn, trainingSeconds, inferenceUnitSeconds: 2 * 3600, status: 'STOPPED' });
    expect(usage.running).not.toContain(versionArn);
    const trainingTotal = usage.versions.reduce((s, v) => s + v.trainingSeconds, 0);
    const iuTotal = usage.versions.reduce((s, v) => s + v.inferenceUnitSeconds, 0);
    expect(usage.totals.dollars).toBeCloseTo(trainingTotal / 3600 * 1 + iuTotal / 3600 * 4, 9);
  });

  test('with stateDir the state and the models survive a restart', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rek-state-'));
    try {
      const clock = new VirtualClock({ start: T0, timeScale: 0 });
      const first = new RekognitionEmulator({ s3Endpoint: world.s3.endpoint, clock, stateDir });
      const firstClient = newClient(await first.listen());
      const { projectArn, versionArn } = await trained(firstClient, clock, 'kept');
      await firstClient.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 }));
      clock.advance(5 * 60_000);
      expect((await describeVersion(firstClient, projectArn)).Status).toBe('RUNNING');
      firstClient.destroy();
      await first.close();
      expect(fs.existsSync(path.join(stateDir, 'state.json'))).toBe(true);

      const second = new RekognitionEmulator({ s3Endpoint: world.s3.endpoint, clock, stateDir });
      const secondClient = newClient(await second.listen());
      const projects = await secondClient.send(new DescribeProjectsCommand({}));
      expect(projects.ProjectDescriptions!.map((p) => p.ProjectArn)).toContain(projectArn);
      expect((await describeVersion(secondClient, projectArn)).Status).toBe('RUNNING');
      const image = classificationSamples({ perLabel: 1, seed: 3, labels: ['red-circle'] })[0].bytes;
      const out = await secondClient.send(new DetectCustomLabelsCommand({
        ProjectVersionArn: versionArn, Image: { Bytes: image }, MinConfidence: 0,
      }));
      expect(out.CustomLabels!.map((l) => l.Name).sort()).toEqual([...LABELS].sort());
      secondClient.destroy();
      await second.close();
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
