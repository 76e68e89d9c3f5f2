import * as fs from 'node:fs';
import * as path from 'node:path';

import { ConvertError, DEFAULT_CREATION_DATE } from '../../../lib/manifest/convert/common';
import { convertFolders, foldersToManifestLines } from '../../../lib/manifest/convert/folders';
import { drain, slowSink, tempDir, validateLines, writeTree } from './helpers';

const DATE = '2024-01-02T03:04:05.678';

describe('foldersToManifestLines', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  function tree(): string {
    const root = path.join(dir, 'images');
    writeTree(root, {
      'dog/d1.png': 'x',
      'cat/b.JPG': 'x',
      'cat/a.jpeg': 'x',
      'cat/indoor/c.PNG': 'x',
      'cat/notes.txt': 'x',
      'cat/.DS_Store': 'x',
      'README.md': 'x',
    });
    fs.mkdirSync(path.join(root, 'empty'));
    return root;
  }

  test('one image-level line per image, labels from folder names, sorted, nested folders belong to the label', () => {
    // GIVEN a tree with two labels, a nested folder, stray files and an empty label folder
    const root = tree();
    // WHEN converting
    const { lines, summary } = drain(foldersToManifestLines(root, { bucket: 'my-bucket', prefix: 'data', creationDate: DATE }));
    // THEN each image has a line, in sorted order, with its whole relative path
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p['source-ref'])).toEqual([
      's3://my-bucket/data/cat/a.jpeg',
      's3://my-bucket/data/cat/b.JPG',
      's3://my-bucket/data/cat/indoor/c.PNG',
      's3://my-bucket/data/dog/d1.png',
    ]);
    expect(parsed[0]['label-metadata']).toEqual({
      'class-name': 'cat', confidence: 1, 'job-name': 'custom-labels/folders', 'human-annotated': 'yes',
      'creation-date': DATE, type: 'groundtruth/image-classification',
    });
    expect(parsed[3]['label-metadata']).toMatchObject({ 'class-name': 'dog' });
    expect(summary.lines).toBe(4);
    expect(summary.labels).toEqual({ cat: { images: 3, boxes: 0 }, dog: { images: 1, boxes: 0 } });
    // AND stray files and the empty folder are listed with reasons; hidden files are not
    expect(summary.skipped).toEqual([
      { item: 'README.md', reason: 'not inside a label folder (images go in <root>/<label>/)' },
      { item: 'cat/notes.txt', reason: 'not a PNG or JPEG file (.png, .jpg, .jpeg)' },
      { item: 'empty/', reason: 'the label folder holds no images' },
    ]);
  });

  test('the output passes the validator and its label counts round-trip', async () => {
    // GIVEN the converted tree
    const { lines, summary } = drain(foldersToManifestLines(tree(), { bucket: 'my-bucket' }));
    // WHEN validating the lines as a training manifest
    const report = await validateLines(lines);
    // THEN it is valid with no errors and the same labels
    expect(report.errors).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.validLines).toBe(summary.lines);
    expect(report.labels).toEqual(summary.labels);
  });

  test('the default creation-date is fixed (the same folder gives the same manifest), and the prefix is normalised', () => {
    const root = tree();
    const { lines } = drain(foldersToManifestLines(root, { bucket: 'b', prefix: '/x/y/' }));
    const meta = (JSON.parse(lines[0]) as Record<string, { 'creation-date': string }>)['label-metadata'];
    expect(meta['creation-date']).toBe(DEFAULT_CREATION_DATE);
    expect(drain(foldersToManifestLines(root, { bucket: 'b', prefix: '/x/y/' })).lines).toEqual(lines);
    expect((JSON.parse(lines[0]) as Record<string, string>)['source-ref']).toBe('s3://b/x/y/cat/a.jpeg');
  });

  test('a missing folder and a file instead of a folder give clear errors', () => {
    const missing = path.join(dir, 'nope');
    expect(() => drain(foldersToManifestLines(missing, { bucket: 'b' }))).toThrow(`image folder not found: ${missing}`);
    const file = path.join(dir, 'f.txt');
    fs.writeFileSync(file, 'x');
    expect(() => drain(foldersToManifestLines(file, { bucket: 'b' }))).toThrow(`${file} is not a folder (expected <root>/<label>/<image>)`);
    try {
      drain(foldersToManifestLines(missing, { bucket: 'b' }));
    } catch (err) {
      expect(err).toBeInstanceOf(ConvertError);
      expect((err as ConvertError).code).toBe('ENOENT');
    }
  });

  test('a bucket with a path in it is refused', () => {
    expect(() => drain(foldersToManifestLines(tree(), { bucket: 'b/x' }))).toThrow('bucket must be a bucket name without a path, got: "b/x"');
  });

  test('convertFolders writes the same lines to a stream and respects backpressure', async () => {
    // GIVEN many images and a slow sink with a 16-byte buffer
    const root = path.join(dir, 'many');
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`${i % 2 ? 'cat' : 'dog'}/img-${String(i).padStart(5, '0')}.png`] = '';
    writeTree(root, files);
    const sink = slowSink();
    // WHEN converting to the stream
    const summary = await convertFolders(root, { bucket: 'b', creationDate: DATE }, sink.stream);
    await new Promise<void>((resolve) => sink.stream.end(resolve));
    // THEN the stream holds the sync output, and nothing was written while the stream asked to wait
    const { lines } = drain(foldersToManifestLines(root, { bucket: 'b', creationDate: DATE }));
    expect(sink.text()).toBe(lines.join('\n') + '\n');
    expect(summary.lines).toBe(3000);
    expect(sink.waits()).toBeGreaterThan(0);
    expect(sink.violations()).toBe(0);
  });
});
