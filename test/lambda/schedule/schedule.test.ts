import { Rekognition, RekognitionClient, StartProjectVersionCommand } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { release as batchRelease } from '../../../lambda/batch/batch';
import { leaseKey } from '../../../lambda/batch/lease';
import { Clients, guard, ScheduleError, start, startStatus, stop, stopStatus } from '../../../lambda/schedule/schedule';
import { BatchSettings, LeaseDocument } from '../../../lib/batch/contracts';
import { LocalCloud, startLocalCloud } from '../../../lib/emulator/local-cloud';
import { classificationSamples } from '../../../lib/samples/shapes';
import { Ledger, ScheduleSettings, StopResult } from '../../../lib/schedule/contracts';

// The schedule's function against the Rekognition emulator and local S3: real versions, real lease documents, the
// emulator's usage meter. Its clock moves only when the test advances it.
const PROJECT = 'schedule-shapes';
const DATA = 'data';
const OWN = 'schedule-own';
const RESULTS = 'batch-results';
const MIN = 60_000;

let cloud: LocalCloud;
let clients: Clients;
let rekognition: RekognitionClient;
let s3: S3Client;
let versionArn: string;
let projectArn: string;

const settings = (extra: Partial<ScheduleSettings> = {}): ScheduleSettings => ({
  holder: 'Stack/OfficeHours', projectArn, bucket: OWN, batchLeases: [{ bucket: RESULTS, prefix: 'out/' }], minInferenceUnits: 1,
  timeZone: 'Europe/Berlin', guardSeconds: 300, holdSeconds: 8 * 86400, ...extra,
});
const batchSettings: BatchSettings = { projectArn: '', outputBucket: RESULTS, outputPrefix: 'out/', minInferenceUnits: 1, leaseSeconds: 86400,
  stopWhenIdleSeconds: 900 };

async function json<T>(bucket: string, key: string): Promise<T> {
  return JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()) as T;
}
const lease = (bucket: string, prefix: string): Promise<LeaseDocument> => json(bucket, leaseKey({ s3, bucket, prefix }, versionArn));
const advance = async (ms: number): Promise<void> => {
  cloud.clock.advance(ms);
  await cloud.emulator.idle();
};
const running = (): string[] => cloud.emulator.usage().running;
const operations: string[] = [];

/** Starts the model through the schedule and waits for RUNNING as the state machine does. */
async function startRunning(s: ScheduleSettings): Promise<void> {
  let result = await start(versionArn, s, clients);
  while (result.status !== 'RUNNING') {
    await advance(30_000);
    result = await startStatus(versionArn, result.checks, s, clients);
  }
}

/** Waits for STOPPED as the state machine does; returns the last result. */
async function waitStopped(first: Awaited<ReturnType<typeof stop>>, s: ScheduleSettings) {
  let result = first;
  while (result.stopping) {
    await advance(30_000);
    result = await stopStatus(versionArn, result.checks, s, clients, result.alarm);
  }
  return result;
}

beforeAll(async () => {
  cloud = await startLocalCloud({ timeScale: 0, buckets: [DATA, OWN, RESULTS], log: (l) => operations.push(l) });
  const config = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };
  rekognition = new RekognitionClient({ ...config, endpoint: cloud.rekognitionEndpoint });
  s3 = new S3Client({ ...config, endpoint: cloud.s3Endpoint, forcePathStyle: true });
  clients = { rekognition, s3, now: () => cloud.clock.now() };
  // A trained version, made directly in the emulator.
  for (const [name, seed] of [['train', 11], ['test', 12]] as const) {
    const lines: string[] = [];
    for (const s of classificationSamples({ perLabel: 3, seed })) {
      await s3.send(new PutObjectCommand({ Bucket: DATA, Key: `${name}/${s.relPath}`, Body: s.bytes }));
      lines.push(JSON.stringify({ 'source-ref': `s3://${DATA}/${name}/${s.relPath}`, 'shape': 0, 'shape-metadata': { 'class-name': s.labels[0],
        'confidence': 1, 'type': 'groundtruth/image-classification', 'human-annotated': 'yes', 'creation-date': '2026-01-01T00:00:00.000',
        'job-name': 'shape' } }));
    }
    await s3.send(new PutObjectCommand({ Bucket: DATA, Key: `${name}.manifest`, Body: lines.join('\n') }));
  }
  const api = new Rekognition({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, endpoint: cloud.rekognitionEndpoint });
  projectArn = (await api.createProject({ ProjectName: PROJECT })).ProjectArn!;
  for (const type of ['TRAIN', 'TEST'] as const) {
    await api.createDataset({ ProjectArn: projectArn, DatasetType: type,
      DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: DATA, Name: `${type.toLowerCase()}.manifest` } } } });
  }
  await advance(MIN);
  versionArn = (await api.createProjectVersion({ ProjectArn: projectArn, VersionName: 'v1', OutputConfig: { S3Bucket: DATA, S3KeyPrefix: 'out/' } }))
    .ProjectVersionArn!;
  await advance(24 * 3600_000);
  // The next Monday 07:00 UTC (08:00 in Berlin in winter, 09:00 in summer): the clock starts at the real time, and a day's
  // budget counted across midnight in Berlin started afresh (the guard test failed when run after about 22:30 UTC).
  const monday = new Date(cloud.clock.now());
  monday.setUTCHours(7, 0, 0, 0);
  while (monday.getUTCDay() !== 1 || monday.getTime() < cloud.clock.now()) monday.setUTCDate(monday.getUTCDate() + 1);
  await advance(monday.getTime() - cloud.clock.now());
});

afterAll(async () => {
  await cloud?.stop();
});

describe('ModelSchedule function against the emulator', () => {
  test('start: holds the model in every lease, starts it once, and a second start while it runs does nothing', async () => {
    const s = settings();
    const first = await start(versionArn, s, clients);
    expect(first).toMatchObject({ status: 'STARTING', started: true, refused: false, checks: 1 });
    for (const [bucket, prefix] of [[OWN, ''], [RESULTS, 'out/']]) {
      expect(await lease(bucket, prefix)).toMatchObject({ holders: { 'Stack/OfficeHours': expect.any(Object) }, startedByLease: true });
    }
    expect((await startStatus(versionArn, 1, s, clients)).status).toBe('STARTING');
    await advance(5 * MIN);
    expect(await startStatus(versionArn, 2, s, clients)).toMatchObject({ status: 'RUNNING', started: false, checks: 3 });
    const starts = operations.filter((l) => l.includes('StartProjectVersion 200')).length;
    expect(await start(versionArn, s, clients)).toMatchObject({ status: 'RUNNING', started: false });
    expect(operations.filter((l) => l.includes('StartProjectVersion 200')).length).toBe(starts);
    expect(running()).toEqual([versionArn]);
  });

  test('stop: releases the hold, stops the model and waits for STOPPED; the leases say nobody holds it', async () => {
    const s = settings();
    const first = await stop(versionArn, s, clients);
    expect(first).toMatchObject({ status: 'STOPPING', stopping: true, checks: 0 });
    expect((await lease(RESULTS, 'out/')).stoppingUntil).toBeGreaterThan(cloud.clock.now());
    // Still STOPPING at once: the loop goes on.
    expect(await stopStatus(versionArn, 0, s, clients)).toMatchObject({ status: 'STOPPING', stopping: true, checks: 1 });
    const last = await waitStopped(first, s);
    expect(last).toMatchObject({ status: 'STOPPED', stopping: false });
    expect(running()).toEqual([]);
    for (const [bucket, prefix] of [[OWN, ''], [RESULTS, 'out/']]) {
      const doc = await lease(bucket, prefix);
      expect(doc).toMatchObject({ holders: {}, startedByLease: false });
      expect(doc.stoppingUntil).toBeUndefined();
    }
    // A stop outside a window, with the model stopped: nothing to wait for.
    expect(await stop(versionArn, s, clients)).toMatchObject({ status: 'STOPPED', stopping: false });
  });

  test('shared with a batch: a window that ends during a batch leaves the model to it, and the batch\'s release then stops it', async () => {
    const s = settings();
    await startRunning(s);
    // A batch takes the lease as BatchAnalysis does.
    const doc = await lease(RESULTS, 'out/');
    await s3.send(new PutObjectCommand({ Bucket: RESULTS, Key: leaseKey({ s3, bucket: RESULTS, prefix: 'out/' }, versionArn),
      Body: JSON.stringify({ ...doc, holders: { ...doc.holders, 'run-1': { expiresAt: cloud.clock.now() + 3600_000 } } }) }));
    expect(await stop(versionArn, s, clients)).toMatchObject({ status: 'RUNNING', stopping: false, leftTo: ['run-1'] });
    expect(running()).toEqual([versionArn]);
    // The batch ends: it was the last holder, and the lease started the model, so it stops it after its idle delay.
    expect(await batchRelease(versionArn, 'run-1', { ...batchSettings, projectArn }, { rekognition, s3 })).toEqual({ idle: true });
  });

  test('shared with a batch: a batch that ends inside a window does not stop the model', async () => {
    const s = settings();
    // The previous test left the model running and the batch's release pending its idle stop: the window opens again.
    await startRunning(s);
    const doc = await lease(RESULTS, 'out/');
    await s3.send(new PutObjectCommand({ Bucket: RESULTS, Key: leaseKey({ s3, bucket: RESULTS, prefix: 'out/' }, versionArn),
      Body: JSON.stringify({ ...doc, holders: { ...doc.holders, 'run-2': { expiresAt: cloud.clock.now() + 3600_000 } } }) }));
    expect(await batchRelease(versionArn, 'run-2', { ...batchSettings, projectArn }, { rekognition, s3 })).toEqual({ idle: false });
    await waitStopped(await stop(versionArn, s, clients), s);
    expect(running()).toEqual([]);
  });

  test('guard: the budget stops the model (whoever holds it) before the day\'s inference-unit hours reach it, with an alarm; the next window is refused', async () => {
    const s = settings({ dailyInferenceUnitHoursBudget: 0.5, maxInferenceUnits: 2 });
    await startRunning(s);
    // Started with MaxInferenceUnits 2: each 5-minute run counts 10 unit-minutes; the 2nd run (20) sees 30 at the next.
    const seen: StopResult[] = [];
    for (let i = 0; i < 4 && !seen.some((r) => r.stopping); i++) {
      await advance(5 * MIN);
      seen.push(await guard(versionArn, s, clients));
    }
    expect(seen.map((r) => r.stopping)).toEqual([false, true]);
    const ledger = await json<Ledger>(OWN, 'ledger.json');
    expect(ledger).toMatchObject({ unitSeconds: 2 * 300 * 2, units: 2, status: 'RUNNING', versionArn });
    const last = await waitStopped(seen[1], s);
    expect(last.status).toBe('STOPPED');
    expect(last.alarm).toBe(`ModelSchedule Stack/OfficeHours stopped ${versionArn}: today's inference-unit hours (Europe/Berlin) are 0.33 and would `
      + 'reach the dailyInferenceUnitHoursBudget (0.5) by the next check (counted as running time × 2 units, an upper bound)');
    expect(running()).toEqual([]);
    const refused = await start(versionArn, s, clients);
    expect(refused).toMatchObject({ refused: true, started: false, status: 'STOPPED' });
    expect(refused.alarm).toContain('did not start');
    expect(running()).toEqual([]);
  });

  test('guard: maxRunningTime stops a model someone started by hand', async () => {
    // A new day in Berlin (the budget starts over), a start by hand: the schedule does not hold it.
    await advance(24 * 3600_000);
    // The guard runs all along (here once while the model is stopped).
    expect(await guard(versionArn, settings(), clients)).toMatchObject({ status: 'STOPPED', stopping: false });
    await rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 }));
    await advance(5 * MIN);
    const s = settings({ maxRunningSeconds: 1800 });
    const stops: StopResult[] = [];
    for (let i = 0; i < 8 && !stops.some((r) => r.stopping); i++) {
      stops.push(await guard(versionArn, s, clients));
      await advance(5 * MIN);
    }
    // Counted from the run that last saw it stopped: the 5th run (25 minutes) sees 30 at the next.
    expect(stops.map((r) => r.stopping)).toEqual([false, false, false, false, true]);
    expect(stops[4].alarm).toMatch(/has run 0\.42 hours without a break and would reach maxRunningTime \(0\.5 hours\)/);
    expect((await waitStopped(stops[4], s)).status).toBe('STOPPED');
  });

  test('a stop that fails: the service\'s refusal, and a model that is not STOPPED after the stop, fail with the service\'s words', async () => {
    const s = settings();
    await startRunning(s);
    cloud.emulator.faults.add({ operation: 'StopProjectVersion', error: 'ResourceInUseException', message: 'The version is busy', times: 1 });
    await expect(stop(versionArn, s, clients)).rejects.toMatchObject({ name: 'ResourceInUseException', message: 'The version is busy' });
    const first = await stop(versionArn, s, clients);
    expect(first.stopping).toBe(true);
    await advance(2 * MIN);
    // Someone starts it again before the loop sees STOPPED.
    await rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 }));
    const failed = await stopStatus(versionArn, first.checks, s, clients).catch((e: unknown) => e as Error);
    expect(failed).toBeInstanceOf(ScheduleError);
    expect([(failed as Error).name, (failed as Error).message]).toEqual(['ModelStopFailed',
      expect.stringMatching(new RegExp(`^The model version ${versionArn} is STARTING after StopProjectVersion, not STOPPED`))]);
    await advance(5 * MIN);
    await waitStopped(await stop(versionArn, s, clients), s);
    expect(running()).toEqual([]);
  });

  test('no version serves yet: a start fails with ModelNotAvailable, a stop and a guard run do nothing', async () => {
    await expect(start('none', settings(), clients)).rejects.toMatchObject({ name: 'ModelNotAvailable' });
    expect(await stop('none', settings(), clients)).toMatchObject({ stopping: false });
    expect(await guard('none', settings(), clients)).toMatchObject({ stopping: false });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: OWN }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(['ledger.json', leaseKey({ s3, bucket: OWN, prefix: '' }, versionArn)].sort());
  });
});
