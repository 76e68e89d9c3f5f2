import { validateManifestPair, validateManifestPairSync } from '../../lib/manifest/validator';
import { box, clsLine, clsLines, detLine, manifest } from './helpers';

describe('validateManifestPair', () => {
  const training = manifest(clsLines(8, ['A', 'B', 'C', 'D'], 'train'));

  test('a label overlap of 50% passes', async () => {
    const testing = manifest(clsLines(4, ['A', 'B'], 'test'));
    const pair = await validateManifestPair(Buffer.from(training), Buffer.from(testing));
    expect(pair.errors).toEqual([]);
    expect(pair.valid).toBe(true);
  });

  test('ERROR_INSUFFICIENT_LABEL_OVERLAP under 50% (common labels / training labels)', async () => {
    // 1 of 4 training labels; the testing manifest needs two labels of its own to be valid itself
    const testing = manifest(clsLines(4, ['A', 'Z'], 'test'));
    const pair = await validateManifestPair(Buffer.from(training), Buffer.from(testing));
    expect(pair.valid).toBe(false);
    expect(pair.training.valid && pair.testing.valid).toBe(true);
    expect(pair.errors.map((e) => [e.line, e.code, e.message])).toEqual([
      [null, 'ERROR_INSUFFICIENT_LABEL_OVERLAP', 'Less than 50% label overlap between the training and testing manifest files.'],
    ]);
  });

  test('ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP: the labels overlap, but not those of the use cases', () => {
    // training: image-level A, B. testing: image-level C, D (3 lines, chosen) and boxes of A, B (2 lines, ignored)
    const train = manifest(clsLines(4, ['A', 'B'], 'train'));
    const test = manifest([
      ...clsLines(3, ['C', 'D'], 'test'),
      detLine('s3://bucket/t1.jpg', [box(0)], { classMap: { 0: 'A' } }),
      detLine('s3://bucket/t2.jpg', [box(0)], { classMap: { 0: 'B' } }),
    ]);
    const pair = validateManifestPairSync(train, test);
    expect(pair.testing.useCase).toBe('IMAGE_LEVEL_LABELS');
    expect(pair.errors.map((e) => [e.code, e.message])).toEqual([
      ['ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP', 'Less than 50% usable label overlap between the training and testing manifest files.'],
    ]);
  });

  test('ERROR_IMAGE_IN_TRAINING_AND_TESTING names the testing line', async () => {
    const testing = manifest([
      clsLine('s3://bucket/test0.jpg', 'A'),
      clsLine('s3://bucket/train5.jpg', 'B'),
      clsLine('s3://bucket/test2.jpg', 'A'),
    ]);
    const pair = await validateManifestPair(Buffer.from(training), Buffer.from(testing));
    expect(pair.valid).toBe(false);
    expect(pair.errors.map((e) => [e.line, e.code, e.message])).toEqual([
      [2, 'ERROR_IMAGE_IN_TRAINING_AND_TESTING', 'The image appears in both the training and the testing manifest.'],
    ]);
    expect(JSON.stringify(validateManifestPairSync(training, testing))).toBe(JSON.stringify(pair));
  });

  test('each manifest keeps its own report and role', () => {
    const pair = validateManifestPairSync(training, manifest(clsLines(4, ['A', 'B'], 'test')));
    expect([pair.training.role, pair.testing.role]).toEqual(['training', 'testing']);
    expect([pair.training.totalLines, pair.testing.totalLines]).toEqual([8, 4]);
  });
});
