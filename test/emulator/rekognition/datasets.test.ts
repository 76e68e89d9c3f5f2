import {
  CreateDatasetCommand, CreateProjectCommand, DeleteDatasetCommand, DeleteProjectCommand, DescribeDatasetCommand, DescribeProjectsCommand,
  DistributeDatasetEntriesCommand, ListDatasetEntriesCommand, ListDatasetLabelsCommand, paginateListDatasetEntries, UpdateDatasetEntriesCommand,
} from '@aws-sdk/client-rekognition';

import { ERRORS } from '../../../lib/manifest/types';
import { classificationLine, DATA_BUCKET, errorOf, put, startWorld, T0, World } from '../helpers';

const ref = (n: number): string => `s3://${DATA_BUCKET}/img/${n}.png`;

describe('datasets over the wire', () => {
  let world: World;
  let projectArn: string;
  let n = 0;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world.stop();
  });
  beforeEach(async () => {
    n += 1;
    projectArn = (await world.rekognition.send(new CreateProjectCommand({ ProjectName: `ds-${n}` }))).ProjectArn!;
  });

  async function describe(datasetArn: string) {
    return (await world.rekognition.send(new DescribeDatasetCommand({ DatasetArn: datasetArn }))).DatasetDescription!;
  }

  async function importManifest(lines: string[], type: 'TRAIN' | 'TEST' = 'TRAIN'): Promise<string> {
    const key = `manifests/${n}-${type}.manifest`;
    await put(world, key, lines.join('\n'));
    const { DatasetArn } = await world.rekognition.send(new CreateDatasetCommand({
      ProjectArn: projectArn, DatasetType: type, DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: DATA_BUCKET, Name: key } } },
    }));
    return DatasetArn!;
  }

  test('import: CREATE_IN_PROGRESS (lists are not ready) until 20 s + 20 ms/line pass, then CREATE_COMPLETE with stats', async () => {
    // GIVEN 4 lines: 3 valid (2 labels), 1 with a non-terminal attribute error
    const bad = JSON.parse(classificationLine(ref(4), 'cat')) as Record<string, Record<string, unknown>>;
    delete bad['label-metadata']['class-name'];
    const lines = [classificationLine(ref(1), 'cat'), classificationLine(ref(2), 'dog'), classificationLine(ref(3), 'dog'), JSON.stringify(bad)];
    // WHEN
    const arn = await importManifest(lines);
    // THEN
    expect(arn).toBe(`arn:aws:rekognition:us-east-1:123456789012:project/ds-${n}/dataset/train/${world.clock.now()}`);
    expect((await describe(arn)).Status).toBe('CREATE_IN_PROGRESS');
    expect((await errorOf(world.rekognition.send(new ListDatasetEntriesCommand({ DatasetArn: arn })))).name).toBe('ResourceNotReadyException');
    expect((await errorOf(world.rekognition.send(new ListDatasetLabelsCommand({ DatasetArn: arn })))).name).toBe('ResourceNotReadyException');
    expect((await errorOf(world.rekognition.send(new DeleteDatasetCommand({ DatasetArn: arn })))).name).toBe('ResourceInUseException');
    world.clock.advance(20_000 + 20 * 4 - 1);
    expect((await describe(arn)).Status).toBe('CREATE_IN_PROGRESS');
    world.clock.advance(1);
    const done = await describe(arn);
    expect(done).toMatchObject({
      Status: 'CREATE_COMPLETE', StatusMessageCode: 'SUCCESS',
      DatasetStats: { TotalEntries: 4, LabeledEntries: 3, TotalLabels: 2, ErrorEntries: 1 },
    });
    expect(done.LastUpdatedTimestamp!.getTime() - done.CreationTimestamp!.getTime()).toBe(20_080);
    const project = await world.rekognition.send(new DescribeProjectsCommand({ ProjectNames: [`ds-${n}`] }));
    expect(project.ProjectDescriptions![0].Datasets).toEqual([expect.objectContaining({ DatasetArn: arn, DatasetType: 'TRAIN', Status: 'CREATE_COMPLETE' })]);
  });

  test('ListDatasetEntries returns the lines with errors arrays and honours every filter; ListDatasetLabels counts', async () => {
    const bad = JSON.parse(classificationLine(ref(4), 'cat')) as Record<string, Record<string, unknown>>;
    delete bad['label-metadata']['class-name'];
    const arn = await importManifest([
      classificationLine(ref(1), 'cat'), classificationLine(ref(2), 'dog'), classificationLine(ref(3), 'dog'), JSON.stringify(bad),
      JSON.stringify({ 'source-ref': ref(5) }),
    ]);
    world.clock.advance(60_000);
    const list = async (filters: Record<string, unknown>) =>
      (await world.rekognition.send(new ListDatasetEntriesCommand({ DatasetArn: arn, ...filters }))).DatasetEntries!
        .map((e) => JSON.parse(e) as Record<string, unknown>);
    const all = await list({});
    expect(all.map((e) => e['source-ref'])).toEqual([ref(1), ref(2), ref(3), ref(4), ref(5)]);
    // The developer guide's Python example starts its ListDatasetEntries loop with NextToken "": the first page.
    expect((await list({ NextToken: '', MaxResults: 2 })).map((e) => e['source-ref'])).toEqual([ref(1), ref(2)]);
    const withErrors = await list({ HasErrors: true });
    expect(withErrors.map((e) => e['source-ref'])).toEqual([ref(4)]);
    expect(JSON.stringify(withErrors[0])).toContain('"errors":[{"code":"ERROR_');
    expect((await list({ HasErrors: false })).length).toBe(4);
    expect((await list({ ContainsLabels: ['dog'] })).map((e) => e['source-ref'])).toEqual([ref(2), ref(3)]);
    expect((await list({ ContainsLabels: ['cat', 'dog'] })).length).toBe(3);
    expect((await list({ Labeled: false })).map((e) => e['source-ref'])).toEqual([ref(4), ref(5)]);
    expect((await list({ Labeled: true })).length).toBe(3);
    expect((await list({ SourceRefContains: '/3.png' })).map((e) => e['source-ref'])).toEqual([ref(3)]);
    const labels = await world.rekognition.send(new ListDatasetLabelsCommand({ DatasetArn: arn }));
    expect(labels.DatasetLabelDescriptions).toEqual([
      { LabelName: 'cat', LabelStats: { EntryCount: 1, BoundingBoxCount: 0 } },
      { LabelName: 'dog', LabelStats: { EntryCount: 2, BoundingBoxCount: 0 } },
    ]);
    // the SDK paginator over 5 entries, 2 per page
    const refs: string[] = [];
    for await (const page of paginateListDatasetEntries({ client: world.rekognition, pageSize: 2 }, { DatasetArn: arn })) {
      refs.push(...page.DatasetEntries!.map((e) => (JSON.parse(e) as Record<string, string>)['source-ref']));
    }
    expect(refs).toHaveLength(5);
    const bad2 = await errorOf(world.rekognition.send(new ListDatasetEntriesCommand({ DatasetArn: arn, SourceRefContains: '   ' })));
    expect(bad2.name).toBe('InvalidParameterException');
    expect(bad2.message).toContain("at 'SourceRefContains'");
  });

  test('a missing manifest object ends CREATE_FAILED with the documented message', async () => {
    const { DatasetArn } = await world.rekognition.send(new CreateDatasetCommand({
      ProjectArn: projectArn, DatasetType: 'TRAIN', DatasetSource: { GroundTruthManifest: { S3Object: { Bucket: DATA_BUCKET, Name: 'nope.manifest' } } },
    }));
    world.clock.advance(20_000);
    expect(await describe(DatasetArn!)).toMatchObject({
      Status: 'CREATE_FAILED', StatusMessageCode: 'CLIENT_ERROR', StatusMessage: ERRORS.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT,
    });
  });

  test('an empty manifest ends CREATE_FAILED with ERROR_EMPTY_MANIFEST', async () => {
    const arn = await importManifest(['']);
    world.clock.advance(60_000);
    expect(await describe(arn)).toMatchObject({ Status: 'CREATE_FAILED', StatusMessage: ERRORS.ERROR_EMPTY_MANIFEST });
  });

  test('a second TRAIN dataset is ResourceAlreadyExists; DatasetSource with both members is InvalidParameter', async () => {
    await world.rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: 'TRAIN' }));
    const err = await errorOf(world.rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: 'TRAIN' })));
    expect(err.name).toBe('ResourceAlreadyExistsException');
    const both = await errorOf(world.rekognition.send(new CreateDatasetCommand({
      ProjectArn: projectArn, DatasetType: 'TEST',
      DatasetSource: { DatasetArn: `${projectArn.replace(/\/\d+$/, '')}/dataset/train/1`, GroundTruthManifest: { S3Object: { Bucket: DATA_BUCKET, Name: 'x' } } },
    })));
    expect(both.name).toBe('InvalidParameterException');
    expect(both.message).toBe('DatasetSource must have exactly one of GroundTruthManifest and DatasetArn.');
    const badType = await errorOf(world.rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: 'VALIDATE' as 'TRAIN' })));
    expect(badType.message).toContain("at 'DatasetType' failed to satisfy constraint: Member must satisfy enum value set: [TRAIN, TEST]");
  });

  test('UpdateDatasetEntries upserts by source-ref and adds new labels', async () => {
    const arn = await importManifest([classificationLine(ref(1), 'cat'), classificationLine(ref(2), 'dog')]);
    world.clock.advance(60_000);
    const changes = [classificationLine(ref(2), 'bird'), classificationLine(ref(3), 'bird')].join('\n');
    await world.rekognition.send(new UpdateDatasetEntriesCommand({ DatasetArn: arn, Changes: { GroundTruth: Buffer.from(changes) } }));
    expect((await describe(arn)).Status).toBe('UPDATE_IN_PROGRESS');
    const again = await errorOf(world.rekognition.send(new UpdateDatasetEntriesCommand({
      DatasetArn: arn, Changes: { GroundTruth: Buffer.from(changes) },
    })));
    expect(again.name).toBe('ResourceInUseException');
    world.clock.advance(60_000);
    expect(await describe(arn)).toMatchObject({ Status: 'UPDATE_COMPLETE', DatasetStats: { TotalEntries: 3, TotalLabels: 2 } });
    const labels = await world.rekognition.send(new ListDatasetLabelsCommand({ DatasetArn: arn }));
    expect(labels.DatasetLabelDescriptions!.map((l) => [l.LabelName, l.LabelStats!.EntryCount])).toEqual([['bird', 2], ['cat', 1]]);
  });

  test('DistributeDatasetEntries moves 20% of each label of TRAIN into the empty TEST', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => classificationLine(ref(100 + i), i % 2 ? 'cat' : 'dog'));
    const train = await importManifest(lines);
    const { DatasetArn: test } = await world.rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: 'TEST' }));
    world.clock.advance(60_000);
    await world.rekognition.send(new DistributeDatasetEntriesCommand({ Datasets: [{ Arn: train }, { Arn: test }] }));
    expect((await describe(train)).Status).toBe('UPDATE_IN_PROGRESS');
    expect((await describe(test!)).Status).toBe('UPDATE_IN_PROGRESS');
    world.clock.advance(60_000);
    expect(await describe(train)).toMatchObject({ Status: 'UPDATE_COMPLETE', DatasetStats: { TotalEntries: 16 } });
    expect(await describe(test!)).toMatchObject({ Status: 'UPDATE_COMPLETE', DatasetStats: { TotalEntries: 4 } });
    const trainRefs = (await world.rekognition.send(new ListDatasetEntriesCommand({ DatasetArn: train }))).DatasetEntries!;
    const testRefs = (await world.rekognition.send(new ListDatasetEntriesCommand({ DatasetArn: test }))).DatasetEntries!;
    expect(new Set([...trainRefs, ...testRefs]).size).toBe(20);
    // AND each label gets its 20% (2 of its 10 images) on the TEST side
    const testLabels = await world.rekognition.send(new ListDatasetLabelsCommand({ DatasetArn: test }));
    expect(testLabels.DatasetLabelDescriptions!.map((l) => [l.LabelName, l.LabelStats!.EntryCount])).toEqual([['cat', 2], ['dog', 2]]);
    // a non-empty TEST is refused
    const err = await errorOf(world.rekognition.send(new DistributeDatasetEntriesCommand({ Datasets: [{ Arn: train }, { Arn: test }] })));
    expect(err.name).toBe('InvalidParameterException');
  });

  test('DistributeDatasetEntries with a label on a single image fails both datasets', async () => {
    const train = await importManifest([classificationLine(ref(1), 'cat'), classificationLine(ref(2), 'dog'), classificationLine(ref(3), 'dog')]);
    const { DatasetArn: test } = await world.rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: 'TEST' }));
    world.clock.advance(60_000);
    await world.rekognition.send(new DistributeDatasetEntriesCommand({ Datasets: [{ Arn: train }, { Arn: test }] }));
    world.clock.advance(60_000);
    expect(await describe(train)).toMatchObject({
      Status: 'UPDATE_FAILED', StatusMessage: ERRORS.ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE, DatasetStats: { TotalEntries: 3 },
    });
    expect((await describe(test!)).Status).toBe('UPDATE_FAILED');
  });

  test('CreateDataset from another dataset copies its entries; DeleteDataset removes it and frees the project', async () => {
    const train = await importManifest([classificationLine(ref(1), 'cat'), classificationLine(ref(2), 'dog')]);
    world.clock.advance(60_000);
    const { DatasetArn: copy } = await world.rekognition.send(new CreateDatasetCommand({
      ProjectArn: projectArn, DatasetType: 'TEST', DatasetSource: { DatasetArn: train },
    }));
    world.clock.advance(60_000);
    expect(await describe(copy!)).toMatchObject({ Status: 'CREATE_COMPLETE', DatasetStats: { TotalEntries: 2 } });
    expect((await errorOf(world.rekognition.send(new DeleteProjectCommand({ ProjectArn: projectArn })))).name).toBe('ResourceInUseException');
    await world.rekognition.send(new DeleteDatasetCommand({ DatasetArn: train }));
    await world.rekognition.send(new DeleteDatasetCommand({ DatasetArn: copy }));
    expect((await describe(train)).Status).toBe('DELETE_IN_PROGRESS');
    world.clock.advance(10_000);
    expect((await errorOf(world.rekognition.send(new DescribeDatasetCommand({ DatasetArn: train })))).name).toBe('ResourceNotFoundException');
    expect((await world.rekognition.send(new DeleteProjectCommand({ ProjectArn: projectArn }))).Status).toBe('DELETING');
  });

  test('timestamps start at the virtual clock', async () => {
    const { DatasetArn } = await world.rekognition.send(new CreateDatasetCommand({ ProjectArn: projectArn, DatasetType: 'TRAIN' }));
    expect((await describe(DatasetArn!)).CreationTimestamp!.getTime()).toBe(world.clock.now());
    expect(world.clock.now()).toBeGreaterThanOrEqual(T0);
  });
});
