import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';

import { ManifestFileError } from '../../lib/manifest/reader';
import { ManifestValidation, ManifestValidator, validateManifest, validateManifestSync } from '../../lib/manifest/validator';
import { box, clsLine, clsLines, detLine, manifest, removeDir, tmpDir } from './helpers';

function fileCodes(v: ManifestValidation): string[] {
  return v.errors.filter((e) => e.line === null).map((e) => e.code);
}

/** `valid` good image-level lines over two labels, then `invalid` lines of bad JSON, then `ignored` unannotated lines. */
function mix(valid: number, invalid: number, ignored = 0): string {
  const lines = clsLines(valid, ['cat', 'dog']);
  for (let i = 0; i < invalid; i++) lines.push('{not json');
  for (let i = 0; i < ignored; i++) lines.push(JSON.stringify({ 'source-ref': `s3://bucket/u${i}.jpg` }));
  return manifest(lines);
}

describe('file-level rules', () => {
  test('ERROR_EMPTY_MANIFEST for no content and for blank lines only', () => {
    for (const content of ['', '\n\n  \r\n']) {
      const v = validateManifestSync(content);
      expect(v.valid).toBe(false);
      expect(v.errors).toEqual([expect.objectContaining({ line: null, code: 'ERROR_EMPTY_MANIFEST', message: 'The manifest file is empty.', level: 'file' })]);
    }
  });

  test('ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM counts blank lines; 250,000 rows pass', () => {
    // GIVEN four good lines followed by blank lines up to 250,000 and 250,001 rows
    const good = clsLines(4, ['cat', 'dog']).join('\n');
    const at = `${good}${'\n'.repeat(250_000 - 4)}`;
    const over = `${good}${'\n'.repeat(250_001 - 4)}x`;
    // WHEN / THEN
    expect(fileCodes(validateManifestSync(at))).toEqual([]);
    const v = validateManifestSync(over);
    expect(v.rows).toBe(250_001);
    expect(fileCodes(v)).toContain('ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM');
  });

  test.each([
    [81, 19, true],
    [80, 20, true],
    [79, 21, false],
  ])('the 20%% rule: %i valid and %i invalid lines -> valid %s', (valid, invalid, ok) => {
    const v = validateManifestSync(mix(valid, invalid));
    expect(v.invalidLines).toBe(invalid);
    expect(v.valid).toBe(ok);
    expect(fileCodes(v)).toEqual(ok ? [] : ['ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST']);
  });

  test('the 20% rule leaves ignored lines out: 3 invalid of 11 counted lines fail although 3 of 15 would pass', () => {
    const v = validateManifestSync(mix(8, 3, 4));
    expect([v.totalLines, v.validLines, v.invalidLines, v.ignoredLines]).toEqual([15, 8, 3, 4]);
    expect(fileCodes(v)).toEqual(['ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST']);
    expect(v.errors[0].message).toBe('The manifest file contains too many invalid rows.');
  });

  test('the 20% rule is cumulative over kinds of problems: 15% bad JSON plus 15% bad boxes fail', () => {
    const lines = clsLines(14, ['cat', 'dog']);
    for (let i = 0; i < 3; i++) lines.push('{');
    for (let i = 0; i < 3; i++) lines.push(clsLine(`s3://bucket/bad${i}.jpg`, 'cat', { value: 'x' }));
    const v = validateManifestSync(manifest(lines));
    expect(v.invalidLines).toBe(6);
    expect(fileCodes(v)).toEqual(['ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST']);
  });

  test('line errors alone do not make a manifest invalid', () => {
    const v = validateManifestSync(mix(9, 1));
    expect(v.valid).toBe(true);
    expect(v.errors.map((e) => [e.line, e.code])).toEqual([[10, 'ERROR_INVALID_JSON_LINE']]);
    expect(v.errorLineNumbers).toEqual([10]);
  });

  test("role 'dataset': ERROR_TOO_MANY_RECORDS_IN_ERROR counts only dropped lines; B rules do not apply", () => {
    // GIVEN 10 lines: 7 good with ONE label, 3 dropped (bad JSON) -> 30% dropped
    const dropped = manifest([...clsLines(7, ['cat']), '{', '{', '{']);
    // AND 10 lines: 5 good, 5 with a line error that is not a drop -> 50% invalid but 0% dropped
    const lineErrors = manifest([...clsLines(5, ['cat']), ...Array.from({ length: 5 }, (_, i) => clsLine(`s3://bucket/x${i}.jpg`, 'cat', { value: 'x' }))]);
    // WHEN
    const a = validateManifestSync(dropped, { role: 'dataset' });
    const b = validateManifestSync(lineErrors, { role: 'dataset' });
    // THEN
    expect(fileCodes(a)).toEqual(['ERROR_TOO_MANY_RECORDS_IN_ERROR']);
    expect(a.errors[0].message).toBe('The manifest file has too many terminal errors.');
    expect(a.droppedLines).toBe(3);
    expect(fileCodes(b)).toEqual([]);
    expect(b.valid).toBe(true);
    // the same content as training fails on the B rules
    expect(fileCodes(validateManifestSync(lineErrors))).toEqual(['ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST', 'ERROR_MANIFEST_TOO_FEW_LABELS']);
  });

  test('ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS', () => {
    const v = validateManifestSync(manifest([...clsLines(3, ['cat', 'dog'], 'a', 'one'), ...clsLines(3, ['cat', 'dog'], 'b', 'two')]));
    expect(v.buckets).toEqual(['one', 'two']);
    expect(fileCodes(v)).toEqual(['ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS']);
    expect(v.errors[0].message).toBe('The manifest file contains images from multiple S3 buckets.');
  });

  test('ERROR_MANIFEST_TOO_FEW_LABELS: image-level needs 2 labels, detection 1', () => {
    const cls = validateManifestSync(manifest(clsLines(5, ['cat'])));
    expect(fileCodes(cls)).toEqual(['ERROR_MANIFEST_TOO_FEW_LABELS']);
    expect(cls.errors[0].message).toBe('The manifest file has too few labels.');
    const det = validateManifestSync(manifest([detLine('s3://bucket/a.jpg', [box(0)]), detLine('s3://bucket/b.jpg', [box(0)])]));
    expect(det.useCase).toBe('OBJECT_LOCALIZATION');
    expect(fileCodes(det)).toEqual([]);
  });

  test('ERROR_MANIFEST_TOO_FEW_USABLE_LABELS: two labels in all, one of the chosen use case', () => {
    // 3 image-level lines of "cat" win over 2 detection lines of "label0"
    const v = validateManifestSync(manifest([...clsLines(3, ['cat']), detLine('s3://bucket/d1.jpg', [box(0)]), detLine('s3://bucket/d2.jpg', [box(0)])]));
    expect(v.useCase).toBe('IMAGE_LEVEL_LABELS');
    expect(fileCodes(v)).toEqual(['ERROR_MANIFEST_TOO_FEW_USABLE_LABELS']);
    expect(v.errors[0].message).toBe('The manifest file has too few usable labels.');
  });

  test('ERROR_MANIFEST_TOO_MANY_LABELS above 250; 250 pass', () => {
    const labels = (n: number) => Array.from({ length: n }, (_, i) => `L${i}`);
    expect(fileCodes(validateManifestSync(manifest(clsLines(250, labels(250)))))).toEqual([]);
    const v = validateManifestSync(manifest(clsLines(251, labels(251))));
    expect(Object.keys(v.labels)).toHaveLength(251);
    expect(fileCodes(v)).toEqual(['ERROR_MANIFEST_TOO_MANY_LABELS']);
    expect(v.errors[0].message).toBe('The manifest file has too many labels.');
  });

  test('ERROR_LABEL_WITHOUT_VALID_IMAGES for a training label seen only on invalid lines or boxes; not for testing', () => {
    const content = manifest([
      ...clsLines(8, ['cat', 'dog']),
      clsLine('s3://bucket/bird.jpg', 'bird', { meta: { confidence: 7 } }),
    ]);
    const det = manifest([detLine('s3://bucket/d.jpg', [box(0), box(1, -3)], { classMap: { 0: 'car', 1: 'bus' } })]);
    const v = validateManifestSync(content);
    expect(Object.keys(v.labels).sort()).toEqual(['cat', 'dog']);
    expect(v.errors.filter((e) => e.line === null).map((e) => [e.code, e.message])).toEqual([
      ['ERROR_LABEL_WITHOUT_VALID_IMAGES', 'The label bird has no valid images.'],
    ]);
    expect(fileCodes(validateManifestSync(det))).toEqual(['ERROR_LABEL_WITHOUT_VALID_IMAGES']);
    expect(fileCodes(validateManifestSync(content, { role: 'testing' }))).toEqual([]);
  });
});

describe('use case', () => {
  const cls = (n: number, p = 'c') => clsLines(n, ['cat', 'dog'], p);
  const det = (n: number) => Array.from({ length: n }, (_, i) => detLine(`s3://bucket/d${i}.jpg`, [box(i % 2)]));

  test('only image-level lines', () => {
    const v = validateManifestSync(manifest(cls(4)));
    expect(v.useCase).toBe('IMAGE_LEVEL_LABELS');
    expect(v.labels).toEqual({ cat: { images: 2, boxes: 0 }, dog: { images: 2, boxes: 0 } });
  });

  test('only bounding boxes', () => {
    const v = validateManifestSync(manifest([...det(3), detLine('s3://bucket/x.jpg', [box(0), box(0, 100), box(1, 200)])]));
    expect(v.useCase).toBe('OBJECT_LOCALIZATION');
    expect(v.labels).toEqual({ label0: { images: 3, boxes: 4 }, label1: { images: 2, boxes: 2 } });
  });

  test('mixed: the format with more valid lines wins and the others are ignored', () => {
    const v = validateManifestSync(manifest([...cls(2), ...det(3)]));
    expect(v.useCase).toBe('OBJECT_LOCALIZATION');
    expect([v.totalLines, v.validLines, v.invalidLines, v.ignoredLines, v.otherFormatLines]).toEqual([5, 3, 0, 2, 2]);
    expect(Object.keys(v.labels)).toEqual(['label0', 'label1']);
  });

  test('mixed with a tie: image-level labels', () => {
    const v = validateManifestSync(manifest([...det(2), ...cls(2)]));
    expect(v.useCase).toBe('IMAGE_LEVEL_LABELS');
    expect(v.ignoredLines).toBe(2);
  });

  test('no valid line: NOT_DETERMINED', () => {
    const v = validateManifestSync(manifest(['{', JSON.stringify({ 'source-ref': 's3://bucket/u.jpg' })]));
    expect(v.useCase).toBe('NOT_DETERMINED');
    expect(v.validLines).toBe(0);
  });
});

describe('report shape and the async wrappers', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir();
  });
  afterEach(() => removeDir(dir));

  test('toJSON gives exactly the documented keys', () => {
    const v = validateManifestSync(mix(4, 1, 1));
    const json = JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['valid', 'useCase', 'totalLines', 'validLines', 'invalidLines', 'ignoredLines', 'labels', 'errors', 'warnings']);
    expect(json.labels).toEqual({ cat: { images: 2, boxes: 0 }, dog: { images: 2, boxes: 0 } });
    expect(json.errors).toEqual([{ line: 5, code: 'ERROR_INVALID_JSON_LINE', message: 'The JSON Line has an invalid format.', level: 'line',
      detail: "column 2: expected a double-quoted property name, got 'n'", column: 2 }]);
    expect(json.warnings).toEqual([{ line: 6, code: 'WARNING_UNANNOTATED_RECORD', message: 'Record is unannotated.', level: 'line' }]);
  });

  test('validateManifest on a path, a Buffer and a stream agrees with validateManifestSync', async () => {
    const content = mix(7, 2, 1);
    const file = path.join(dir, 'm.manifest');
    fs.writeFileSync(file, content);
    const progress: number[] = [];
    const sync = JSON.stringify(validateManifestSync(content));
    expect(JSON.stringify(await validateManifest(file, { onProgress: (n) => progress.push(n) }))).toBe(sync);
    expect(JSON.stringify(await validateManifest(Buffer.from(content)))).toBe(sync);
    expect(JSON.stringify(await validateManifest(Readable.from([content.slice(0, 33), content.slice(33)])))).toBe(sync);
    expect(progress).toEqual([Buffer.byteLength(content)]);
  });

  test('a file that cannot be read rejects with ManifestFileError', async () => {
    await expect(validateManifest(path.join(dir, 'missing.manifest'))).rejects.toBeInstanceOf(ManifestFileError);
    await expect(validateManifest(path.join(dir, 'missing.manifest'))).rejects.toThrow('manifest not found');
  });

  test('the push API: lines in, one report out; no pushing after finish', () => {
    const v = new ManifestValidator();
    v.push({ lineNumber: 1, text: clsLine('s3://bucket/a.jpg', 'cat'), tooLong: false, length: 0 });
    v.push({ lineNumber: 2, text: clsLine('s3://bucket/b.jpg', 'dog'), tooLong: false, length: 0 });
    const r = v.finish();
    expect([r.valid, r.validLines]).toEqual([true, 2]);
    expect(() => v.push({ lineNumber: 3, text: '{}', tooLong: false, length: 2 })).toThrow('ManifestValidator: push() after finish()');
  });
});
