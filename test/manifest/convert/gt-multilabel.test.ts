import * as fs from 'node:fs';
import * as path from 'node:path';

import { convertGroundTruthMultiLabel, groundTruthMultiLabelToManifestLines } from '../../../lib/manifest/convert/gt-multilabel';
import { drain, slowSink, tempDir, validateLines } from './helpers';

type Line = Record<string, unknown>;

function gtLine(ref: string, ids: unknown[], extra: Line = {}): string {
  return JSON.stringify({
    'source-ref': ref,
    sport: ids,
    'sport-metadata': {
      'job-name': 'labeling-job/sport',
      'class-map': { 0: 'football', 1: 'ball', 2: 'goal' },
      'human-annotated': 'yes',
      'creation-date': '2018-10-18T22:18:13.527256',
      'confidence-map': { 0: 0.8, 1: 0.95 },
      type: 'groundtruth/image-classification-multilabel',
    },
    ...extra,
  });
}

describe('groundTruthMultiLabelToManifestLines', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  test('one classification attribute per label, metadata carried over', () => {
    // WHEN converting a multi-label line
    const { lines, summary } = drain(groundTruthMultiLabelToManifestLines(gtLine('s3://b/1.jpg', [0, 2]) + '\n', { bucket: 'b' }));
    // THEN each label has its own attribute of type image-classification
    expect(JSON.parse(lines[0])).toEqual({
      'source-ref': 's3://b/1.jpg',
      'sport-0': 0,
      'sport-0-metadata': {
        'class-name': 'football', confidence: 0.8, 'job-name': 'labeling-job/sport', 'human-annotated': 'yes',
        'creation-date': '2018-10-18T22:18:13.527256', type: 'groundtruth/image-classification',
      },
      'sport-1': 2,
      'sport-1-metadata': {
        'class-name': 'goal', confidence: 1, 'job-name': 'labeling-job/sport', 'human-annotated': 'yes',
        'creation-date': '2018-10-18T22:18:13.527256', type: 'groundtruth/image-classification',
      },
    });
    expect(summary).toEqual({ lines: 1, labels: { football: { images: 1, boxes: 0 }, goal: { images: 1, boxes: 0 } }, skipped: [], warnings: [] });
  });

  test('the output passes the validator and its label counts round-trip', async () => {
    const input = [gtLine('s3://b/1.jpg', [0, 1]), gtLine('s3://b/2.jpg', [2]), gtLine('s3://b/3.jpg', [1, 2])].join('\r\n');
    const { lines, summary } = drain(groundTruthMultiLabelToManifestLines(Buffer.from(input), { bucket: 'b' }));
    const report = await validateLines(lines);
    expect(report.errors).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.labels).toEqual(summary.labels);
    expect(summary.labels.ball).toEqual({ images: 2, boxes: 0 });
  });

  test('malformed lines are skipped with clear reasons, the rest converted', () => {
    const input = [
      gtLine('s3://b/1.jpg', [0]),
      '{"source-ref": "s3://b/2.jpg", "sport": [0',
      JSON.stringify({ 'source-ref': 's3://b/3.jpg', sport: [0], 'sport-metadata': { type: 'groundtruth/image-classification-multilabel' } }),
      gtLine('s3://b/4.jpg', [5]),
      gtLine('s3://b/5.jpg', [0, 5]),
      JSON.stringify({ 'source-ref': 's3://b/6.jpg', x: 1, 'x-metadata': { type: 'groundtruth/image-classification' } }),
      gtLine('https://b/7.jpg', [0]),
      gtLine('s3://b/1.jpg', [1]),
      '',
    ].join('\n');
    const { lines, summary } = drain(groundTruthMultiLabelToManifestLines(input, { bucket: 'b' }));
    expect(lines.map((l) => (JSON.parse(l) as Line)['source-ref'])).toEqual(['s3://b/1.jpg', 's3://b/5.jpg']);
    expect(summary.skipped).toEqual([
      { item: 'line 2', reason: "not valid JSON (column 43: expected ',' or ']' after an array element, got the end of the input)" },
      { item: 'line 3', reason: 'attribute sport needs a list of class ids and sport-metadata needs a class-map' },
      { item: 'line 3', reason: 'no label left to convert' },
      { item: 'line 4', reason: 'class id 5 of sport is not in its class-map' },
      { item: 'line 4', reason: 'no label left to convert' },
      { item: 'line 5', reason: 'class id 5 of sport is not in its class-map' },
      { item: 'line 6', reason: 'no multi-label attribute (an attribute with "<attr>-metadata".type "groundtruth/image-classification-multilabel")' },
      { item: 'line 7', reason: 'source-ref is missing or not an s3:// URI' },
      { item: 'line 8', reason: 's3://b/1.jpg is on an earlier line' },
    ]);
  });

  test('a missing file gives a clear error', () => {
    const missing = path.join(dir, 'out.manifest');
    expect(() => drain(groundTruthMultiLabelToManifestLines(missing, { bucket: 'b' }))).toThrow(`file not found: ${missing}`);
  });

  test('convertGroundTruthMultiLabel streams a file line by line to the same output as the sync core', async () => {
    // GIVEN a file of 5,000 lines
    const file = path.join(dir, 'output.manifest');
    fs.writeFileSync(file, Array.from({ length: 5000 }, (_, i) => gtLine(`s3://b/${i}.jpg`, i % 2 ? [0, 1] : [2])).join('\n'));
    const sink = slowSink();
    // WHEN converting to a slow stream
    const summary = await convertGroundTruthMultiLabel(file, { bucket: 'b' }, sink.stream);
    await new Promise<void>((resolve) => sink.stream.end(resolve));
    // THEN the bytes equal the sync core's and backpressure was honoured
    const sync = drain(groundTruthMultiLabelToManifestLines(file, { bucket: 'b' }));
    expect(sink.text()).toBe(sync.lines.join('\n') + '\n');
    expect(summary).toEqual(sync.summary);
    expect(summary.labels).toEqual({ ball: { images: 2500, boxes: 0 }, football: { images: 2500, boxes: 0 }, goal: { images: 2500, boxes: 0 } });
    expect(sink.violations()).toBe(0);
  });

  test('a missing file rejects with the reader\'s message', async () => {
    const missing = path.join(dir, 'nope.manifest');
    await expect(convertGroundTruthMultiLabel(missing, { bucket: 'b' }, slowSink().stream)).rejects.toThrow(`manifest not found: ${missing}`);
  });
});
