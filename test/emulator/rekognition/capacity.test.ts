import {
  CreateDatasetCommand, CreateProjectCommand, CreateProjectVersionCommand, DetectCustomLabelsCommand, RekognitionClient, StartProjectVersionCommand,
  StopProjectVersionCommand,
} from '@aws-sdk/client-rekognition';

import { SCALING } from '../../../lib/emulator';
import { VirtualTimeDriver } from '../../../lib/runner/virtual-time';
import { classificationSamples } from '../../../lib/samples';
import { DATA_BUCKET, errorOf, OUTPUT_BUCKET, put, startWorld, uploadClassification, World } from '../helpers';

// A model's capacity in virtual time: calls per second per inference unit, a latency per call, auto scaling between
// MinInferenceUnits and MaxInferenceUnits, and the meter that bills each unit while it serves.
describe('model capacity', () => {
  let world: World;
  let projectArn: string;
  let versionArn: string;
  const image = classificationSamples({ perLabel: 1, seed: 5, labels: ['red-circle'] })[0].bytes;

  beforeAll(async () => {
    world = await startWorld({ modelCapacity: [{ projectName: 'cap', tpsPerInferenceUnit: 4, latencyMs: 250 }] });
    const train = await uploadClassification(world, { perLabel: 4, seed: 31, prefix: 'cap-train', labels: ['red-circle', 'blue-square'] });
    const test = await uploadClassification(world, { perLabel: 2, seed: 32, prefix: 'cap-test', labels: ['red-circle', 'blue-square'] });
    await put(world, 'cap-train.manifest', train.join('\n'));
    await put(world, 'cap-test.manifest', test.join('\n'));
    projectArn = (await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'cap' }))).ProjectArn!;
    for (const type of ['TRAIN', 'TEST'] as const) {
      await world.rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: type,
        DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: DATA_BUCKET, Name: `cap-${type.toLowerCase()}.manifest` } } } }));
    }
    world.clock.advance(60_000);
    versionArn = (await world.rekognition.send(new CreateProjectVersionCommand({ ProjectArn: projectArn, VersionName: 'v1',
      OutputConfig: { S3Bucket: OUTPUT_BUCKET, S3KeyPrefix: 'cap/' } }))).ProjectVersionArn!;
    world.clock.advance(24 * 3600_000);
  });
  afterAll(async () => world.stop());

  const detect = (client: RekognitionClient = world.rekognition) => client.send(new DetectCustomLabelsCommand({ ProjectVersionArn: versionArn,
    Image: { Bytes: image } }));

  test('1 unit takes 4 calls in a virtual second; the 5th is refused with the service\'s error; a second later there is room again', async () => {
    await world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 }));
    world.clock.advance(5 * 60_000);
    const driver = new VirtualTimeDriver(world.clock);
    try {
      const t0 = world.clock.now();
      // Four at once: each takes the model's 250 ms latency, in parallel.
      const first = await Promise.all([1, 2, 3, 4].map(() => detect()));
      expect(first.every((r) => (r.CustomLabels ?? []).length > 0)).toBe(true);
      expect(world.clock.now() - t0).toBe(250);
      const refused = await errorOf(detect());
      expect([refused.name, refused.message, refused.$metadata?.httpStatusCode]).toEqual(['ProvisionedThroughputExceededException',
        'The request rate exceeds the 4 transactions per second of the model\'s 1 inference unit(s).', 400]);
      await world.clock.sleep(750);
      await expect(detect()).resolves.toHaveProperty('CustomLabels');
    } finally {
      driver.close();
    }
    await world.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: versionArn }));
    world.clock.advance(60_000);
  });

  test('a client outside the runner backs off on the wall clock: with the virtual clock stopped, a wall-clock second makes room', async () => {
    world.emulator.capacity.set({ projectName: 'cap', tpsPerInferenceUnit: 4, latencyMs: 0 });
    await world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 }));
    world.clock.advance(5 * 60_000);
    try {
      const stopped = world.clock.now();
      await Promise.all([1, 2, 3, 4].map(() => detect()));
      expect((await errorOf(detect())).name).toBe('ProvisionedThroughputExceededException');
      // No virtual time passes (no driver, nothing advances the clock): only the wall clock moves.
      await new Promise((resolve) => setTimeout(resolve, 1050));
      expect(world.clock.now()).toBe(stopped);
      await expect(detect()).resolves.toHaveProperty('CustomLabels');
      // Four more in the same wall-clock second fill it again: the rate is AWS's, not unlimited.
      await Promise.all([1, 2, 3].map(() => detect()));
      expect((await errorOf(detect())).name).toBe('ProvisionedThroughputExceededException');
    } finally {
      world.emulator.capacity.set({ projectName: 'cap', tpsPerInferenceUnit: 4, latencyMs: 250 });
    }
    await world.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: versionArn }));
    world.clock.advance(60_000);
  });

  test('virtualClockOnly: only virtual time makes room (callers paced on the virtual clock, on a machine too slow to fill a wall-clock second)', async () => {
    world.emulator.capacity.set({ projectName: 'cap', tpsPerInferenceUnit: 4, latencyMs: 0 });
    world.emulator.capacity.virtualClockOnly(true);
    await world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 }));
    world.clock.advance(5 * 60_000);
    try {
      await Promise.all([1, 2, 3, 4].map(() => detect()));
      // A wall-clock second passes, the virtual second does not: still refused.
      await new Promise((resolve) => setTimeout(resolve, 1050));
      expect((await errorOf(detect())).name).toBe('ProvisionedThroughputExceededException');
      world.clock.advance(1000);
      await expect(detect()).resolves.toHaveProperty('CustomLabels');
    } finally {
      world.emulator.capacity.virtualClockOnly(false);
      world.emulator.capacity.set({ projectName: 'cap', tpsPerInferenceUnit: 4, latencyMs: 250 });
    }
    await world.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: versionArn }));
    world.clock.advance(60_000);
  });

  test('auto scaling adds units under refused load (serving 5 minutes later) and removes them 15 minutes after the load; the meter bills each unit', async () => {
    // Answers at once here: the test moves the clock itself.
    world.emulator.capacity.set({ projectName: 'cap', tpsPerInferenceUnit: 4 });
    const before = world.emulator.usage().totals.inferenceUnitHours;
    await world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1, MaxInferenceUnits: 3 }));
    world.clock.advance(5 * 60_000);
    const started = world.clock.now();
    // One minute of 10 calls per second against a capacity of 4: most are refused.
    const outcomes = { ok: 0, refused: 0 };
    for (let second = 0; second < 60; second++) {
      for (let i = 0; i < 10; i++) {
        await detect().then(() => { outcomes.ok += 1; }, (e: Error) => { if (e.name === 'ProvisionedThroughputExceededException') outcomes.refused += 1; });
      }
      world.clock.advance(1000);
    }
    expect(outcomes).toEqual({ ok: 240, refused: 360 });
    // The evaluation at 1 min asks for ceil(10 / 4) = 3 units; they serve from 6 min.
    world.clock.advance(SCALING.scaleUpDelayMs);
    const burst = await Promise.allSettled(Array.from({ length: 12 }, () => detect()));
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(12);
    // No more load: 15 minutes later the busiest second fits 2 units, then 1.
    world.clock.advance(40 * 60_000);
    const meterHours = world.emulator.usage().totals.inferenceUnitHours - before;
    // 6 min x 1 unit, then 3 units from 6 min until the first scale-down evaluation past 15 min of quiet, then 2, then 1.
    const minutes = (world.clock.now() - started) / 60_000;
    expect(minutes).toBe(46);
    // 6 x 1 + 16 x 3 (6..22 min: the burst at 6 min keeps the window busy until 21 min, first evaluation after is 22) + 1 x 2 + 23 x 1
    expect(meterHours * 60).toBeCloseTo(6 + 16 * 3 + 1 * 2 + 23, 6);
    await world.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: versionArn }));
  });
});
