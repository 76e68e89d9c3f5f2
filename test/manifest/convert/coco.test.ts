import * as fs from 'node:fs';
import * as path from 'node:path';

import { cocoToManifestLines, convertCoco } from '../../../lib/manifest/convert/coco';
import { drain, slowSink, tempDir, validateLines } from './helpers';

const DATE = '2024-01-02T03:04:05';
type Line = Record<string, unknown>;

function coco(): Record<string, unknown[]> {
  return {
    images: [
      { id: 1, file_name: 'a.jpg', width: 640, height: 480, date_captured: '2013-11-14 17:02:52' },
      { id: 2, file_name: 'sub/b.png', width: 200, height: 100 },
      { id: 3, file_name: 'empty.jpg', width: 100, height: 100 },
    ],
    annotations: [
      { id: 10, image_id: 1, category_id: 7, bbox: [10.4, 20.6, 30.2, 40.5] },
      { id: 11, image_id: 1, category_id: 9, bbox: [100, 100, 50, 60] },
      { id: 12, image_id: 2, category_id: 7, bbox: [0, 0, 200.4, 100] },
      { id: 13, image_id: 99, category_id: 7, bbox: [0, 0, 10, 10] },
      { id: 14, image_id: 2, category_id: 42, bbox: [0, 0, 10, 10] },
      { id: 15, image_id: 2, category_id: 9, bbox: [150, 50, 80, 10] },
    ],
    categories: [{ id: 7, name: 'Echo' }, { id: 9, name: 'Echo Dot' }],
  };
}

describe('cocoToManifestLines', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  test('one detection line per annotated image, boxes rounded by their edges, class-map from categories', () => {
    // WHEN converting a small COCO document
    const { lines, summary } = drain(cocoToManifestLines(JSON.stringify(coco()), { bucket: 'bkt', prefix: 'imgs/', creationDate: DATE }));
    const [a, b] = lines.map((l) => JSON.parse(l) as Line);
    // THEN image 1: edges 10.4->10, 20.6->21, 40.6->41, 61.1->61; date_captured becomes the creation-date
    expect(a).toEqual({
      'source-ref': 's3://bkt/imgs/a.jpg',
      'bounding-box': {
        image_size: [{ width: 640, height: 480, depth: 3 }],
        annotations: [
          { class_id: 7, top: 21, left: 10, width: 31, height: 40 },
          { class_id: 9, top: 100, left: 100, width: 50, height: 60 },
        ],
      },
      'bounding-box-metadata': {
        objects: [{ confidence: 1 }, { confidence: 1 }],
        'class-map': { 7: 'Echo', 9: 'Echo Dot' },
        type: 'groundtruth/object-detection',
        'human-annotated': 'yes',
        'creation-date': '2013-11-14T17:02:52',
        'job-name': 'custom-labels/coco',
      },
    });
    // AND image 2: a box 0.4 px past the edge is clamped; the default creation-date is used
    expect((b['bounding-box'] as Line).annotations).toEqual([{ class_id: 7, top: 0, left: 0, width: 200, height: 100 }]);
    expect((b['bounding-box-metadata'] as Line)['creation-date']).toBe(DATE);
    expect((b['bounding-box-metadata'] as Line)['class-map']).toEqual({ 7: 'Echo' });
    expect(lines).toHaveLength(2);
    expect(summary.labels).toEqual({ Echo: { images: 2, boxes: 2 }, 'Echo Dot': { images: 1, boxes: 1 } });
    // AND what was left out is listed with reasons
    expect(summary.skipped).toEqual([
      { item: 'annotation 13', reason: 'image_id 99 is not in images[]' },
      { item: 'annotation 14', reason: 'category_id 42 is not in categories[]' },
      { item: 'annotation 15', reason: 'sub/b.png: bbox [150,50,80,10] lies outside the 200x100 image' },
      { item: 'image 3', reason: 'empty.jpg has no annotations (a detection line without boxes is ignored by the service)' },
    ]);
  });

  test('the output passes the validator and its label counts round-trip', async () => {
    const { lines, summary } = drain(cocoToManifestLines(JSON.stringify(coco()), { bucket: 'bkt' }));
    const report = await validateLines(lines);
    expect(report.errors).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.useCase).toBe('OBJECT_LOCALIZATION');
    expect(report.labels).toEqual(summary.labels);
  });

  test('an image with more than 50 boxes is skipped', () => {
    const doc = coco();
    doc.annotations = Array.from({ length: 51 }, (_, i) => ({ id: i, image_id: 1, category_id: 7, bbox: [i, i, 5, 5] }));
    const { lines, summary } = drain(cocoToManifestLines(Buffer.from(JSON.stringify(doc)), { bucket: 'b' }));
    expect(lines).toEqual([]);
    expect(summary.skipped[0]).toEqual({ item: 'image 1', reason: 'a.jpg has 51 boxes, the service allows at most 50 per image' });
  });

  test('an image listed twice (same file_name) is written once', () => {
    const doc = coco();
    doc.images.push({ id: 4, file_name: './a.jpg', width: 640, height: 480 });
    doc.annotations.push({ id: 16, image_id: 4, category_id: 7, bbox: [1, 1, 5, 5] });
    const { lines, summary } = drain(cocoToManifestLines(JSON.stringify(doc), { bucket: 'b' }));
    expect(lines).toHaveLength(2);
    expect(summary.skipped).toContainEqual({ item: 'image 4', reason: './a.jpg is listed by an earlier image' });
  });

  test('bad documents give clear errors', () => {
    expect(() => drain(cocoToManifestLines('{"images": [', { bucket: 'b' }))).toThrow(/^the COCO file is not valid JSON: /);
    expect(() => drain(cocoToManifestLines('[1, 2]', { bucket: 'b' })))
      .toThrow('the COCO file must be a JSON object with images, annotations and categories arrays');
    expect(() => drain(cocoToManifestLines('{"images": [], "categories": []}', { bucket: 'b' })))
      .toThrow('the COCO file has no annotations array: not a COCO object-detection file');
    const missing = path.join(dir, 'nope.json');
    expect(() => drain(cocoToManifestLines(missing, { bucket: 'b' }))).toThrow(`file not found: ${missing}`);
  });

  test('a 100,000-annotation file converts in linear time', () => {
    // GIVEN 20,000 images with 5 boxes each (an O(images x annotations) join would take minutes)
    const images = Array.from({ length: 20000 }, (_, i) => ({ id: i, file_name: `img/${i}.jpg`, width: 1000, height: 800 }));
    const annotations = Array.from({ length: 100000 }, (_, i) => ({
      id: i, image_id: i % 20000, category_id: i % 3, bbox: [i % 500, i % 400, 40.5, 30.25],
    }));
    const categories = [0, 1, 2].map((id) => ({ id, name: `c${id}` }));
    const file = path.join(dir, 'big.json');
    fs.writeFileSync(file, JSON.stringify({ images, annotations, categories }));
    // WHEN converting
    const started = Date.now();
    const { lines, summary } = drain(cocoToManifestLines(file, { bucket: 'b' }));
    const ms = Date.now() - started;
    // THEN every image has its 5 boxes, well within a few seconds
    expect(lines).toHaveLength(20000);
    expect(summary.labels.c0.boxes + summary.labels.c1.boxes + summary.labels.c2.boxes).toBe(100000);
    expect(ms).toBeLessThan(10000);
  });

  test('convertCoco writes the sync output to a stream', async () => {
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify(coco()));
    const sink = slowSink();
    const summary = await convertCoco(file, { bucket: 'b', creationDate: DATE }, sink.stream);
    await new Promise<void>((resolve) => sink.stream.end(resolve));
    const sync = drain(cocoToManifestLines(file, { bucket: 'b', creationDate: DATE }));
    expect(sink.text()).toBe(sync.lines.join('\n') + '\n');
    expect(summary).toEqual(sync.summary);
  });

  test('bytes (read without JSON.parse) and text (read with it) give the same lines and summary', async () => {
    // GIVEN a document with escapes, non-ASCII, numbers of every form, duplicate keys, unusual values and elements
    const text = '\ufeff{ "info": {"x": [1, {"y": "z\\u0041"}], "n": null},\n "images": [\n'
      + '  {"id": 1, "file_name": "caf\u00e9/\\u00e9t\\u00e9.jpg", "width": 6.4e2, "height": 480, "date_captured": "2013-11-14 17:02:52"},\n'
      + '  {"id": 2, "file_name": "q\\"uote.jpg", "width": 100, "height": 100.0, "extra": [true, false, null]},\n'
      + '  {"id": 3, "file_name": "dup.jpg", "width": 100, "height": 100, "file_name": "last.jpg"},\n'
      + '  null, 7, {"id": {"odd": 1}, "file_name": "odd.jpg", "width": 100, "height": 100}, {}\n ],\n'
      + ' "annotations": [\n'
      + '  {"id": 10, "image_id": 1, "category_id": 7, "bbox": [10.4, 20.6, 30.2, 40.5], "area": 1e3},\n'
      + '  {"id": 11, "image_id": 1, "category_id": 9, "bbox": [1.000000000000000000001, 2.5E+1, 50, 60]},\n'
      + '  {"id": 12, "image_id": 2, "category_id": 7, "bbox": [0, 0, 10, 10], "bbox": [1, 2, 3, 4]},\n'
      + '  {"id": 13, "image_id": 3, "category_id": 7, "bbox": [0, 0, 10, "10"]},\n'
      + '  {"id": 14, "image_id": 3, "category_id": 7, "bbox": [-0.4, -0, 99.9, 1.5e1]},\n'
      + '  {"id": 15, "image_id": true, "category_id": 7, "bbox": [0, 0, 1, 1]}, "not an object",\n'
      + '  {"id": 16, "image_id": 4, "category_id": "7", "bbox": [0, 0, 1, 1]}, {"id": 17, "image_id": 2, "category_id": 9, "bbox": [5, 5, 5]}\n'
      + ' ],\n "categories": [{"id": 7, "name": "Echo"}, {"id": 9, "name": "D\\u00f6t \\"9\\""}, {"id": "7", "name": "seven"}]}\n';
    const options = { bucket: 'b', creationDate: DATE };
    const expected = drain(cocoToManifestLines(text, options));
    // WHEN converting the same document as bytes
    const sink = slowSink();
    const summary = await convertCoco(Buffer.from(text), options, sink.stream);
    await new Promise<void>((resolve) => sink.stream.end(resolve));
    // THEN both read it alike
    expect(sink.text()).toBe(expected.lines.join('\n') + '\n');
    expect(summary).toEqual(expected.summary);
    expect(drain(cocoToManifestLines(Buffer.from(text), options))).toEqual(expected);
    // AND as JSON says: escapes decoded, the last of duplicate keys kept, exponents read
    const parsed = expected.lines.map((l) => JSON.parse(l) as Line);
    expect(parsed.map((l) => l['source-ref'])).toEqual(['s3://b/café/été.jpg', 's3://b/q"uote.jpg', 's3://b/last.jpg']);
    expect((parsed[0]['bounding-box'] as Line).image_size).toEqual([{ width: 640, height: 480, depth: 3 }]);
    expect((parsed[0]['bounding-box'] as Line).annotations).toEqual([
      { class_id: 7, top: 21, left: 10, width: 31, height: 40 }, { class_id: 9, top: 25, left: 1, width: 50, height: 60 }]);
    expect((parsed[1]['bounding-box'] as Line).annotations).toEqual([{ class_id: 7, top: 2, left: 1, width: 3, height: 4 }]);
    expect((parsed[1]['bounding-box-metadata'] as Line)['class-map']).toEqual({ 7: 'Echo' });
    expect((parsed[2]['bounding-box'] as Line).annotations).toEqual([{ class_id: 7, top: 0, left: 0, width: 100, height: 15 }]);
    expect(expected.summary.skipped).toContainEqual({ item: 'annotation 15', reason: 'image_id true is not in images[]' });
    expect(expected.summary.skipped).toContainEqual({ item: 'annotation #6', reason: 'image_id null is not in images[]' });
  });

  test('invalid JSON in a file gives JSON.parse\'s message', () => {
    const file = path.join(dir, 'bad.json');
    const text = '{"images": [], "annotations": [], "categories": [01]}';
    fs.writeFileSync(file, text);
    expect(() => drain(cocoToManifestLines(file, { bucket: 'b' }))).toThrow('the COCO file is not valid JSON: line 1, column 51: invalid number: unexpected \'1\'');
  });
});
