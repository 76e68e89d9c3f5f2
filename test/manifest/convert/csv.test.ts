import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import { convertCsv, CsvParser, csvToManifestLines, parseCsv } from '../../../lib/manifest/convert/csv';
import { drain, slowSink, tempDir, validateLines } from './helpers';

const DATE = '2024-01-02T03:04:05';
type Line = Record<string, unknown>;

describe('CsvParser (RFC 4180)', () => {
  test('quoted fields with commas, doubled quotes and newlines; CRLF rows; a BOM; no final newline', () => {
    const text = '\ufeffimage,label\r\n"a,1.jpg","say ""hi"""\r\nb.jpg,"two\nlines"\r\nc.jpg,x';
    expect(parseCsv(text)).toEqual([
      ['image', 'label'],
      ['a,1.jpg', 'say "hi"'],
      ['b.jpg', 'two\nlines'],
      ['c.jpg', 'x'],
    ]);
  });

  test('empty fields, trailing commas and blank rows', () => {
    expect(parseCsv('a,,b,\n\nc\n')).toEqual([['a', '', 'b', ''], [], ['c']]);
  });

  test('the same records whatever the chunk boundaries', () => {
    // GIVEN a text with every special case, fed one character at a time
    const text = '\ufeff"x,""y""",z\r\n"multi\r\nline",q\r\nplain,"",end\r\n';
    const p = new CsvParser();
    const records: string[][] = [];
    for (const ch of text) records.push(...p.push(ch));
    records.push(...p.end());
    // THEN the records equal those of the whole text at once
    expect(records).toEqual(parseCsv(text));
    expect(records).toEqual([['x,"y"', 'z'], ['multi\r\nline', 'q'], ['plain', '', 'end']]);
  });
});

describe('csvToManifestLines', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const csv = [
    'image,label',
    'imgs/1.jpg,cat',
    'imgs/2.jpg, dog ,cat',
    '"imgs/3,x.png","dog"',
    's3://other/4.png,cat',
    '',
    'imgs/5.jpg',
    'imgs/6.jpg,,',
    'imgs/1.jpg,dog',
    'https://example.com/7.jpg,cat',
  ].join('\r\n');

  test('single- and multi-label rows, header detected, relative paths and s3:// URIs', () => {
    // WHEN converting CSV content
    const { lines, summary } = drain(csvToManifestLines(Buffer.from(csv), { bucket: 'bkt', prefix: 'p', creationDate: DATE }));
    const parsed = lines.map((l) => JSON.parse(l) as Line);
    // THEN one line per usable row; one attribute per label
    expect(parsed.map((p) => p['source-ref'])).toEqual(['s3://bkt/p/imgs/1.jpg', 's3://bkt/p/imgs/2.jpg', 's3://bkt/p/imgs/3,x.png', 's3://other/4.png']);
    expect(parsed[0]).toEqual({
      'source-ref': 's3://bkt/p/imgs/1.jpg',
      label: 0,
      'label-metadata': {
        'class-name': 'cat', confidence: 1, 'job-name': 'custom-labels/csv', 'human-annotated': 'yes', 'creation-date': DATE,
        type: 'groundtruth/image-classification',
      },
    });
    expect(Object.keys(parsed[1]).sort()).toEqual(['label-0', 'label-0-metadata', 'label-1', 'label-1-metadata', 'source-ref']);
    expect((parsed[1]['label-0-metadata'] as Line)['class-name']).toBe('dog');
    expect((parsed[1]['label-1-metadata'] as Line)['class-name']).toBe('cat');
    expect(summary.labels).toEqual({ cat: { images: 3, boxes: 0 }, dog: { images: 2, boxes: 0 } });
    // AND unusable rows are listed with reasons (blank rows are not)
    expect(summary.skipped).toEqual([
      { item: 'row 7', reason: 'no label for imgs/5.jpg (expected image,label[,label...])' },
      { item: 'row 8', reason: 'no label for imgs/6.jpg (expected image,label[,label...])' },
      { item: 'row 9', reason: "imgs/1.jpg is on an earlier row; put all of an image's labels on one row" },
      { item: 'row 10', reason: 'the image must be a relative path or an s3:// URI, got: https://example.com/7.jpg' },
    ]);
  });

  test('a first row that names an image is data; header: true|false overrides the guess', () => {
    const text = 'a.jpg,cat\nb.jpg,dog\n';
    expect(drain(csvToManifestLines(Buffer.from(text), { bucket: 'b' })).lines).toHaveLength(2);
    expect(drain(csvToManifestLines(Buffer.from(text), { bucket: 'b', header: true })).lines).toHaveLength(1);
    expect(drain(csvToManifestLines(Buffer.from('file,label\nb.jpg,dog\n'), { bucket: 'b' })).lines).toHaveLength(1);
    const forced = drain(csvToManifestLines(Buffer.from('file,label\nb.jpg,dog\n'), { bucket: 'b', header: false })).lines;
    expect(forced.map((l) => (JSON.parse(l) as Line)['source-ref'])).toEqual(['s3://b/file', 's3://b/b.jpg']);
  });

  test('the output passes the validator and its label counts round-trip', async () => {
    const rows = ['image,labels'];
    for (let i = 0; i < 30; i++) rows.push(`img/${i}.jpg,${['cat', 'dog', 'bird'][i % 3]}${i % 4 === 0 ? ',pet' : ''}`);
    const { lines, summary } = drain(csvToManifestLines(Buffer.from(rows.join('\n')), { bucket: 'bkt' }));
    const report = await validateLines(lines);
    expect(report.errors).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.validLines).toBe(30);
    expect(report.labels).toEqual(summary.labels);
    expect(summary.labels.pet).toEqual({ images: 8, boxes: 0 });
  });

  test('a path is read from disk; a string holding a newline is content', () => {
    const file = path.join(dir, 'labels.csv');
    fs.writeFileSync(file, 'a.jpg,cat\nb.jpg,dog\n');
    const fromFile = drain(csvToManifestLines(file, { bucket: 'b', creationDate: DATE })).lines;
    const fromText = drain(csvToManifestLines('a.jpg,cat\nb.jpg,dog\n', { bucket: 'b', creationDate: DATE })).lines;
    expect(fromFile).toHaveLength(2);
    expect(fromText).toEqual(fromFile);
  });

  test('a missing CSV file and a folder give clear errors', () => {
    const missing = path.join(dir, 'missing.csv');
    expect(() => drain(csvToManifestLines(missing, { bucket: 'b' }))).toThrow(`file not found: ${missing}`);
    expect(() => drain(csvToManifestLines(dir, { bucket: 'b' }))).toThrow(`${dir} is a directory, not a file`);
  });

  test('a label over 256 characters skips its row', () => {
    const { lines, summary } = drain(csvToManifestLines(Buffer.from(`a.jpg,${'x'.repeat(257)}\nb.jpg,ok\n`), { bucket: 'b' }));
    expect(lines).toHaveLength(1);
    expect(summary.skipped).toEqual([{ item: 'row 1', reason: `the label is 257 characters long, the service allows at most 256: ${'x'.repeat(40)}...` }]);
  });
});

describe('convertCsv (streams)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  test('from a file, row by row, the same bytes as the sync core, with backpressure and progress', async () => {
    // GIVEN a CSV of 20,000 rows
    const rows = ['image,label'];
    for (let i = 0; i < 20000; i++) rows.push(`img/${i}.png,"label ${i % 7}"`);
    const file = path.join(dir, 'big.csv');
    fs.writeFileSync(file, rows.join('\r\n'));
    const sink = slowSink();
    const progress: Array<[number, number | undefined]> = [];
    // WHEN converting the file to a slow stream
    const summary = await convertCsv(file, { bucket: 'b', creationDate: DATE }, sink.stream, (r, t) => progress.push([r, t]));
    await new Promise<void>((resolve) => sink.stream.end(resolve));
    // THEN the output equals the sync core's, backpressure was honoured and progress reached the file size
    const sync = drain(csvToManifestLines(file, { bucket: 'b', creationDate: DATE }));
    expect(sink.text()).toBe(sync.lines.join('\n') + '\n');
    expect(summary).toEqual(sync.summary);
    expect(summary.lines).toBe(20000);
    expect(sink.violations()).toBe(0);
    const size = fs.statSync(file).size;
    expect(progress[progress.length - 1]).toEqual([size, size]);
  });

  test('from a readable stream split at awkward places', async () => {
    const text = 'image,label\n"a ""q"".jpg",cat\nb.jpg,dog\n';
    const chunks = [Buffer.from(text.slice(0, 7)), Buffer.from(text.slice(7, 15)), Buffer.from(text.slice(15))];
    const sink = slowSink();
    const summary = await convertCsv(Readable.from(chunks), { bucket: 'b', creationDate: DATE }, sink.stream);
    await new Promise<void>((resolve) => sink.stream.end(resolve));
    const lines = sink.text().trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => l['source-ref'])).toEqual(['s3://b/a "q".jpg', 's3://b/b.jpg']);
    expect(summary.labels).toEqual({ cat: { images: 1, boxes: 0 }, dog: { images: 1, boxes: 0 } });
  });

  test('a multi-byte character split across chunks survives', async () => {
    const text = Buffer.from('ç.jpg,été\n');
    const chunks = [text.subarray(0, 1), text.subarray(1, 8), text.subarray(8)];
    const sink = slowSink();
    await convertCsv(Readable.from(chunks), { bucket: 'b' }, sink.stream);
    await new Promise<void>((resolve) => sink.stream.end(resolve));
    const line = JSON.parse(sink.text()) as Line;
    expect(line['source-ref']).toBe('s3://b/ç.jpg');
    expect((line['label-metadata'] as Line)['class-name']).toBe('été');
  });

  test('rows the byte path cannot copy give the same bytes as the text path, from a file, a Buffer and a stream', async () => {
    // GIVEN rows of every kind: padded and quoted fields, doubled quotes, a quoted newline, CRLF, a BOM, non-ASCII,
    // a backslash, a tab, s3:// and ./ paths, a duplicate, a repeated label, a blank row and a too-long label
    const text = '\ufeffimage,label\r\n' + [
      'a.jpg,"  pad  "', ' b.jpg , cat , cat ', '"c,1.jpg",dog', '"say ""hi"".jpg",cat', 'd.jpg,"two\r\nlines"', 'é.jpg,été',
      'e\\f.jpg,cat', 'g.jpg,tab\there', 's3://other/h.jpg,cat', './i.jpg,dog', 'a.jpg,dog', '', `j.jpg,${'x'.repeat(257)}`,
      'k.jpg,cat,dog,cat', 'l.jpg,"q" tail', 'm.jpg,cat',
    ].join('\r\n');
    const file = path.join(dir, 'tricky.csv');
    fs.writeFileSync(file, text);
    const options = { bucket: 'b', prefix: 'p', creationDate: DATE };
    const expected = drain(csvToManifestLines(text, options));
    const convert = async (source: string | Buffer | Readable): Promise<[string, unknown]> => {
      const sink = slowSink();
      const summary = await convertCsv(source, options, sink.stream);
      await new Promise<void>((resolve) => sink.stream.end(resolve));
      return [sink.text(), summary];
    };
    // WHEN converting the bytes (a stream in 3-byte chunks splits the BOM and every multi-byte character)
    const bytes = Buffer.from(text);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 3) chunks.push(bytes.subarray(i, i + 3));
    // THEN each gives the text path's lines and summary
    for (const source of [file, bytes, Readable.from(chunks)]) {
      expect(await convert(source)).toEqual([expected.lines.join('\n') + '\n', expected.summary]);
    }
    // AND the fields were read as CSV says: trimmed inside quotes, doubled quotes, text after a closing quote (and a
    // backslash in a path is a folder separator)
    const names = expected.lines.map((l) => JSON.parse(l) as Line).map((l) => [l['source-ref'],
      ((l['label-metadata'] ?? l['label-0-metadata']) as Line)['class-name']]);
    expect(names).toEqual([['s3://b/p/a.jpg', 'pad'], ['s3://b/p/b.jpg', 'cat'], ['s3://b/p/c,1.jpg', 'dog'], ['s3://b/p/say "hi".jpg', 'cat'],
      ['s3://b/p/d.jpg', 'two\r\nlines'], ['s3://b/p/é.jpg', 'été'], ['s3://b/p/e/f.jpg', 'cat'], ['s3://b/p/g.jpg', 'tab\there'],
      ['s3://other/h.jpg', 'cat'], ['s3://b/p/i.jpg', 'dog'], ['s3://b/p/k.jpg', 'cat'], ['s3://b/p/l.jpg', 'q tail'], ['s3://b/p/m.jpg', 'cat']]);
    expect(expected.summary.skipped.map((s) => s.item)).toEqual(['row 12', 'row 14']);
  });

  test('to a file stream: a manifest many buffers long is written whole, buffers being reused', async () => {
    // GIVEN 40,000 rows (about 11 MB of manifest: many output buffers, more than the writer queues)
    const rows = ['image,label'];
    for (let i = 0; i < 40000; i++) rows.push(`img/${i}.png,${i % 3 === 0 ? `"label ${i % 5}"` : `l${i % 11}`}${i % 7 === 0 ? ',extra' : ''}`);
    const file = path.join(dir, 'big.csv');
    fs.writeFileSync(file, rows.join('\n'));
    const out = path.join(dir, 'out.manifest');
    // WHEN converting to an fs.WriteStream
    const stream = fs.createWriteStream(out, { highWaterMark: 1024 * 1024 });
    const summary = await convertCsv(file, { bucket: 'b', creationDate: DATE }, stream);
    await new Promise<void>((resolve) => stream.end(resolve));
    // THEN the file holds exactly the sync core's lines (a buffer reused too early would corrupt some)
    const sync = drain(csvToManifestLines(file, { bucket: 'b', creationDate: DATE }));
    expect(fs.readFileSync(out, 'utf8')).toBe(sync.lines.join('\n') + '\n');
    expect(summary).toEqual(sync.summary);
    expect(summary.lines).toBe(40000);
    // AND no listener is left on the caller's stream
    expect(stream.listenerCount('drain')).toBe(0);
    expect(stream.listenerCount('error')).toBe(0);
  });
});
