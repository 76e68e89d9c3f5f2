import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BadChangeError, LabelSession, LabelSessionError, StaleRevisionError } from '../../lib/label/session';
import { validateManifestSync } from '../../lib/manifest/validator';
import { renderPng } from '../../lib/samples/shapes';

const T1 = new Date('2026-12-01T10:00:00.000Z');
const T2 = new Date('2026-12-02T11:30:00.000Z');
const cls = (_ref: string, key: string, label: string, date = '2020-01-01T00:00:00'): string =>
  `"${key}":0,"${key}-metadata":{"class-name":"${label}","confidence":1,"human-annotated":"yes","creation-date":"${date}",`
  + '"type":"groundtruth/image-classification","job-name":"old"}';
const line = (ref: string, ...attrs: string[]): string => `{"source-ref":"${ref}"${attrs.map((a) => `,${a}`).join('')}}`;

let dir: string;
let clock: Date;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'label-session-'));
  clock = T1;
  for (const rel of ['a.png', 'b.png', 'sub/c.png']) {
    const file = path.join(dir, 'images', rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, renderPng(120, 80, []));
  }
  fs.writeFileSync(path.join(dir, 'images', 'notes.txt'), 'not an image');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const manifestFile = (): string => path.join(dir, 'train.manifest');

function session(options: { manifest?: string; bucket?: boolean; predictions?: string; labels?: string[] } = {}): LabelSession {
  if (options.manifest !== undefined) fs.writeFileSync(manifestFile(), options.manifest);
  let predictionsFile: string | undefined;
  if (options.predictions !== undefined) {
    predictionsFile = path.join(dir, 'predictions.manifest');
    fs.writeFileSync(predictionsFile, options.predictions);
  }
  return new LabelSession({
    imagesDir: path.join(dir, 'images'), manifestFile: manifestFile(), labels: options.labels, predictionsFile,
    bucket: options.bucket === false ? undefined : { bucket: 'bkt', prefix: 'imgs/' }, now: () => clock,
  });
}

const idOf = (s: LabelSession, rel: string): number => s.view().images.find((i) => i.path === rel)!.id;
const read = (): string => fs.readFileSync(manifestFile(), 'utf8');

describe('LabelSession', () => {
  test('lists the PNG and JPEG images by path; the manifest is not written before a change', () => {
    const s = session({ labels: ['cat'] });
    const view = s.view();
    expect(view.images.map((i) => [i.path, i.width, i.height, i.url])).toEqual([
      ['a.png', 120, 80, '/images/a.png'], ['b.png', 120, 80, '/images/b.png'], ['sub/c.png', 120, 80, '/images/sub/c.png']]);
    expect(view.images[2].sourceRef).toBe('s3://bkt/imgs/sub/c.png');
    expect(view).toMatchObject({ revision: 1, mode: 'label', labels: ['cat'], order: [0, 1, 2] });
    expect(fs.existsSync(manifestFile())).toBe(false);
  });

  test('an edit rewrites only its line: other lines keep their text and order, new lines follow sorted by source-ref', () => {
    // GIVEN a manifest with a line for another image, an unreadable line, and a line for b.png
    const other = line('s3://bkt/imgs/elsewhere.png', cls('', 'x', 'dog'));
    const b = line('s3://bkt/imgs/b.png', cls('', 'sport0', 'cat'), '"note":"keep me"');
    const s = session({ manifest: `${other}\nnot json\n${b}\n` });
    expect(s.otherLines).toBe(2);
    // WHEN c and a get labels, and b a second label
    const r = s.save(1, [
      { id: idOf(s, 'sub/c.png'), labels: ['dog'], boxes: [] },
      { id: idOf(s, 'a.png'), labels: ['cat'], boxes: [{ label: 'cat', left: 10, top: 5, width: 30, height: 20 }] },
      { id: idOf(s, 'b.png'), labels: ['cat', 'dog'], boxes: [] },
    ]);
    expect(r).toMatchObject({ revision: 2, changedLines: 3 });
    // THEN
    const lines = read().split('\n');
    expect(lines[0]).toBe(other);
    expect(lines[1]).toBe('not json');
    expect(lines.slice(3)).toEqual([
      expect.stringContaining('"source-ref":"s3://bkt/imgs/a.png"'), expect.stringContaining('"source-ref":"s3://bkt/imgs/sub/c.png"'), '']);
    // b keeps its note and cat's metadata (2020 date); only dog is new
    expect(JSON.parse(lines[2])).toEqual({
      'source-ref': 's3://bkt/imgs/b.png', 'note': 'keep me',
      'label-0': 0, 'label-0-metadata': { 'class-name': 'cat', 'confidence': 1, 'human-annotated': 'yes', 'creation-date': '2020-01-01T00:00:00',
        'type': 'groundtruth/image-classification', 'job-name': 'old' },
      'label-1': 1, 'label-1-metadata': { 'confidence': 1, 'job-name': 'custom-labels/label', 'class-name': 'dog', 'human-annotated': 'yes',
        'creation-date': '2026-12-01T10:00:00.000', 'type': 'groundtruth/image-classification' },
    });
    expect(JSON.parse(lines[3])['bounding-box']).toEqual({
      image_size: [{ width: 120, height: 80, depth: 3 }], annotations: [{ class_id: 0, top: 5, left: 10, width: 30, height: 20 }],
    });
    const report = validateManifestSync(read(), { role: 'dataset' });
    expect(report.errors.filter((e) => e.line !== 2)).toEqual([]);
  });

  test('creation-date changes only for what changed; saving the same work again writes nothing', () => {
    const s = session();
    const a = idOf(s, 'a.png');
    s.save(1, [{ id: a, labels: ['cat'], boxes: [{ label: 'cat', left: 0, top: 0, width: 10, height: 10 }] }]);
    const first = read();
    const mtime = fs.statSync(manifestFile()).mtimeMs;
    // WHEN the same annotation is saved later
    clock = T2;
    expect(s.save(2, [{ id: a, labels: ['cat'], boxes: [{ label: 'cat', left: 0, top: 0, width: 10, height: 10 }] }])).toMatchObject({ revision: 2, changedLines: 0 });
    expect(read()).toBe(first);
    expect(fs.statSync(manifestFile()).mtimeMs).toBe(mtime);
    // WHEN only the box moves: the label keeps T1, the boxes get T2
    s.save(2, [{ id: a, labels: ['cat'], boxes: [{ label: 'cat', left: 1, top: 0, width: 10, height: 10 }] }]);
    const obj = JSON.parse(read());
    expect(obj['label-metadata']['creation-date']).toBe('2026-12-01T10:00:00.000');
    expect(obj['bounding-box-metadata']['creation-date']).toBe('2026-12-02T11:30:00.000');
    // AND a reload of the same file by a new session reads what was written, unchanged
    const again = session({ bucket: false });
    expect(again.location).toEqual({ bucket: 'bkt', prefix: 'imgs/', from: 'manifest' });
    expect(again.view().images[a]).toMatchObject({ labels: ['cat'], boxes: [{ label: 'cat', left: 1, top: 0, width: 10, height: 10 }], labeled: true });
  });

  test('the same edits give the same bytes', () => {
    const run = (): string => {
      fs.rmSync(manifestFile(), { force: true });
      const s = session();
      s.save(1, [{ id: 2, labels: ['b', 'a'], boxes: [] }, { id: 0, labels: [], boxes: [{ label: 'z', left: 1, top: 1, width: 5, height: 5 },
        { label: 'y', left: 2, top: 2, width: 5, height: 5 }] }]);
      return read();
    };
    const one = run();
    expect(run()).toBe(one);
    expect(JSON.parse(one.split('\n')[0])['bounding-box-metadata']['class-map']).toEqual({ 0: 'y', 1: 'z' });
  });

  test('removing every label of an image removes its line', () => {
    const s = session({ manifest: `${line('s3://bkt/imgs/a.png', cls('', 'label', 'cat'))}\n` });
    s.save(1, [{ id: 0, labels: [], boxes: [] }]);
    expect(read()).toBe('');
  });

  test('a page behind the current revision is refused, and so is a save after another program changed the file', () => {
    const s = session();
    s.save(1, [{ id: 0, labels: ['cat'], boxes: [] }]);
    expect(() => s.save(1, [{ id: 1, labels: ['dog'], boxes: [] }])).toThrow(StaleRevisionError);
    expect(() => s.save(1, [])).toThrow('newer work was saved from another tab or window (revision 2; this page has revision 1)');
    fs.appendFileSync(manifestFile(), '{"source-ref":"s3://bkt/imgs/x.png"}\n');
    const before = read();
    expect(() => s.save(2, [{ id: 1, labels: ['dog'], boxes: [] }])).toThrow(/was changed by another program; restart 'custom-labels label'/);
    expect(read()).toBe(before);
    expect(s.view().images[1].labels).toEqual([]);
  });

  test('writes atomically: a failed write leaves the manifest and the session as they were, and no temporary file', () => {
    const s = session();
    s.save(1, [{ id: 0, labels: ['cat'], boxes: [] }]);
    const before = read();
    // GIVEN the temporary file's name is taken by a folder, so the write fails
    const temp = path.join(dir, `.train.manifest.${process.pid}.tmp`);
    fs.mkdirSync(temp);
    expect(() => s.save(2, [{ id: 1, labels: ['dog'], boxes: [] }])).toThrow(/EISDIR/);
    expect(read()).toBe(before);
    expect(s.view().images[1]).toMatchObject({ labels: [], labeled: false });
    fs.rmdirSync(temp);
    expect(s.save(2, [{ id: 1, labels: ['dog'], boxes: [] }]).changedLines).toBe(1);
    expect(fs.readdirSync(dir).sort()).toEqual(['images', 'train.manifest']);
  });

  test('refuses changes the service would reject: boxes off the frame or too small, long labels, unknown images', () => {
    const s = session();
    const bad = (change: object): void => expect(() => s.save(1, [change as never])).toThrow(BadChangeError);
    bad({ id: 0, labels: [], boxes: [{ label: 'x', left: 100, top: 0, width: 30, height: 10 }] });
    bad({ id: 0, labels: [], boxes: [{ label: 'x', left: 0, top: 0, width: 1, height: 10 }] });
    bad({ id: 0, labels: [], boxes: [{ label: 'x', left: 0.5, top: 0, width: 10, height: 10 }] });
    bad({ id: 0, labels: ['x'.repeat(257)], boxes: [] });
    bad({ id: 0, labels: [' padded'], boxes: [] });
    bad({ id: 7, labels: ['x'], boxes: [] });
    expect(() => s.save(1, [{ id: 0, labels: [], boxes: Array(51).fill({ label: 'x', left: 0, top: 0, width: 5, height: 5 }) }]))
      .toThrow('a.png: the service allows at most 50 boxes per image, got 51');
    expect(fs.existsSync(manifestFile())).toBe(false);
  });

  test('without --bucket: the manifest\'s bucket and prefix, else the predictions\', else a usage error', () => {
    fs.writeFileSync(manifestFile(), `${line('s3://old-bucket/data/set1/sub/c.png', cls('', 'label', 'cat'))}\n`);
    const fromManifest = session({ bucket: false });
    expect(fromManifest.location).toEqual({ bucket: 'old-bucket', prefix: 'data/set1/', from: 'manifest' });
    expect(fromManifest.view().images.map((i) => i.sourceRef)).toEqual([
      's3://old-bucket/data/set1/a.png', 's3://old-bucket/data/set1/b.png', 's3://old-bucket/data/set1/sub/c.png']);
    fs.rmSync(manifestFile());
    const predictions = line('s3://pred-bucket/p/a.png', cls('', 'label', 'cat').replace('"yes"', '"no"'));
    expect(session({ bucket: false, predictions }).location).toEqual({ bucket: 'pred-bucket', prefix: 'p/', from: 'predictions' });
    expect(() => session({ bucket: false })).toThrow(LabelSessionError);
    expect(() => session({ bucket: false })).toThrow(/^--bucket is needed/);
  });

  test('no image in the folder is an error of the input', () => {
    fs.rmSync(path.join(dir, 'images'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'images'));
    expect(() => session()).toThrow(expect.objectContaining({ kind: 'invalid', message: expect.stringMatching(/^no PNG or JPEG image under /) }));
  });

  test('review: images ordered by their least confident prediction; earlier sessions\' lines count as decisions', () => {
    const no = (label: string, confidence: number): string => `"${label}":0,"${label}-metadata":{"class-name":"${label}","confidence":${confidence},`
      + '"human-annotated":"no","creation-date":"2026-01-01T00:00:00","type":"groundtruth/image-classification"}';
    const predictions = [
      line('s3://bkt/imgs/a.png', no('cat', 0.8), no('dog', 0.4)),
      line('s3://bkt/imgs/sub/c.png', no('cat', 0.2)),
      line('s3://bkt/imgs/gone.png', no('cat', 0.1)),
      'not json',
    ].join('\n');
    const s = session({ predictions, manifest: `${line('s3://bkt/imgs/a.png', cls('', 'label', 'cat'))}\n` });
    const view = s.view();
    expect(view.mode).toBe('review');
    expect(view.order.map((i) => view.images[i].path)).toEqual(['sub/c.png', 'a.png', 'b.png']);
    expect(view.images[0].predictions.map((p) => [p.label, p.confidence, p.decision])).toEqual([['dog', 0.4, 'rejected'], ['cat', 0.8, 'accepted']]);
    expect(view.images[2].predictions.map((p) => p.decision)).toEqual(['pending']);
    expect(s.unmatchedPredictionLines).toBe(1);
    expect(s.skippedPredictionLines).toBe(1);
    // WHEN a decision is saved alone: no line changes, the revision moves on
    expect(s.save(1, [{ id: 2, labels: [], boxes: [], decisions: { 0: 'rejected' } }])).toMatchObject({ revision: 2, changedLines: 0 });
    expect(s.view().images[2].predictions[0].decision).toBe('rejected');
  });
});
