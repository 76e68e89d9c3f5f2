import {
  CreateDatasetCommand, CreateProjectCommand, CreateProjectVersionCommand, DescribeProjectVersionsCommand, DetectCustomLabelsCommand,
  StartProjectVersionCommand, StopProjectVersionCommand, waitUntilProjectVersionRunning, waitUntilProjectVersionTrainingCompleted,
} from '@aws-sdk/client-rekognition';

import { VirtualClock } from '../../../lib/emulator';
import { detectionSamples } from '../../../lib/samples';
import { DATA_BUCKET, errorOf, OUTPUT_BUCKET, put, startWorld, T0, uploadClassification, uploadDetection, World } from '../helpers';

const WAIT = { maxWaitTime: 5, minDelay: 1, maxDelay: 1 };

describe('with timeScale Infinity every duration elapses at once', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ clock: new VirtualClock({ start: T0, timeScale: Infinity }) });
  });
  afterAll(async () => {
    await world.stop();
  });

  test('object detection: datasets -> train -> both waiters -> detect with Geometry -> stop', async () => {
    // GIVEN
    const ProjectArn = (await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'boxes' }))).ProjectArn!;
    const train = await uploadDetection(world, { images: 30, seed: 11, prefix: 'det-train' });
    const test = await uploadDetection(world, { images: 10, seed: 12, prefix: 'det-test' });
    for (const [type, lines] of [['TRAIN', train], ['TEST', test]] as const) {
      await put(world, `det-${type}.manifest`, lines.join('\n'));
      await world.rekognition.send(new CreateDatasetCommand({
        ProjectArn, DatasetType: type, DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: DATA_BUCKET, Name: `det-${type}.manifest` } } },
      }));
    }
    // WHEN
    const { ProjectVersionArn } = await world.rekognition.send(new CreateProjectVersionCommand({
      ProjectArn, VersionName: 'd1', OutputConfig: { S3Bucket: OUTPUT_BUCKET, S3KeyPrefix: 'det/' },
    }));
    const trained = await waitUntilProjectVersionTrainingCompleted({ client: world.rekognition, ...WAIT }, { ProjectArn, VersionNames: ['d1'] });
    await world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn, MinInferenceUnits: 1 }));
    const running = await waitUntilProjectVersionRunning({ client: world.rekognition, ...WAIT }, { ProjectArn, VersionNames: ['d1'] });
    const image = detectionSamples({ images: 1, seed: 99 })[0];
    const out = await world.rekognition.send(new DetectCustomLabelsCommand({ ProjectVersionArn, Image: { Bytes: image.bytes }, MinConfidence: 0 }));
    // THEN
    expect(trained.state).toBe('SUCCESS');
    expect(running.state).toBe('SUCCESS');
    expect(out.CustomLabels!.length).toBeGreaterThan(0);
    for (const label of out.CustomLabels!) {
      const box = label.Geometry!.BoundingBox!;
      expect(box.Width).toBeGreaterThan(0);
      expect(box.Left! + box.Width!).toBeLessThanOrEqual(1.01);
    }
    const version = (await world.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn }))).ProjectVersionDescriptions![0];
    expect(version.Status).toBe('RUNNING');
    expect(version.TrainingEndTimestamp!.getTime() - version.CreationTimestamp!.getTime()).toBe(30 * 60_000 + 2_000 * 30);
    await world.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn }));
  });

  test('legacy training from TrainingData/TestingData manifests with AutoCreate, only for a project without datasets', async () => {
    const ProjectArn = (await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'legacy' }))).ProjectArn!;
    const lines = await uploadClassification(world, { perLabel: 10, seed: 21, prefix: 'legacy' });
    await put(world, 'legacy.manifest', lines.join('\n'));
    const manifest = { GroundTruthManifest: { S3Object: { Bucket: DATA_BUCKET, Name: 'legacy.manifest' } } };
    const lonely = await errorOf(world.rekognition.send(new CreateProjectVersionCommand({
      ProjectArn, VersionName: 'x', OutputConfig: { S3Bucket: OUTPUT_BUCKET }, TrainingData: { Assets: [manifest] },
    })));
    expect(lonely.name).toBe('InvalidParameterException');
    expect(lonely.message).toBe('TrainingData and TestingData must be given together.');
    await world.rekognition.send(new CreateProjectVersionCommand({
      ProjectArn, VersionName: 'l1', OutputConfig: { S3Bucket: OUTPUT_BUCKET, S3KeyPrefix: 'legacy/' },
      TrainingData: { Assets: [manifest] }, TestingData: { AutoCreate: true },
    }));
    const waited = await waitUntilProjectVersionTrainingCompleted({ client: world.rekognition, ...WAIT }, { ProjectArn, VersionNames: ['l1'] });
    expect(waited.state).toBe('SUCCESS');
    const version = (await world.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn }))).ProjectVersionDescriptions![0];
    expect(version.TrainingDataResult!.Input!.Assets).toEqual([manifest]);
    expect(version.TestingDataResult!.Input!.AutoCreate).toBe(true);
    // 24 of the 30 lines are kept for training
    expect(version.BillableTrainingTimeInSeconds).toBe(30 * 60 + 2 * 24);
  });

  test('a project with no datasets and no manifests cannot train', async () => {
    const ProjectArn = (await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'empty' }))).ProjectArn!;
    const err = await errorOf(world.rekognition.send(new CreateProjectVersionCommand({ ProjectArn, VersionName: 'x', OutputConfig: { S3Bucket: OUTPUT_BUCKET } })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain('needs a TRAIN and a TEST dataset');
  });
});
