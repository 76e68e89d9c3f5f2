import { humanAnnotationTime, mergeManifests, selectForReview } from '../../lib/manifest/feedback';
import { validateManifestSync } from '../../lib/manifest/validator';

const human = (ref: string, label: string, date = '2026-01-01T00:00:00.000', attribute = 'label'): string => JSON.stringify({
  'source-ref': `s3://bkt/${ref}`, [attribute]: 0,
  [`${attribute}-metadata`]: { 'confidence': 1, 'class-name': label, 'human-annotated': 'yes', 'creation-date': date,
    'type': 'groundtruth/image-classification', 'job-name': 'labeling-job/x' },
});
const predicted = (ref: string, label: string, confidence: number): string => JSON.stringify({
  'source-ref': `s3://bkt/${ref}`, 'prediction': 0,
  'prediction-metadata': { confidence, 'class-name': label, 'human-annotated': 'no', 'creation-date': '2026-02-01T00:00:00.000',
    'type': 'groundtruth/image-classification', 'job-name': 'batch' },
});
const box = (ref: string, label: string, confidence: number): string => JSON.stringify({
  'source-ref': `s3://bkt/${ref}`,
  'boxes': { image_size: [{ width: 100, height: 100, depth: 3 }], annotations: [{ class_id: 0, left: 1, top: 1, width: 20, height: 20 }] },
  'boxes-metadata': { 'objects': [{ confidence }], 'class-map': { 0: label }, 'type': 'groundtruth/object-detection', 'human-annotated': 'no',
    'creation-date': '2026-02-01T00:00:00.000', 'job-name': 'batch' },
});

describe('selectForReview', () => {
  const many = Array.from({ length: 400 }, (_, i) => predicted(`img/${i}.png`, i % 2 ? 'cat' : 'dog', 0.95)).join('\n');

  test('GIVEN predictions THEN every image below the band is chosen, in input order, lines unchanged', () => {
    const text = [predicted('a.png', 'cat', 0.9), predicted('b.png', 'dog', 0.42), box('c.png', 'cat', 0.1), '{"no":"ref"}', 'not json'].join('\n');
    const r = selectForReview(text, { belowConfidence: 0.5, sampleShare: 0, seed: 's' });
    expect(r).toMatchObject({ images: 3, lowConfidence: 2, sampled: 0, skippedLines: 2 });
    expect(r.manifest).toBe(`${predicted('b.png', 'dog', 0.42)}\n${box('c.png', 'cat', 0.1)}\n`);
  });

  test('GIVEN a sample share THEN about that share of the confident rest is chosen, the same for the same seed, other for another', () => {
    const a = selectForReview(many, { belowConfidence: 0.5, sampleShare: 0.1, seed: 'run-1' });
    expect(a.lowConfidence).toBe(0);
    expect(a.sampled).toBeGreaterThan(20);
    expect(a.sampled).toBeLessThan(60);
    expect(selectForReview(many, { belowConfidence: 0.5, sampleShare: 0.1, seed: 'run-1' }).manifest).toBe(a.manifest);
    expect(selectForReview(many, { belowConfidence: 0.5, sampleShare: 0.1, seed: 'run-2' }).manifest).not.toBe(a.manifest);
    expect(selectForReview(many, { belowConfidence: 0.5, sampleShare: 1, seed: 'x' }).sampled).toBe(400);
    expect(selectForReview(many, { belowConfidence: 0.5, sampleShare: 0, seed: 'x' }).manifest).toBe('');
  });

  test('GIVEN percentages (DetectCustomLabels\' scale) THEN they are read as 0..1; a source-ref seen twice counts once, its last line', () => {
    const text = [predicted('a.png', 'cat', 30), predicted('a.png', 'cat', 95), predicted('b.png', 'cat', 95)].join('\n');
    const r = selectForReview(text, { belowConfidence: 0.5, sampleShare: 0, seed: 's' });
    expect(r).toMatchObject({ images: 2, lowConfidence: 0 });
  });

  test('GIVEN a band or share outside 0..1 THEN it is refused naming the value', () => {
    expect(() => selectForReview('', { belowConfidence: 70, sampleShare: 0, seed: 's' })).toThrow('belowConfidence must be from 0 to 1, got: 70');
    expect(() => selectForReview('', { belowConfidence: 0.5, sampleShare: -1, seed: 's' })).toThrow('sampleShare must be from 0 to 1, got: -1');
  });
});

describe('mergeManifests', () => {
  const base = [human('a.png', 'cat'), human('b.png', 'dog'), human('c.png', 'cat')].join('\n') + '\n';

  test('GIVEN reviewed lines THEN newer annotations replace in place, new images are appended, and the result is a valid training manifest', () => {
    const reviewed = [human('b.png', 'cat', '2026-03-01T00:00:00.000', 'fixed'), human('d.png', 'dog', '2026-03-01T00:00:00.000')].join('\n');
    const m = mergeManifests(base, [reviewed]);
    expect(m).toMatchObject({ added: 1, replaced: 1, older: 0, notReviewed: 0, unreadable: 0, valid: true, errors: [] });
    expect(m.manifest.trimEnd().split('\n')).toEqual([human('a.png', 'cat'), human('b.png', 'cat', '2026-03-01T00:00:00.000', 'fixed'),
      human('c.png', 'cat'), human('d.png', 'dog', '2026-03-01T00:00:00.000')]);
    expect(validateManifestSync(m.manifest, { role: 'training' }).validLines).toBe(4);
    expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('GIVEN an older review, predictions nobody confirmed, and unreadable lines THEN none of them changes the manifest', () => {
    const reviewed = [human('a.png', 'dog', '2025-01-01T00:00:00.000'), predicted('e.png', 'cat', 0.99), 'oops'].join('\n');
    const m = mergeManifests(base, [reviewed]);
    expect(m).toMatchObject({ added: 0, replaced: 0, older: 1, notReviewed: 1, unreadable: 1, valid: true });
    expect(m.manifest).toBe(base);
  });

  test('GIVEN two reviews of one image THEN the newest wins; on a tie the later file', () => {
    const first = human('a.png', 'dog', '2026-05-01T00:00:00.000');
    const second = human('a.png', 'cat', '2026-04-01T00:00:00.000');
    expect(mergeManifests(base, [first, second]).manifest.split('\n')[0]).toBe(first);
    const tie = human('a.png', 'cat', '2026-05-01T00:00:00.000', 'again');
    const m = mergeManifests(base, [first, tie]);
    expect(m.manifest.split('\n')[0]).toBe(tie);
    expect(m.replaced).toBe(1);
  });

  test('GIVEN a merge that leaves one label THEN it is reported invalid with the service\'s code', () => {
    const m = mergeManifests(human('a.png', 'cat'), [human('b.png', 'cat')]);
    expect(m.valid).toBe(false);
    expect(m.errors.map((e) => e.code)).toContain('ERROR_MANIFEST_TOO_FEW_LABELS');
  });

  test('GIVEN a reviewed line the service would drop THEN the merge is invalid, though the manifest alone would pass', () => {
    const big = Array.from({ length: 20 }, (_, i) => human(`img/${i}.png`, i % 2 ? 'cat' : 'dog')).join('\n');
    const broken = JSON.stringify({ 'source-ref': 's3://bkt/new.png', 'label': 0, 'label-metadata': { 'human-annotated': 'yes',
      'creation-date': '2027-01-01T00:00:00', 'class-name': '', 'type': 'groundtruth/image-classification' } });
    const m = mergeManifests(big, [broken]);
    expect(validateManifestSync(m.manifest, { role: 'training' }).valid).toBe(true);
    expect(m.valid).toBe(false);
    expect(m.errors.filter((e) => e.line === 21).length).toBeGreaterThan(0);
  });

  test('the same inputs give the same bytes and hash', () => {
    const reviewed = human('d.png', 'dog', '2026-03-01T00:00:00.000');
    expect(mergeManifests(base, [reviewed])).toEqual(mergeManifests(base, [reviewed]));
  });
});

describe('humanAnnotationTime', () => {
  test('the newest human creation-date of the line, read as UTC; undefined without one', () => {
    expect(humanAnnotationTime(JSON.parse(human('a', 'x', '2026-01-02T03:04:05.000')) as Record<string, unknown>)).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(humanAnnotationTime(JSON.parse(predicted('a', 'x', 1)) as Record<string, unknown>)).toBeUndefined();
  });
});
