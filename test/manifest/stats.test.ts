import * as fs from 'fs';
import * as path from 'path';

import { formatStatsText, manifestStats } from '../../lib/manifest/stats';
import { box, clsLines, detLine, manifest, removeDir, tmpDir } from './helpers';

describe('manifestStats', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir();
  });
  afterEach(() => removeDir(dir));

  test('per-label images and boxes, training and testing, with guidance for thin labels', async () => {
    // GIVEN training: 12 lines of "label0" (one with two boxes) and 3 of "label1"; testing: 2 of "label0", 1 of "label2"
    const train = [
      ...Array.from({ length: 11 }, (_, i) => detLine(`s3://bucket/a${i}.jpg`, [box(0)])),
      detLine('s3://bucket/two.jpg', [box(0), box(0, 100)]),
      ...Array.from({ length: 3 }, (_, i) => detLine(`s3://bucket/b${i}.jpg`, [box(1)])),
    ];
    const test = [
      detLine('s3://bucket/t0.jpg', [box(0)]),
      detLine('s3://bucket/t1.jpg', [box(0)]),
      detLine('s3://bucket/t2.jpg', [box(2)]),
    ];
    const trainFile = path.join(dir, 'train.manifest');
    const testFile = path.join(dir, 'test.manifest');
    fs.writeFileSync(trainFile, manifest(train));
    fs.writeFileSync(testFile, manifest(test));
    // WHEN
    const stats = await manifestStats(trainFile, testFile);
    // THEN
    expect(stats.useCase).toBe('OBJECT_LOCALIZATION');
    expect([stats.totalLines, stats.validLines]).toEqual([15, 15]);
    expect(stats.labels).toEqual([
      { label: 'label0', images: 12, boxes: 13, testImages: 2, testBoxes: 2 },
      { label: 'label1', images: 3, boxes: 3, testImages: 0, testBoxes: 0 },
      { label: 'label2', images: 0, boxes: 0, testImages: 1, testBoxes: 1 },
    ]);
    expect(stats.guidance).toEqual([
      'Label "label0" has 2 testing image(s); at least 10 are recommended.',
      'Label "label1" has 3 training image(s); at least 10 are recommended.',
      'Label "label1" has 0 testing image(s); at least 10 are recommended.',
      'Label "label2" is in the testing manifest only; the model cannot learn it.',
    ]);
    const text = formatStatsText(stats);
    expect(text).toContain('use case: OBJECT_LOCALIZATION');
    expect(text).toMatch(/label\s+images\s+boxes\s+test images\s+test boxes/);
    expect(text).toMatch(/label0\s+12\s+13\s+2\s+2/);
    expect(text).toContain('  - Label "label2" is in the testing manifest only');
  });

  test('without a testing manifest: split advice; a single label for classification is flagged', async () => {
    const stats = await manifestStats(Buffer.from(manifest(clsLines(12, ['cat']))));
    expect(stats.labels).toEqual([{ label: 'cat', images: 12, boxes: 0 }]);
    expect(stats.guidance).toContain('Image classification needs at least 2 labels; add images of another class.');
    expect(stats.guidance.some((g) => g.startsWith('No testing manifest'))).toBe(true);
    const text = formatStatsText(stats);
    expect(text).not.toContain('boxes');
    expect(text).toMatch(/cat\s+12\n/);
  });

  test('invalid lines and an undetermined use case are pointed out', async () => {
    const stats = await manifestStats(Buffer.from('{\n{\n'));
    expect(stats.useCase).toBe('NOT_DETERMINED');
    expect(stats.guidance).toEqual([
      'The training manifest has no valid labeled line: run validate to see why.',
      '2 training line(s) are invalid and will not be used: run validate to see why.',
    ]);
  });
});
