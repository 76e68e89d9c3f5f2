import {
  CopyProjectVersionCommand, CreateDatasetCommand, CreateProjectCommand, CreateProjectVersionCommand, DeleteProjectCommand,
  DeleteProjectVersionCommand, DescribeProjectVersionsCommand, DetectCustomLabelsCommand, ProjectVersionDescription,
  StartProjectVersionCommand, StopProjectVersionCommand, waitUntilProjectVersionRunning, waitUntilProjectVersionTrainingCompleted,
} from '@aws-sdk/client-rekognition';
import { GetObjectCommand } from '@aws-sdk/client-s3';

import { ERRORS } from '../../../lib/manifest/types';
import { classificationSamples, renderPng } from '../../../lib/samples';
import { DATA_BUCKET, errorOf, OUTPUT_BUCKET, put, startWorld, uploadClassification, World } from '../helpers';

const PER_LABEL_TRAIN = 10;
const LABELS = 3;
const TRAINING_MS = 30 * 60_000 + 2_000 * PER_LABEL_TRAIN * LABELS;

describe('model versions over the wire: training, evaluation files, start/stop, detect, copy, delete', () => {
  let world: World;
  let projectArn: string;
  let versionArn: string;

  async function describeVersion(arn: string, project = projectArn): Promise<ProjectVersionDescription> {
    const name = arn.split('/')[3];
    const out = await world.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: project, VersionNames: [name] }));
    return out.ProjectVersionDescriptions![0];
  }

  async function readOutput(key: string): Promise<string> {
    const out = await world.s3Client.send(new GetObjectCommand({ Bucket: OUTPUT_BUCKET, Key: key }));
    return out.Body!.transformToString();
  }

  async function datasetsFrom(project: string, train: string[], test: string[], tag: string): Promise<void> {
    for (const [type, lines] of [['TRAIN', train], ['TEST', test]] as const) {
      const key = `manifests/${tag}-${type}.manifest`;
      await put(world, key, lines.join('\n'));
      await world.rekognition.send(new CreateDatasetCommand({
        ProjectArn: project, DatasetType: type, DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: DATA_BUCKET, Name: key } } },
      }));
    }
    world.clock.advance(60_000);
  }

  beforeAll(async () => {
    world = await startWorld({ tpsPerInferenceUnit: 2 });
    projectArn = (await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'shapes' }))).ProjectArn!;
    const train = await uploadClassification(world, { perLabel: PER_LABEL_TRAIN, seed: 1, prefix: 'train' });
    const test = await uploadClassification(world, { perLabel: 5, seed: 2, prefix: 'test' });
    await datasetsFrom(projectArn, train, test, 'shapes');
  });
  afterAll(async () => {
    await world.stop();
  });

  test('CreateProjectVersion trains: TRAINING_IN_PROGRESS until 30 min + 2 s per image, then TRAINING_COMPLETED', async () => {
    // WHEN
    const started = world.clock.now();
    versionArn = (await world.rekognition.send(new CreateProjectVersionCommand({
      ProjectArn: projectArn, VersionName: 'v1', OutputConfig: { S3Bucket: OUTPUT_BUCKET, S3KeyPrefix: 'eval/' }, VersionDescription: 'first try',
    }))).ProjectVersionArn!;
    // THEN
    expect(versionArn).toBe(`arn:aws:rekognition:us-east-1:123456789012:project/shapes/version/v1/${started}`);
    expect((await describeVersion(versionArn)).Status).toBe('TRAINING_IN_PROGRESS');
    const dup = await errorOf(world.rekognition.send(new CreateProjectVersionCommand({
      ProjectArn: projectArn, VersionName: 'v1', OutputConfig: { S3Bucket: OUTPUT_BUCKET },
    })));
    expect(dup.name).toBe('ResourceInUseException');
    expect((await errorOf(world.rekognition.send(new DeleteProjectVersionCommand({ ProjectVersionArn: versionArn })))).name).toBe('ResourceInUseException');
    world.clock.advance(TRAINING_MS - 1);
    await world.emulator.idle();
    expect((await describeVersion(versionArn)).Status).toBe('TRAINING_IN_PROGRESS');
    world.clock.advance(1);
    const done = await describeVersion(versionArn);
    expect(done).toMatchObject({
      Status: 'TRAINING_COMPLETED',
      BillableTrainingTimeInSeconds: TRAINING_MS / 1000,
      OutputConfig: { S3Bucket: OUTPUT_BUCKET, S3KeyPrefix: 'eval/' },
      VersionDescription: 'first try',
      EvaluationResult: { Summary: { S3Object: { Bucket: OUTPUT_BUCKET, Name: 'eval/EvaluationResultSummary-shapes-v1.json' } } },
      ManifestSummary: { S3Object: { Bucket: OUTPUT_BUCKET, Name: 'eval/manifest_summary.json' } },
    });
    expect(done.TrainingEndTimestamp!.getTime()).toBe(started + TRAINING_MS);
    expect(done.EvaluationResult!.F1Score).toBeGreaterThan(0.8);
    expect(done.TrainingDataResult!.Validation!.Assets![0].GroundTruthManifest!.S3Object!.Name).toBe('eval/training_manifest_with_validation.json');
    expect(done.TestingDataResult!.Validation!.Assets![0].GroundTruthManifest!.S3Object!.Name).toBe('eval/testing_manifest_with_validation.json');
  });

  test('the evaluation files are in S3 with the documented layout', async () => {
    const summary = JSON.parse(await readOutput('eval/EvaluationResultSummary-shapes-v1.json'));
    expect(summary.Version).toBe(1);
    expect(summary.EvaluationDetails).toMatchObject({ ProjectVersionArn: versionArn, NumberOfTrainingImages: 30, NumberOfTestingImages: 15 });
    expect(summary.LabelEvaluationResults).toHaveLength(LABELS);
    const version = await describeVersion(versionArn);
    expect(summary.AggregatedEvaluationResults.Metrics.F1Score).toBeCloseTo(version.EvaluationResult!.F1Score!, 6);
    const manifestSummary = JSON.parse(await readOutput('eval/manifest_summary.json'));
    expect(manifestSummary.statistics.training).toMatchObject({ use_case: 'IMAGE_LEVEL_LABELS', total_json_lines: 30, valid_json_lines: 30, errors: [] });
    expect(manifestSummary.statistics.testing).toMatchObject({ total_json_lines: 15, valid_json_lines: 15, error_json_line_indices: [] });
    expect(manifestSummary.errors).toEqual([]);
    expect((await readOutput('eval/training_manifest_with_validation.json')).split('\n')).toHaveLength(30);
    const testingOutput = (await readOutput('eval/testing_output.manifest')).trim().split('\n');
    expect(testingOutput).toHaveLength(15);
    expect(JSON.parse(testingOutput[0])).toHaveProperty('rekognition-custom-labels-training-0');
  });

  test('DetectCustomLabels before RUNNING is ResourceNotReady', async () => {
    const image = classificationSamples({ perLabel: 1, seed: 9 })[0].bytes;
    const err = await errorOf(world.rekognition.send(new DetectCustomLabelsCommand({ ProjectVersionArn: versionArn, Image: { Bytes: image } })));
    expect(err.name).toBe('ResourceNotReadyException');
  });

  test('StartProjectVersion goes STARTING, and waitUntilProjectVersionRunning succeeds once 5 min have passed', async () => {
    const out = await world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 10 }));
    expect(out.Status).toBe('STARTING');
    expect((await describeVersion(versionArn)).Status).toBe('STARTING');
    const again = await errorOf(world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 })));
    expect(again.name).toBe('ResourceInUseException');
    world.clock.advance(5 * 60_000);
    const waited = await waitUntilProjectVersionRunning({ client: world.rekognition, maxWaitTime: 5, minDelay: 1, maxDelay: 1 }, { ProjectArn: projectArn, VersionNames: ['v1'] });
    expect(waited.state).toBe('SUCCESS');
    expect(await describeVersion(versionArn)).toMatchObject({ Status: 'RUNNING', MinInferenceUnits: 10 });
    expect((await errorOf(world.rekognition.send(new DeleteProjectVersionCommand({ ProjectVersionArn: versionArn })))).name).toBe('ResourceInUseException');
    expect((await errorOf(world.rekognition.send(new DeleteProjectCommand({ ProjectArn: projectArn })))).name).toBe('ResourceInUseException');
  });

  test('DetectCustomLabels: MinConfidence 0 returns every label sorted, MaxResults cuts, no Geometry for classification', async () => {
    const sample = classificationSamples({ perLabel: 1, seed: 77, labels: ['blue-square'] })[0];
    const all = await world.rekognition.send(new DetectCustomLabelsCommand({
      ProjectVersionArn: versionArn, Image: { Bytes: sample.bytes }, MinConfidence: 0,
    }));
    const labels = all.CustomLabels!;
    expect(labels.map((l) => l.Name).sort()).toEqual(['blue-square', 'green-triangle', 'red-circle']);
    expect(labels[0].Name).toBe('blue-square');
    const confidences = labels.map((l) => l.Confidence!);
    expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
    confidences.forEach((c) => expect(c).toBeGreaterThanOrEqual(0));
    confidences.forEach((c) => expect(c).toBeLessThanOrEqual(100));
    labels.forEach((l) => expect(l.Geometry).toBeUndefined());
    const top = await world.rekognition.send(new DetectCustomLabelsCommand({
      ProjectVersionArn: versionArn, Image: { Bytes: sample.bytes }, MinConfidence: 0, MaxResults: 1,
    }));
    expect(top.CustomLabels).toEqual([labels[0]]);
    const above = await world.rekognition.send(new DetectCustomLabelsCommand({
      ProjectVersionArn: versionArn, Image: { Bytes: sample.bytes }, MinConfidence: confidences[1] + 1e-9,
    }));
    expect(above.CustomLabels!.map((l) => l.Name)).toEqual(['blue-square']);
  });

  test('DetectCustomLabels without MinConfidence finds the label of fresh images: the threshold is not pinned to a test score', async () => {
    // Images none of which the model trained or was tested on: each must come back with its own label.
    const fresh = classificationSamples({ perLabel: 5, seed: 4242 });
    const missed: string[] = [];
    for (const sample of fresh) {
      const out = await world.rekognition.send(new DetectCustomLabelsCommand({ ProjectVersionArn: versionArn, Image: { Bytes: sample.bytes } }));
      if (!out.CustomLabels!.some((l) => l.Name === sample.labels[0])) missed.push(`${sample.relPath} (${JSON.stringify(out.CustomLabels)})`);
    }
    expect(missed).toEqual([]);
    // Leave the model's throughput window (the last second of virtual time) empty for the next test.
    world.clock.advance(1000);
  });

  test('DetectCustomLabels without MinConfidence applies each label\'s assumed threshold from the evaluation', async () => {
    const summary = JSON.parse(await readOutput('eval/EvaluationResultSummary-shapes-v1.json')) as {
      LabelEvaluationResults: Array<{ Label: string; Metrics: { Threshold: number } }>;
    };
    const thresholds = new Map(summary.LabelEvaluationResults.map((l) => [l.Label, l.Metrics.Threshold]));
    const sample = classificationSamples({ perLabel: 1, seed: 78, labels: ['red-circle'] })[0];
    const all = (await world.rekognition.send(new DetectCustomLabelsCommand({
      ProjectVersionArn: versionArn, Image: { Bytes: sample.bytes }, MinConfidence: 0,
    }))).CustomLabels!;
    const expected = all.filter((l) => l.Confidence! >= thresholds.get(l.Name!)! * 100).map((l) => l.Name);
    const out = await world.rekognition.send(new DetectCustomLabelsCommand({ ProjectVersionArn: versionArn, Image: { Bytes: sample.bytes } }));
    expect(out.CustomLabels!.map((l) => l.Name)).toEqual(expected);
    expect(expected).toContain('red-circle');
  });

  test('DetectCustomLabels image errors: over 4 MB, sides or aspect ratio out of bounds, not PNG/JPEG, missing S3 object; an S3 object works', async () => {
    world.clock.advance(1000);
    const big = Buffer.alloc(4 * 1024 * 1024 + 1);
    expect((await errorOf(world.rekognition.send(new DetectCustomLabelsCommand({ ProjectVersionArn: versionArn, Image: { Bytes: big } })))).name)
      .toBe('ImageTooLargeException');
    // a PNG smaller than 64 px a side, and one wider than 20:1
    for (const [w, h] of [[63, 63], [2100, 100]]) {
      const png = renderPng(w, h, []);
      const err = await errorOf(world.rekognition.send(new DetectCustomLabelsCommand({ ProjectVersionArn: versionArn, Image: { Bytes: png } })));
      expect([err.name, err.message]).toEqual(['InvalidParameterException',
        `The image is ${w}x${h} pixels; images must be 64 to 4096 pixels a side with an aspect ratio of at most 20:1.`]);
    }
    const gif = Buffer.from('GIF89a....................');
    expect((await errorOf(world.rekognition.send(new DetectCustomLabelsCommand({ ProjectVersionArn: versionArn, Image: { Bytes: gif } })))).name)
      .toBe('InvalidImageFormatException');
    const missing = await errorOf(world.rekognition.send(new DetectCustomLabelsCommand({
      ProjectVersionArn: versionArn, Image: { S3Object: { Bucket: DATA_BUCKET, Name: 'no/such.png' } },
    })));
    expect(missing.name).toBe('InvalidS3ObjectException');
    const fromS3 = await world.rekognition.send(new DetectCustomLabelsCommand({
      ProjectVersionArn: versionArn, Image: { S3Object: { Bucket: DATA_BUCKET, Name: 'test/green-triangle/0001.png' } }, MinConfidence: 0,
    }));
    expect(fromS3.CustomLabels![0].Name).toBe('green-triangle');
    const badMin = await errorOf(world.rekognition.send(new DetectCustomLabelsCommand({
      ProjectVersionArn: versionArn, Image: { Bytes: gif }, MinConfidence: 101,
    })));
    expect(badMin.name).toBe('InvalidParameterException');
    expect(badMin.message).toContain("at 'MinConfidence'");
  });

  test('CopyProjectVersion makes a COPYING_COMPLETED version after 10 min; with 1 IU it allows 2 requests per second', async () => {
    const dest = (await world.rekognition.send(new CreateProjectCommand({ ProjectName: 'shapes-copy' }))).ProjectArn!;
    const { ProjectVersionArn: copy } = await world.rekognition.send(new CopyProjectVersionCommand({
      SourceProjectArn: projectArn, SourceProjectVersionArn: versionArn, DestinationProjectArn: dest, VersionName: 'copied',
      OutputConfig: { S3Bucket: OUTPUT_BUCKET, S3KeyPrefix: 'copy/' },
    }));
    expect((await describeVersion(copy!, dest)).Status).toBe('COPYING_IN_PROGRESS');
    world.clock.advance(10 * 60_000);
    expect(await describeVersion(copy!, dest)).toMatchObject({ Status: 'COPYING_COMPLETED', SourceProjectVersionArn: versionArn });
    await world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: copy, MinInferenceUnits: 1 }));
    world.clock.advance(5 * 60_000);
    const image = classificationSamples({ perLabel: 1, seed: 5 })[0].bytes;
    const call = () => world.rekognition.send(new DetectCustomLabelsCommand({ ProjectVersionArn: copy, Image: { Bytes: image } }));
    await call();
    await call();
    const err = await errorOf(call());
    expect(err.name).toBe('ProvisionedThroughputExceededException');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    await world.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: copy }));
  });

  test('StopProjectVersion goes STOPPING then STOPPED after 1 min; then the version can be deleted', async () => {
    expect((await world.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: versionArn }))).Status).toBe('STOPPING');
    expect((await errorOf(world.rekognition.send(new StopProjectVersionCommand({ ProjectVersionArn: versionArn })))).name).toBe('ResourceInUseException');
    world.clock.advance(60_000);
    expect((await describeVersion(versionArn)).Status).toBe('STOPPED');
    expect((await world.rekognition.send(new DeleteProjectVersionCommand({ ProjectVersionArn: versionArn }))).Status).toBe('DELETING');
    world.clock.advance(10_000);
    const out = await world.rekognition.send(new DescribeProjectVersionsCommand({ ProjectArn: projectArn, VersionNames: ['v1'] }));
    expect(out.ProjectVersionDescriptions).toEqual([]);
    const gone = await errorOf(world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 1 })));
    expect(gone.name).toBe('ResourceNotFoundException');
  });

  test('StartProjectVersion checks its inputs', async () => {
    const zero = await errorOf(world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: versionArn, MinInferenceUnits: 0 })));
    expect(zero.name).toBe('InvalidParameterException');
    expect(zero.message).toContain("at 'MinInferenceUnits' failed to satisfy constraint: Member must have value greater than or equal to 1");
    const badArn = await errorOf(world.rekognition.send(new StartProjectVersionCommand({ ProjectVersionArn: 'arn:aws:nope', MinInferenceUnits: 1 })));
    expect(badArn.name).toBe('InvalidParameterException');
    expect(badArn.message).toContain("at 'ProjectVersionArn'");
  });

  describe('training failures', () => {
    async function trainFailing(name: string, train: string[], test: string[]): Promise<ProjectVersionDescription> {
      const project = (await world.rekognition.send(new CreateProjectCommand({ ProjectName: name }))).ProjectArn!;
      await datasetsFrom(project, train, test, name);
      const { ProjectVersionArn } = await world.rekognition.send(new CreateProjectVersionCommand({
        ProjectArn: project, VersionName: 'v1', OutputConfig: { S3Bucket: OUTPUT_BUCKET, S3KeyPrefix: `${name}/` },
      }));
      world.clock.advance(24 * 3600_000);
      const waiter = { client: world.rekognition, maxWaitTime: 5, minDelay: 1, maxDelay: 1 };
      const waited = await errorOf(waitUntilProjectVersionTrainingCompleted(waiter, { ProjectArn: project }));
      expect(waited.message).toContain('FAILURE');
      return describeVersion(ProjectVersionArn!, project);
    }

    test('too few labels', async () => {
      const train = await uploadClassification(world, { perLabel: 4, seed: 3, prefix: 'one', labels: ['red-circle'] });
      const v = await trainFailing('too-few', train, train.slice(0, 2).map((l) => l.replace('/one/', '/one-test/')));
      expect(v).toMatchObject({ Status: 'TRAINING_FAILED', StatusMessage: expect.stringContaining(ERRORS.ERROR_MANIFEST_TOO_FEW_LABELS) });
      expect(v.BillableTrainingTimeInSeconds).toBeUndefined();
      expect(v.EvaluationResult).toBeUndefined();
      const summary = JSON.parse(await readOutput('too-few/manifest_summary.json'));
      expect(summary.statistics.training.errors.map((e: { code: string }) => e.code)).toContain('ERROR_MANIFEST_TOO_FEW_LABELS');
    });

    test('more than 20% invalid lines (images missing from S3)', async () => {
      const train = await uploadClassification(world, { perLabel: 4, seed: 4, prefix: 'holes' });
      const broken = train.map((l, i) => (i % 4 === 0 ? l.replace('/holes/', '/missing/') : l));
      const test = await uploadClassification(world, { perLabel: 2, seed: 5, prefix: 'holes-test' });
      const v = await trainFailing('invalid-rows', broken, test);
      expect(v.StatusMessage).toContain(ERRORS.ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST);
      const validated = (await readOutput('invalid-rows/training_manifest_with_validation.json')).split('\n');
      expect(validated[0]).toContain('ERROR_INVALID_IMAGE');
      expect(validated[1]).not.toContain('"errors"');
      const summary = JSON.parse(await readOutput('invalid-rows/manifest_summary.json'));
      expect(summary.statistics.training).toMatchObject({ total_json_lines: 12, invalid_json_lines: 3, error_json_line_indices: [1, 5, 9] });
    });

    test('label overlap below 50%', async () => {
      const labels = ['red-circle', 'blue-square', 'green-triangle', 'red-square'];
      const train = await uploadClassification(world, { perLabel: 2, seed: 6, prefix: 'overlap', labels });
      const test = await uploadClassification(world, { perLabel: 2, seed: 7, prefix: 'overlap-test', labels: ['red-circle', 'blue-square'] });
      const v = await trainFailing('overlap', train, test.slice(0, 1).concat(test.slice(2, 3)).map((l) => l.replace('blue-square"', 'red-circle"')));
      expect(v.StatusMessage).toContain(ERRORS.ERROR_INSUFFICIENT_LABEL_OVERLAP);
      const summary = JSON.parse(await readOutput('overlap/manifest_summary.json'));
      expect(summary.errors).toEqual([{ code: 'ERROR_INSUFFICIENT_LABEL_OVERLAP', message: ERRORS.ERROR_INSUFFICIENT_LABEL_OVERLAP }]);
    });
  });
});
