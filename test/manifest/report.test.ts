import { formatReportText } from '../../lib/manifest/report';
import { validateManifestPairSync, validateManifestSync } from '../../lib/manifest/validator';
import { box, clsLine, clsLines, detLine, manifest } from './helpers';

describe('formatReportText', () => {
  test('the verdict, counts, labels, then each code with its line numbers', () => {
    // GIVEN 8 good lines, bad JSON on lines 9 to 11, an off-frame box on line 12, an unannotated line 13
    const content = manifest([
      ...Array.from({ length: 8 }, (_, i) => detLine(`s3://bucket/${i}.jpg`, [box(i % 2)])),
      '{', '{', '{',
      detLine('s3://bucket/x.jpg', [box(0), box(1, -4)]),
      JSON.stringify({ 'source-ref': 's3://bucket/u.jpg' }),
    ]);
    // WHEN
    const text = formatReportText(validateManifestSync(content), { file: 'train.manifest' });
    // THEN
    expect(text).toContain('train.manifest: INVALID (use case OBJECT_LOCALIZATION)');
    expect(text).toContain('lines: 13 total, 9 valid, 3 invalid, 1 ignored');
    expect(text).toMatch(/label0\s+5 images, 5 boxes/);
    expect(text).toContain('ERROR_INVALID_JSON_LINE (3): The JSON Line has an invalid format.');
    expect(text).toMatch(/line 9: column 2: .*\n\s+line 10: column 2: .*\n\s+line 11: column 2: .*\n/);
    expect(text).toMatch(/ERROR_INVALID_BOUNDING_BOX: The bounding box has off frame values\.\n\s+line 12 \(bounding-box, annotation 1\): box -4,10/);
    expect(text).toMatch(/WARNING_UNANNOTATED_RECORD: Record is unannotated\.\n\s+line 13/);
    // 3 invalid of 12 counted lines is over 20%: the file-level error comes first
    expect(text.indexOf('ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST')).toBeLessThan(text.indexOf('ERROR_INVALID_JSON_LINE'));
  });

  test('maxPerCode cuts long lists', () => {
    const content = manifest([...clsLines(40, ['a', 'b']), ...Array.from({ length: 7 }, () => '{')]);
    const text = formatReportText(validateManifestSync(content), { maxPerCode: 3 });
    expect(text).toContain('ERROR_INVALID_JSON_LINE (7)');
    expect(text).toMatch(/line 41: .*\n\s+line 42: .*\n\s+line 43: .*\n\s+\.\.\. and 4 more/);
    expect(text).not.toContain('line 44');
  });

  test('a pair: both manifests and the errors across them', () => {
    const training = manifest(clsLines(4, ['a', 'b'], 'tr'));
    const testing = manifest([clsLine('s3://bucket/tr1.jpg', 'a'), clsLine('s3://bucket/te.jpg', 'b')]);
    const text = formatReportText(validateManifestPairSync(training, testing), { file: 'train.manifest', testingFile: 'test.manifest' });
    expect(text).toContain('manifest pair: INVALID');
    expect(text).toContain('train.manifest: VALID');
    expect(text).toContain('test.manifest: VALID');
    expect(text).toMatch(/ERROR_IMAGE_IN_TRAINING_AND_TESTING: .*\n\s+testing line 1: s3:\/\/bucket\/tr1\.jpg/);
  });
});
