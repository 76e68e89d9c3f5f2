import {
  CreateDatasetCommand,
  CreateProjectCommand,
  CreateProjectVersionCommand,
  DeleteProjectCommand,
  DescribeDatasetCommand,
  DescribeProjectsCommand,
  DescribeProjectVersionsCommand,
  ProjectVersionStatus,
  RekognitionClient,
  StartProjectVersionCommand,
  StopProjectVersionCommand,
} from '@aws-sdk/client-rekognition';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { CdkCustomResourceEvent, CdkCustomResourceIsCompleteEvent } from 'aws-lambda';

import { isCompleteHandler, onEventHandler } from '../../../lambda/teardown/events';
import { projectNameOf, teardownStep, versionName } from '../../../lambda/teardown/teardown';
import { RekognitionEmulator, VirtualClock } from '../../../lib/emulator';
import { LocalS3, startLocalS3 } from '../../../lib/emulator/s3';
import { TeardownMode } from '../../../lib/project/teardown-contract';
import { classificationSamples } from '../../../lib/samples';

const BUCKET = 'teardown-data';
const OUTPUT = 'teardown-output';
const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

interface World { s3: LocalS3; emulator: RekognitionEmulator; clock: VirtualClock; client: RekognitionClient }
let world: World;
let trainManifest: string;
let testManifest: string;

beforeAll(async () => {
  const s3 = await startLocalS3({ buckets: [BUCKET, OUTPUT] });
  const clock = new VirtualClock({ start: T0, timeScale: 0 });
  const emulator = new RekognitionEmulator({ s3Endpoint: s3.endpoint, clock });
  const endpoint = await emulator.listen();
  const client = new RekognitionClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
  world = { s3, emulator, clock, client };

  // Two labels, 8 images each: 6 for training and 2 for testing per label.
  const samples = classificationSamples({ seed: 5, perLabel: 8, labels: ['red-circle', 'blue-square'] });
  const s3Client = s3.client();
  const lines: { train: string[]; test: string[] } = { train: [], test: [] };
  const seen = new Map<string, number>();
  for (const sample of samples) {
    const key = `images/${sample.relPath}`;
    await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: sample.bytes }));
    const label = sample.labels[0];
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    (n <= 6 ? lines.train : lines.test).push(JSON.stringify({
      'source-ref': `s3://${BUCKET}/${key}`,
      label: 1,
      'label-metadata': {
        confidence: 1, 'class-name': label, 'human-annotated': 'yes', 'creation-date': '2024-01-01T00:00:00', type: 'groundtruth/image-classification',
      },
    }));
  }
  trainManifest = 'manifests/train.manifest';
  testManifest = 'manifests/test.manifest';
  await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: trainManifest, Body: lines.train.join('\n') }));
  await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: testManifest, Body: lines.test.join('\n') }));
  s3Client.destroy();
});

afterAll(async () => {
  world.client.destroy();
  await world.emulator.close();
  await world.s3.stop();
});

afterEach(() => {
  world.emulator.faults.clear();
});

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new Error(`${what} missing`);
  return value;
}

async function createProject(name: string): Promise<string> {
  return required((await world.client.send(new CreateProjectCommand({ ProjectName: name }))).ProjectArn, 'ProjectArn');
}

/** Moves the virtual clock in steps until `done` holds (bounded, so a broken emulator fails the test instead of hanging). */
async function advanceUntil(done: () => Promise<boolean>, stepMs = MINUTE, maxSteps = 200): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (await done()) return;
    world.clock.advance(stepMs);
  }
  throw new Error('condition not reached');
}

async function versionStatuses(projectArn: string): Promise<Record<string, string>> {
  const out = await world.client.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn }));
  return Object.fromEntries((out.ProjectVersionDescriptions ?? []).map((v) => [versionName(v.ProjectVersionArn ?? ''), v.Status ?? '']));
}

async function datasetsOf(projectArn: string) {
  const out = await world.client.send(new DescribeProjectsCommand({ ProjectNames: [projectNameOf(projectArn)] }));
  return out.ProjectDescriptions?.find((p) => p.ProjectArn === projectArn)?.Datasets ?? [];
}

async function waitForVersion(projectArn: string, name: string, status: ProjectVersionStatus): Promise<void> {
  await advanceUntil(async () => (await versionStatuses(projectArn))[name] === status);
}

/**
 * A project with TRAIN and TEST datasets and three versions:
 * `running` (RUNNING), `stopped` (trained, started, stopped) and `training` (TRAINING_IN_PROGRESS).
 */
async function populatedProject(name: string): Promise<string> {
  const projectArn = await createProject(name);
  for (const [type, key] of [['TRAIN', trainManifest], ['TEST', testManifest]] as const) {
    const { DatasetArn } = await world.client.send(new CreateDatasetCommand({
      ProjectArn: projectArn, DatasetType: type, DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: key } } },
    }));
    await advanceUntil(async () => {
      const out = await world.client.send(new DescribeDatasetCommand({ DatasetArn }));
      return out.DatasetDescription?.Status === 'CREATE_COMPLETE';
    }, 10_000);
  }
  const train = (versionName: string) => world.client.send(new CreateProjectVersionCommand({
    ProjectArn: projectArn, VersionName: versionName, OutputConfig: { S3Bucket: OUTPUT, S3KeyPrefix: `${name}/` },
  }));
  const arnOf = async (version: string) => {
    const out = await world.client.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn, VersionNames: [version] }));
    return out.ProjectVersionDescriptions?.[0]?.ProjectVersionArn ?? '';
  };
  await train('running');
  await train('stopped');
  await waitForVersion(projectArn, 'stopped', 'TRAINING_COMPLETED');
  await waitForVersion(projectArn, 'running', 'TRAINING_COMPLETED');
  await world.client.send(new StartProjectVersionCommand({ ProjectVersionArn: await arnOf('running'), MinInferenceUnits: 1 }));
  await world.client.send(new StartProjectVersionCommand({ ProjectVersionArn: await arnOf('stopped'), MinInferenceUnits: 1 }));
  await waitForVersion(projectArn, 'stopped', 'RUNNING');
  await waitForVersion(projectArn, 'running', 'RUNNING');
  await world.client.send(new StopProjectVersionCommand({ ProjectVersionArn: await arnOf('stopped') }));
  await waitForVersion(projectArn, 'stopped', 'STOPPED');
  await train('training');
  expect(await versionStatuses(projectArn)).toEqual({ running: 'RUNNING', stopped: 'STOPPED', training: 'TRAINING_IN_PROGRESS' });
  expect((await datasetsOf(projectArn)).map((d) => d.DatasetType).sort()).toEqual(['TEST', 'TRAIN']);
  return projectArn;
}

function deleteEvent(projectArn: string, mode: TeardownMode, startedAt: number, timeoutSeconds = 6900): CdkCustomResourceIsCompleteEvent {
  return {
    RequestType: 'Delete',
    ServiceToken: 'token',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
    RequestId: 'request',
    LogicalResourceId: 'Teardown',
    ResourceType: 'Custom::CustomLabelsProjectTeardown',
    PhysicalResourceId: projectArn,
    ResourceProperties: { ServiceToken: 'token', ProjectArn: projectArn, Mode: mode, TimeoutSeconds: String(timeoutSeconds) },
    Data: { StartedAt: String(startedAt) },
  } as CdkCustomResourceIsCompleteEvent;
}

/** Polls isComplete the way the Provider framework does (every 30 s of virtual time) and returns the number of polls. */
async function pollUntilComplete(event: CdkCustomResourceIsCompleteEvent, logs: string[] = []): Promise<number> {
  for (let poll = 1; poll <= 240; poll++) {
    const result = await isCompleteHandler(event, world.client, world.clock.now(), (line) => logs.push(line));
    if (result.IsComplete) return poll;
    world.clock.advance(30_000);
  }
  throw new Error('teardown did not complete within 240 polls');
}

describe('teardown against the emulator', () => {
  test('DESTROY stops, waits out training, deletes every version and both datasets, so the project can be deleted', async () => {
    // GIVEN a project with a running, a stopped and a training version, and two datasets
    const projectArn = await populatedProject('destroy-me');
    const logs: string[] = [];
    // WHEN CloudFormation deletes the teardown resource
    const polls = await pollUntilComplete(deleteEvent(projectArn, 'DESTROY', world.clock.now()), logs);
    // THEN nothing is left but the empty project, which the service now lets CloudFormation delete
    expect(polls).toBeGreaterThan(1);
    expect(await versionStatuses(projectArn)).toEqual({});
    expect(await datasetsOf(projectArn)).toEqual([]);
    expect(world.emulator.usage().running).toEqual([]);
    expect(logs.join('\n')).toContain('StopProjectVersion running');
    expect(logs.join('\n')).toContain('version training is TRAINING_IN_PROGRESS');
    await expect(world.client.send(new DeleteProjectCommand({ ProjectArn: projectArn }))).resolves.toEqual(expect.objectContaining({ Status: 'DELETING' }));
  });

  test('RETAIN stops the running model and keeps every version and dataset', async () => {
    // GIVEN
    const projectArn = await populatedProject('retain-me');
    // WHEN
    await pollUntilComplete(deleteEvent(projectArn, 'RETAIN', world.clock.now()));
    // THEN nothing runs, the running model is stopped, the rest is untouched
    const statuses = await versionStatuses(projectArn);
    expect(statuses.running).toBe('STOPPED');
    expect(statuses.stopped).toBe('STOPPED');
    expect(['TRAINING_IN_PROGRESS', 'TRAINING_COMPLETED']).toContain(statuses.training);
    expect(world.emulator.usage().running.filter((arn) => arn.includes('/retain-me/'))).toEqual([]);
    expect((await datasetsOf(projectArn)).map((d) => d.DatasetType).sort()).toEqual(['TEST', 'TRAIN']);
  });

  test('a project that no longer exists is done at once (idempotent delete)', async () => {
    const gone = 'arn:aws:rekognition:us-east-1:123456789012:project/never-created/1700000000000';
    await expect(isCompleteHandler(deleteEvent(gone, 'DESTROY', world.clock.now()), world.client, world.clock.now(), () => undefined))
      .resolves.toEqual({ IsComplete: true });
  });

  test('an empty project under DESTROY is done on the first poll', async () => {
    const projectArn = await createProject('empty-one');
    await expect(teardownStep(world.client, projectArn, 'DESTROY')).resolves.toEqual({ done: true, actions: [], waitingFor: [] });
  });

  test('fails with what it still waits for once the time budget is spent', async () => {
    // GIVEN a version still training, and a Delete that started 2 hours ago with a 1 hour budget
    const projectArn = await createProject('slow-training');
    await world.client.send(new CreateDatasetCommand({
      ProjectArn: projectArn, DatasetType: 'TRAIN', DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: trainManifest } } },
    }));
    await world.client.send(new CreateDatasetCommand({
      ProjectArn: projectArn, DatasetType: 'TEST', DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: BUCKET, Name: testManifest } } },
    }));
    world.clock.advance(5 * MINUTE);
    await world.client.send(new CreateProjectVersionCommand({ ProjectArn: projectArn, VersionName: 'v1', OutputConfig: { S3Bucket: OUTPUT } }));
    const event = deleteEvent(projectArn, 'DESTROY', world.clock.now() - 2 * 3600_000, 3600);
    // WHEN / THEN
    await expect(isCompleteHandler(event, world.client, world.clock.now(), () => undefined)).rejects.toThrow(
      `Teardown of ${projectArn} (DESTROY) did not finish within 60 min; still waiting for: version v1 is TRAINING_IN_PROGRESS`);
  });

  test('surfaces the service\'s own error message', async () => {
    const projectArn = await createProject('denied');
    world.emulator.faults.add({ operation: 'DescribeProjectVersions', error: 'AccessDeniedException', message: 'User: x is not authorized' });
    await expect(teardownStep(world.client, projectArn, 'RETAIN'))
      .rejects.toThrow(`DescribeProjectVersions (${projectArn}) failed: AccessDeniedException: User: x is not authorized`);
  });

  test('a throttled call is retried by the SDK and the step goes on', async () => {
    const projectArn = await createProject('throttled');
    world.emulator.faults.add({ operation: 'DescribeProjectVersions', error: 'ThrottlingException', message: 'Slow down', times: 2 });
    await expect(teardownStep(world.client, projectArn, 'DESTROY')).resolves.toEqual({ done: true, actions: [], waitingFor: [] });
  });
});

describe('teardown events', () => {
  const arn = 'arn:aws:rekognition:us-east-1:123456789012:project/p/1700000000000';
  const base = {
    ServiceToken: 'token', ResponseURL: 'https://example.invalid', StackId: 'stack', RequestId: 'r', LogicalResourceId: 'Teardown',
    ResourceType: 'Custom::CustomLabelsProjectTeardown',
  };

  test('Create names the resource after the project and calls nothing', async () => {
    const event = { ...base, RequestType: 'Create', ResourceProperties: { ServiceToken: 'token', ProjectArn: arn, Mode: 'RETAIN', TimeoutSeconds: '60' } };
    await expect(onEventHandler(event as CdkCustomResourceEvent)).resolves.toEqual({ PhysicalResourceId: arn });
  });

  test('Update to another project returns a new physical id, so CloudFormation tears the old one down', async () => {
    const other = 'arn:aws:rekognition:us-east-1:123456789012:project/q/1700000000001';
    const event = {
      ...base, RequestType: 'Update', PhysicalResourceId: arn,
      ResourceProperties: { ServiceToken: 'token', ProjectArn: other, Mode: 'DESTROY', TimeoutSeconds: '60' },
      OldResourceProperties: { ServiceToken: 'token', ProjectArn: arn, Mode: 'DESTROY', TimeoutSeconds: '60' },
    };
    await expect(onEventHandler(event as CdkCustomResourceEvent)).resolves.toEqual({ PhysicalResourceId: other });
  });

  test('Create with bad properties fails naming the property', async () => {
    const event = { ...base, RequestType: 'Create', ResourceProperties: { ServiceToken: 'token', ProjectArn: arn, Mode: 'SOMETIMES' } };
    await expect(onEventHandler(event as CdkCustomResourceEvent)).rejects.toThrow('Mode must be one of RETAIN, DESTROY, got: "SOMETIMES"');
  });

  test('Delete keeps the physical id and stamps its start time for the time budget', async () => {
    const event = { ...base, RequestType: 'Delete', PhysicalResourceId: arn, ResourceProperties: { ServiceToken: 'token', ProjectArn: arn, Mode: 'RETAIN' } };
    await expect(onEventHandler(event as CdkCustomResourceEvent, 1234)).resolves.toEqual({ PhysicalResourceId: arn, Data: { StartedAt: '1234' } });
  });

  test('isComplete of a Delete whose Create failed (placeholder physical id) is complete without calling the service', async () => {
    const event = deleteEvent('request-id-placeholder', 'DESTROY', 0);
    const unreachable = new RekognitionClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    await expect(isCompleteHandler(event, unreachable, 0, () => undefined)).resolves.toEqual({ IsComplete: true });
    unreachable.destroy();
  });

  test('isComplete of Create and Update is complete at once', async () => {
    const event = { ...deleteEvent(arn, 'RETAIN', 0), RequestType: 'Create' } as CdkCustomResourceIsCompleteEvent;
    await expect(isCompleteHandler(event, world.client, 0, () => undefined)).resolves.toEqual({ IsComplete: true });
  });
});

describe('ARN helpers', () => {
  test('versionName reads the name of a version ARN', () => {
    expect(versionName('arn:aws:rekognition:us-east-1:123456789012:project/p/version/v0.1_a/1574317227432')).toBe('v0.1_a');
    expect(versionName('not-an-arn')).toBe('not-an-arn');
  });

  test('projectNameOf reads the name of a project ARN and rejects anything else', () => {
    expect(projectNameOf('arn:aws:rekognition:us-east-1:123456789012:project/my.project-1/1574317227432')).toBe('my.project-1');
    expect(() => projectNameOf('arn:aws:s3:::bucket')).toThrow('Not a project ARN: arn:aws:s3:::bucket');
  });
});
