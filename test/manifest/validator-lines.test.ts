import { ManifestIssue } from '../../lib/manifest/types';
import { LineResult, validateManifestSync } from '../../lib/manifest/validator';
import { box, clsLine, clsMeta, detLine, manifest } from './helpers';

const A = 's3://bucket/a.jpg';
const B = 's3://bucket/b.jpg';

/** Validates the lines and returns the results of the non-blank ones, by line number. */
function results(lines: string[]): Map<number, LineResult> {
  const out = new Map<number, LineResult>();
  validateManifestSync(manifest(lines), { onLine: (r) => out.set(r.lineNumber, r) });
  return out;
}

function only(line: string): LineResult {
  return results([line]).get(1)!;
}

function codes(issues: ManifestIssue[]): Array<[string, string, string | undefined, number | undefined]> {
  return issues.map((i) => [i.code, i.level, i.attribute, i.annotationIndex]);
}

describe('valid lines', () => {
  test('an image-level line', () => {
    const r = only(clsLine(A, 'Sunrise'));
    expect(r).toMatchObject({ status: 'valid', dropped: false, sourceRef: A, bucket: 'bucket', key: 'a.jpg', kind: 'IMAGE_LEVEL_LABELS' });
    expect(r.labels).toEqual(['Sunrise']);
    expect(r.errors).toEqual([]);
  });

  test('a multi-label line: one attribute per label', () => {
    const line = JSON.stringify({
      'source-ref': A,
      'sport0': 0, 'sport0-metadata': clsMeta('football'),
      'sport1': 1, 'sport1-metadata': clsMeta('ball'),
    });
    expect(only(line).labels).toEqual(['football', 'ball']);
  });

  test('the reference example of a bounding-box line', () => {
    const line = '{"source-ref":"s3://bucket/images/IMG_1186.png","bounding-box":{"image_size":[{"width":640,"height":480,"depth":3}],'
      + '"annotations":[{"class_id":1,"top":251,"left":399,"width":155,"height":101},{"class_id":0,"top":65,"left":86,"width":220,'
      + '"height":334}]},"bounding-box-metadata":{"objects":[{"confidence":1},{"confidence":1}],"class-map":{"0":"Echo","1":"Echo Dot"},'
      + '"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2013-11-18T02:53:27","job-name":"my job"}}';
    const r = only(line);
    expect(r.status).toBe('valid');
    expect(r.kind).toBe('OBJECT_LOCALIZATION');
    expect(r.imageSize).toEqual({ width: 640, height: 480 });
    expect(r.boxes).toEqual([
      { label: 'Echo Dot', left: 399, top: 251, width: 155, height: 101 },
      { label: 'Echo', left: 86, top: 65, width: 220, height: 334 },
    ]);
    expect(r.labels).toEqual(['Echo Dot', 'Echo']);
  });

  test('a line with both formats is kind BOTH', () => {
    const det = JSON.parse(detLine(A, [box(0)])) as Record<string, unknown>;
    const line = JSON.stringify({ ...det, 'cls': 1, 'cls-metadata': clsMeta('Cat') });
    const r = only(line);
    expect(r.kind).toBe('BOTH');
    expect(r.labels).toEqual(['Cat', 'label0']);
  });

  test('creation-date: Z and a zero offset are UTC; +02:00 is not', () => {
    expect(only(clsLine(A, 'x', { meta: { 'creation-date': '2020-03-06T17:46:39Z' } })).status).toBe('valid');
    expect(only(clsLine(A, 'x', { meta: { 'creation-date': '2020-03-06T17:46:39+00:00' } })).status).toBe('valid');
    expect(only(clsLine(A, 'x', { meta: { 'creation-date': '2020-03-06T17:46:39+02:00' } })).status).toBe('invalid');
  });
});

describe('dropped lines (reference §6.3 C)', () => {
  test('ERROR_INVALID_JSON_LINE: bad JSON and JSON that is not an object', () => {
    const rs = results([clsLine(A, 'x'), '{"source-ref": "s3://bucket/b.jpg",', '[1,2]']);
    for (const n of [2, 3]) {
      expect(rs.get(n)).toMatchObject({ status: 'invalid', dropped: true });
      expect(rs.get(n)!.errors).toEqual([expect.objectContaining({
        line: n, code: 'ERROR_INVALID_JSON_LINE', message: 'The JSON Line has an invalid format.', level: 'line',
      })]);
    }
  });

  test('ERROR_MISSING_SOURCE_REF', () => {
    const r = only(JSON.stringify({ 'label': 1, 'label-metadata': clsMeta('x') }));
    expect(r.dropped).toBe(true);
    expect(codes(r.errors)).toEqual([['ERROR_MISSING_SOURCE_REF', 'line', undefined, undefined]]);
    expect(r.errors[0].message).toBe('The source-ref key is missing.');
  });

  test.each([
    ['an https URL', 'https://bucket.s3.amazonaws.com/a.jpg'],
    ['no key', 's3://bucket'],
    ['an empty key', 's3://bucket/'],
    ['a number', 42],
  ])('ERROR_INVALID_SOURCE_REF_FORMAT: %s', (_name, ref) => {
    const r = only(JSON.stringify({ 'source-ref': ref, 'label': 1, 'label-metadata': clsMeta('x') }));
    expect(r.dropped).toBe(true);
    expect(codes(r.errors)).toEqual([['ERROR_INVALID_SOURCE_REF_FORMAT', 'line', undefined, undefined]]);
  });

  test('ERROR_DUPLICATE_SOURCE_REF on the later line only', () => {
    const rs = results([clsLine(A, 'x'), clsLine(B, 'y'), clsLine(A, 'z')]);
    expect(rs.get(1)!.status).toBe('valid');
    expect(rs.get(3)).toMatchObject({ status: 'invalid', dropped: true });
    expect(codes(rs.get(3)!.errors)).toEqual([['ERROR_DUPLICATE_SOURCE_REF', 'line', undefined, undefined]]);
  });

  test('ERROR_JSON_LINE_TOO_LONG for a 150,000-character line', () => {
    const long = clsLine(A, 'x', { extra: { pad: 'p'.repeat(150_000) } });
    const rs = results([clsLine(B, 'y'), long]);
    expect(rs.get(2)).toMatchObject({ status: 'invalid', dropped: true, text: '' });
    expect(codes(rs.get(2)!.errors)).toEqual([['ERROR_JSON_LINE_TOO_LONG', 'line', undefined, undefined]]);
  });
});

describe('line-level errors and warnings (reference §6.3 D)', () => {
  test('ERROR_NO_LABEL_ATTRIBUTES: an attribute without its metadata', () => {
    const r = only(JSON.stringify({ 'source-ref': A, 'label': 1 }));
    expect(r).toMatchObject({ status: 'invalid', dropped: false });
    expect(codes(r.errors)).toEqual([['ERROR_NO_LABEL_ATTRIBUTES', 'line', undefined, undefined]]);
  });

  test('WARNING_UNANNOTATED_RECORD: a line with only its source-ref is ignored', () => {
    const r = only(JSON.stringify({ 'source-ref': A }));
    expect(r.status).toBe('ignored');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([expect.objectContaining({ line: 1, code: 'WARNING_UNANNOTATED_RECORD', message: 'Record is unannotated.' })]);
  });

  test('WARNING_NO_ANNOTATIONS: a human-annotated detection line without boxes', () => {
    const r = only(detLine(A, [], { human: 'yes' }));
    expect(r.status).toBe('ignored');
    expect(r.warnings.map((w) => [w.code, w.message, w.attribute])).toEqual([['WARNING_NO_ANNOTATIONS', 'No annotations provided.', 'bounding-box']]);
  });

  test('WARNING_NO_ATTRIBUTE_ANNOTATIONS: annotations missing on a line not human-annotated', () => {
    const line = JSON.parse(detLine(A, [], { human: 'no' })) as { 'bounding-box': Record<string, unknown> };
    delete line['bounding-box'].annotations;
    const r = only(JSON.stringify(line));
    expect(r.status).toBe('ignored');
    expect(r.warnings.map((w) => [w.code, w.message])).toEqual([['WARNING_NO_ATTRIBUTE_ANNOTATIONS', 'No attribute annotations provided.']]);
  });

  test('ERROR_TOO_MANY_BOUNDING_BOXES above 50; 50 is fine', () => {
    const boxes = (n: number) => Array.from({ length: n }, () => box(0, 1, 1, 10, 10));
    expect(only(detLine(A, boxes(50))).status).toBe('valid');
    const r = only(detLine(A, boxes(51)));
    expect(r.status).toBe('invalid');
    expect(codes(r.errors)).toEqual([['ERROR_TOO_MANY_BOUNDING_BOXES', 'line', 'bounding-box', undefined]]);
    expect(r.errors[0].message).toBe('There are more bounding boxes than the allowed maximum.');
  });

  test('ERROR_NO_VALID_ANNOTATIONS when every box is invalid', () => {
    const r = only(detLine(A, [box(0, -1, 0, 10, 10), box(1, 700, 0, 10, 10)]));
    expect(r.status).toBe('invalid');
    expect(codes(r.errors)).toEqual([
      ['ERROR_INVALID_BOUNDING_BOX', 'annotation', 'bounding-box', 0],
      ['ERROR_INVALID_BOUNDING_BOX', 'annotation', 'bounding-box', 1],
      ['ERROR_NO_VALID_ANNOTATIONS', 'line', 'bounding-box', undefined],
    ]);
    expect(r.labels).toEqual([]);
    expect(r.boxes).toEqual([]);
  });

  test('ERROR_NO_VALID_LABEL_ATTRIBUTES when every attribute is invalid', () => {
    const r = only(clsLine(A, 'x', { meta: { confidence: 2 } }));
    expect(r.status).toBe('invalid');
    expect(codes(r.errors)).toEqual([
      ['ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT', 'metadata', 'label', undefined],
      ['ERROR_NO_VALID_LABEL_ATTRIBUTES', 'line', undefined, undefined],
    ]);
    expect(r.errors[1].message).toBe('No valid label attributes found.');
  });
});

describe('attribute, metadata and annotation errors', () => {
  test.each([
    ['a string', '1'],
    ['a fraction', 1.5],
  ])('ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT: an image-level value that is %s', (_n, value) => {
    const r = only(clsLine(A, 'x', { attr: 'cat-or-dog', value }));
    expect(r.status).toBe('invalid');
    expect(r.errors[0]).toMatchObject({
      code: 'ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT', level: 'attribute', attribute: 'cat-or-dog',
      message: 'The format of the label attribute cat-or-dog is invalid.',
    });
  });

  test('ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT: image_size must be a one-element array; box values must be integers', () => {
    const two = JSON.parse(detLine(A, [box(0)])) as { 'bounding-box': { image_size: unknown[] } };
    two['bounding-box'].image_size.push({ width: 1, height: 1, depth: 3 });
    expect(only(JSON.stringify(two)).errors[0]).toMatchObject({ code: 'ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT', level: 'attribute' });
    const frac = only(detLine(A, [{ classId: 0, left: 1.5, top: 1, width: 10, height: 10 }]));
    expect(frac.status).toBe('invalid');
    expect(frac.errors[0]).toMatchObject({ code: 'ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT', attribute: 'bounding-box' });
  });

  test.each([
    ['confidence over 1', { confidence: 1.5 }],
    ['human-annotated not yes/no', { 'human-annotated': 'maybe' }],
    ['no creation-date', { 'creation-date': undefined }],
    ['a class-name that is not a string', { 'class-name': 3 }],
  ])('ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT: %s', (_n, meta) => {
    const r = only(clsLine(A, 'x', { meta }));
    expect(r.errors[0]).toMatchObject({
      line: 1, code: 'ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT', level: 'metadata', attribute: 'label',
      message: 'The format of the label attribute metadata is invalid.',
    });
  });

  test('ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT: a detection class-map that is not an object', () => {
    const r = only(detLine(A, [box(0)], { meta: { 'class-map': ['label0'] } }));
    expect(codes(r.errors)[0]).toEqual(['ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT', 'metadata', 'bounding-box', undefined]);
  });

  test('ERROR_UNSUPPORTED_USE_CASE_TYPE names the type', () => {
    const r = only(clsLine(A, 'x', { meta: { type: 'groundtruth/image-classification-multilabel' } }));
    expect(r.status).toBe('invalid');
    expect(r.errors[0]).toMatchObject({
      code: 'ERROR_UNSUPPORTED_USE_CASE_TYPE', level: 'attribute', attribute: 'label',
      message: 'The use case type groundtruth/image-classification-multilabel is not supported.',
    });
  });

  test('ERROR_INVALID_LABEL_NAME_LENGTH above 256 characters; 256 is fine', () => {
    expect(only(clsLine(A, 'n'.repeat(256))).status).toBe('valid');
    const name = 'n'.repeat(257);
    const r = only(clsLine(A, name));
    expect(r.errors[0]).toMatchObject({
      code: 'ERROR_INVALID_LABEL_NAME_LENGTH', level: 'attribute', message: `The label name ${name} is longer than 256 characters.`,
    });
    const det = only(detLine(A, [box(0), box(1)], { classMap: { 0: name, 1: 'ok' } }));
    expect(det.status).toBe('valid');
    expect(det.labels).toEqual(['ok']);
    expect(codes(det.errors)).toEqual([['ERROR_INVALID_LABEL_NAME_LENGTH', 'attribute', 'bounding-box', undefined]]);
  });

  test('ERROR_MISSING_CLASS_MAP_ID drops the box only', () => {
    const r = only(detLine(A, [box(0), box(7)], { classMap: { 0: 'Echo' } }));
    expect(r.status).toBe('valid');
    expect(r.labels).toEqual(['Echo']);
    expect(codes(r.errors)).toEqual([['ERROR_MISSING_CLASS_MAP_ID', 'annotation', 'bounding-box', 1]]);
    expect(r.errors[0].message).toBe('One of more class ids is missing from the class map.');
  });

  test('ERROR_MISSING_BOUNDING_BOX_CONFIDENCE sits in the metadata; the box is dropped', () => {
    const r = only(detLine(A, [box(0), box(1)], { objects: [{ confidence: 1 }, {}] }));
    expect(r.status).toBe('valid');
    expect(r.boxes.map((b) => b.label)).toEqual(['label0']);
    expect(codes(r.errors)).toEqual([['ERROR_MISSING_BOUNDING_BOX_CONFIDENCE', 'metadata', 'bounding-box', undefined]]);
    expect(r.errors[0].message).toBe('One or more bounding boxes has a missing confidence value.');
  });

  test('ERROR_INVALID_BOUNDING_BOX: negative values and boxes beyond image_size; a box touching the edge is fine', () => {
    const r = only(detLine(A, [box(0, 0, 0, 640, 480), box(1, -1, 5, 10, 10), box(2, 600, 5, 41, 10), box(3, 5, 471, 10, 10)]));
    expect(r.status).toBe('valid');
    expect(r.boxes.map((b) => b.label)).toEqual(['label0']);
    expect(codes(r.errors)).toEqual([1, 2, 3].map((i) => ['ERROR_INVALID_BOUNDING_BOX', 'annotation', 'bounding-box', i]));
    expect(r.errors[0].message).toBe('The bounding box has off frame values.');
  });

  test('ERROR_BOUNDING_BOX_TOO_SMALL: 1 px sides, and sides that shrink to 1 px when the image is scaled to 1280', () => {
    // 2560 px wide: boxes are scaled by 0.5, so 2 px becomes 1 px (too small) and 3 px becomes 1.5 px (fine).
    const r = only(detLine(A, [box(0, 0, 0, 1, 10), box(1, 0, 0, 2, 2), box(2, 0, 0, 3, 3), box(3, 0, 0, 0, 5)], { size: [2560, 1000] }));
    expect(r.status).toBe('valid');
    expect(r.boxes.map((b) => b.label)).toEqual(['label2']);
    expect(codes(r.errors)).toEqual([0, 1, 3].map((i) => ['ERROR_BOUNDING_BOX_TOO_SMALL', 'annotation', 'bounding-box', i]));
    expect(r.errors[0].message).toBe('The height and width of the bounding box is too small.');
    // Unscaled image: 2x2 is fine.
    expect(only(detLine(A, [box(0, 0, 0, 2, 2)])).status).toBe('valid');
  });

  test('an invalid attribute next to a valid one: the line stays valid and keeps the error', () => {
    const line = JSON.stringify({
      'source-ref': A,
      'good': 1, 'good-metadata': clsMeta('cat'),
      'bad': 1, 'bad-metadata': clsMeta('dog', { confidence: -1 }),
    });
    const r = only(line);
    expect(r.status).toBe('valid');
    expect(r.labels).toEqual(['cat']);
    expect(codes(r.errors)).toEqual([['ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT', 'metadata', 'bad', undefined]]);
  });
});

describe('annotated lines (reference §6.4)', () => {
  test('errors are written at the annotation, metadata and top levels', () => {
    const r = only(detLine(A, [box(0), box(1, -5)], { objects: [{ confidence: 1 }] }));
    const out = JSON.parse(r.annotated()) as {
      'bounding-box': { annotations: Array<{ errors?: unknown[] }> };
      'bounding-box-metadata': { errors?: unknown[] };
      'errors'?: unknown[];
    };
    // box 1 lacks a confidence: dropped before its frame is checked
    expect(out['bounding-box-metadata'].errors).toEqual([
      { code: 'ERROR_MISSING_BOUNDING_BOX_CONFIDENCE', message: 'One or more bounding boxes has a missing confidence value.' },
    ]);
    expect(out['bounding-box'].annotations[0].errors).toBeUndefined();

    const r2 = only(detLine(A, [box(0), box(1, -5)]));
    const out2 = JSON.parse(r2.annotated()) as typeof out;
    expect(out2['bounding-box'].annotations[1].errors).toEqual([{ code: 'ERROR_INVALID_BOUNDING_BOX', message: 'The bounding box has off frame values.' }]);

    const r3 = only(detLine(A, [box(0, -5)]));
    const out3 = JSON.parse(r3.annotated()) as typeof out;
    expect(out3.errors).toEqual([{ code: 'ERROR_NO_VALID_ANNOTATIONS', message: 'No valid annotations found.' }]);
  });

  test('an image-level attribute error goes into its metadata; an unparsable line becomes {"errors": [...]}', () => {
    const r = only(clsLine(A, 'x', { value: 'one' }));
    const out = JSON.parse(r.annotated()) as { 'label-metadata': { errors: unknown[] }; errors: unknown[] };
    expect(out['label-metadata'].errors).toEqual([{ code: 'ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT', message: 'The format of the label attribute label is invalid.' }]);
    expect(out.errors).toEqual([{ code: 'ERROR_NO_VALID_LABEL_ATTRIBUTES', message: 'No valid label attributes found.' }]);
    expect(JSON.parse(only('{nope').annotated())).toEqual({ errors: [{ code: 'ERROR_INVALID_JSON_LINE', message: 'The JSON Line has an invalid format.' }] });
  });
});

describe('onLine', () => {
  test('is called in order for non-blank lines only', () => {
    const seen: number[] = [];
    validateManifestSync(`${clsLine(A, 'x')}\n\n${clsLine(B, 'y')}\r\n  \n{bad\n`, { onLine: (r) => seen.push(r.lineNumber) });
    expect(seen).toEqual([1, 3, 5]);
  });
});
