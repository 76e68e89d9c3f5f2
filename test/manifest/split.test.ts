import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';

import { mulberry32, splitManifest, splitManifestLines } from '../../lib/manifest/split';

const META = '"confidence":1,"human-annotated":"yes","creation-date":"2024-01-01T00:00:00","type":"groundtruth/image-classification"';

/** An image-level line with one attribute per label. */
function line(ref: string, labels: string[]): string {
  const attrs = labels.map((l, i) => `"l${i}":${i},"l${i}-metadata":{"class-name":${JSON.stringify(l)},${META}}`);
  return `{"source-ref":"s3://bkt/${ref}",${attrs.join(',')}}`;
}

/** `counts[label]` single-label lines per label, interleaved. */
function manifest(counts: Record<string, number>): string {
  const lines: string[] = [];
  for (const [label, n] of Object.entries(counts)) for (let i = 0; i < n; i++) lines.push(line(`${label}/${i}.jpg`, [label]));
  return lines.join('\n') + '\n';
}

function labelsOf(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    const obj = JSON.parse(l) as Record<string, { 'class-name'?: string }>;
    for (const [k, v] of Object.entries(obj)) if (k.endsWith('-metadata') && v['class-name']) out[v['class-name']] = (out[v['class-name']] ?? 0) + 1;
  }
  return out;
}

const refs = (lines: string[]): string[] => lines.map((l) => (JSON.parse(l) as { 'source-ref': string })['source-ref']);

describe('mulberry32', () => {
  test('is deterministic per seed and spreads over [0, 1)', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.filter((x) => x < 0.5).length).toBeGreaterThan(400);
    expect(xs.filter((x) => x < 0.5).length).toBeLessThan(600);
    expect(mulberry32(8)()).not.toBe(mulberry32(7)());
  });
});

describe('splitManifestLines', () => {
  const content = manifest({ cat: 50, dog: 30, bird: 11, rare: 2, lonely: 1 });

  test('the same seed gives the same split; another seed a different one', () => {
    const a = splitManifestLines(content, { testRatio: 0.2, seed: 7 });
    const b = splitManifestLines(Buffer.from(content), { testRatio: 0.2, seed: 7 });
    const c = splitManifestLines(content, { testRatio: 0.2, seed: 8 });
    expect(b.training.join('\n')).toBe(a.training.join('\n'));
    expect(b.testing.join('\n')).toBe(a.testing.join('\n'));
    expect(c.testing.join('\n')).not.toBe(a.testing.join('\n'));
  });

  test('each label gets round(n * ratio) test images, at least 1 when it has 2; no image on both sides', () => {
    // WHEN splitting 20% off
    const { training, testing, result } = splitManifestLines(content, { testRatio: 0.2, seed: 7 });
    // THEN per label: cat 10/40, dog 6/24, bird 2/9 (round(2.2)), rare 1/1, lonely 0/1
    expect(labelsOf(testing)).toEqual({ cat: 10, dog: 6, bird: 2, rare: 1 });
    expect(labelsOf(training)).toEqual({ cat: 40, dog: 24, bird: 9, rare: 1, lonely: 1 });
    expect(result.testing.labels.bird).toEqual({ images: 2, boxes: 0 });
    expect(result.training.lines).toBe(training.length);
    expect(result.testing.lines).toBe(testing.length);
    // AND sides are disjoint and together hold every line
    const train = new Set(refs(training));
    expect(refs(testing).filter((r) => train.has(r))).toEqual([]);
    expect(train.size + testing.length).toBe(94);
    // AND the lonely label is explained
    expect(result.notes).toEqual(['label "lonely" has 1 image: it is in training only (a label needs 2 images to be on both sides)']);
  });

  test('lines keep their input order on each side', () => {
    const { training, testing } = splitManifestLines(content, { testRatio: 0.3, seed: 1 });
    const order = new Map(content.trim().split('\n').map((l, i) => [l, i]));
    for (const side of [training, testing]) {
      const idx = side.map((l) => order.get(l)!);
      expect(idx).toEqual([...idx].sort((x, y) => x - y));
    }
  });

  test('the ratio holds for other ratios too', () => {
    const { testing } = splitManifestLines(content, { testRatio: 0.5, seed: 3 });
    expect(labelsOf(testing)).toEqual({ cat: 25, dog: 15, bird: 6, rare: 1 });
  });

  test('multi-label lines: every label with 2+ images lands on both sides, rarest label first', () => {
    // GIVEN 40 lines; "pet" is on every 4th line together with cat or dog, "x" on two lines only
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      const labels = [i % 2 ? 'cat' : 'dog'];
      if (i % 4 === 0) labels.push('pet');
      if (i === 5 || i === 17) labels.push('x');
      lines.push(line(`m/${i}.jpg`, labels));
    }
    // WHEN splitting 25% off
    const { training, testing, result } = splitManifestLines(lines.join('\n'), { testRatio: 0.25, seed: 11 });
    const te = labelsOf(testing);
    const tr = labelsOf(training);
    // THEN x (2 images) is split 1/1, and each label is near its share
    expect([te.x, tr.x]).toEqual([1, 1]);
    expect(Math.abs(te.pet - 2.5)).toBeLessThanOrEqual(1);
    expect(Math.abs(te.cat - 5)).toBeLessThanOrEqual(1);
    expect(Math.abs(te.dog - 5)).toBeLessThanOrEqual(1);
    expect(result.notes).toEqual([]);
  });

  test('invalid and ignored lines are not split and are reported', () => {
    const text = [line('a.jpg', ['cat']), 'not json', line('b.jpg', ['cat']), '{"source-ref":"s3://bkt/c.jpg"}', line('a.jpg', ['dog']),
      line('d.jpg', ['dog']), line('e.jpg', ['dog'])].join('\n');
    const { training, testing, result } = splitManifestLines(text, { testRatio: 0.5, seed: 1 });
    expect(training.length + testing.length).toBe(4);
    expect(result.skipped).toBe(3);
    expect(result.notes).toHaveLength(1);
    expect(result.notes[0]).toMatch(/^3 line\(s\) not split: 2 invalid, 1 ignored \(first: line 2 \(ERROR_INVALID_JSON_LINE\), line 4 \(WARNING_/);
    expect(result.notes[0]).toContain('line 5 (ERROR_DUPLICATE_SOURCE_REF)');
  });

  test('bad options are refused with clear messages', () => {
    expect(() => splitManifestLines(content, { testRatio: 1, seed: 1 })).toThrow('testRatio must be a number between 0 and 1 (exclusive), got: 1');
    expect(() => splitManifestLines(content, { testRatio: 0, seed: 1 })).toThrow('testRatio must be a number between 0 and 1 (exclusive), got: 0');
    expect(() => splitManifestLines(content, { testRatio: 0.2, seed: 1.5 })).toThrow('seed must be an integer, got: 1.5');
  });
});

describe('splitManifest (streams)', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'split-test-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function sink(): { stream: Writable; text: () => string } {
    const chunks: Buffer[] = [];
    const stream = new Writable({ highWaterMark: 8, write(chunk: Buffer, _e, cb) { chunks.push(Buffer.from(chunk)); setImmediate(cb); } });
    return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
  }

  test('from a file: byte-identical to the sync split', async () => {
    // GIVEN a file of 3,000 lines
    const counts: Record<string, number> = {};
    for (let i = 0; i < 12; i++) counts[`label${i}`] = 50 + i * 20;
    const content = manifest(counts);
    const file = path.join(dir, 'train.manifest');
    fs.writeFileSync(file, content);
    const training = sink();
    const testing = sink();
    // WHEN splitting the file into two slow streams
    const result = await splitManifest(file, { testRatio: 0.2, seed: 42, training: training.stream, testing: testing.stream });
    // THEN the bytes equal the sync split's
    const sync = splitManifestLines(content, { testRatio: 0.2, seed: 42 });
    expect(training.text()).toBe(sync.training.join('\n') + '\n');
    expect(testing.text()).toBe(sync.testing.join('\n') + '\n');
    expect(result).toEqual(sync.result);
  });

  test('from a stream (read once)', async () => {
    const content = manifest({ a: 10, b: 10 });
    const training = new PassThrough();
    const testing = new PassThrough();
    const tr: Buffer[] = [];
    const te: Buffer[] = [];
    training.on('data', (c: Buffer) => tr.push(c));
    testing.on('data', (c: Buffer) => te.push(c));
    const result = await splitManifest(Readable.from([Buffer.from(content)]), { testRatio: 0.2, seed: 5, training, testing });
    const sync = splitManifestLines(content, { testRatio: 0.2, seed: 5 });
    expect(Buffer.concat(te).toString()).toBe(sync.testing.join('\n') + '\n');
    expect(Buffer.concat(tr).toString()).toBe(sync.training.join('\n') + '\n');
    expect(result.testing.labels).toEqual({ a: { images: 2, boxes: 0 }, b: { images: 2, boxes: 0 } });
  });
});
