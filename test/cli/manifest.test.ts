import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { PNG } from 'pngjs';

import { main } from '../../lib/cli/main';
import { memoryIo } from './memory-io';

const META = '"confidence":1,"human-annotated":"yes","creation-date":"2024-01-01T00:00:00","type":"groundtruth/image-classification"';
const line = (ref: string, label: string): string =>
  `{"source-ref":"s3://bkt/${ref}","l":0,"l-metadata":{"class-name":${JSON.stringify(label)},${META}}}`;

interface Run { code: number; stdout: string; stderr: string }


describe('custom-labels manifest', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-manifest-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function run(...args: string[]): Promise<Run> {
    const m = memoryIo(dir);
    const code = await main(['manifest', ...args], m);
    return { code, stdout: m.out(), stderr: m.err() };
  }

  function write(name: string, content: string | Buffer): string {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  }

  /** One line on stderr, naming the problem, and no stack trace. */
  function expectOneLineError(r: Run, code: number, text: string): void {
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(text);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }

  const valid = (): string => write('train.manifest', [line('a.jpg', 'cat'), line('b.jpg', 'dog'), line('c.jpg', 'cat')].join('\n') + '\n');

  describe('help', () => {
    test.each([['--help'], ['-h'], ['validate', '--help'], ['stats', '-h'], ['convert', '--help'], ['split', '--help']])(
      'manifest %s prints usage to stdout and exits 0', async (...args: string[]) => {
        const r = await run(...args.filter((a) => a !== undefined));
        expect(r.code).toBe(0);
        expect(r.stderr).toBe('');
        expect(r.stdout).toMatch(/^Usage: custom-labels manifest /);
      });

    test('each sub-command documents its own flags', async () => {
      expect((await run('validate', '--help')).stdout).toContain('--image-root <dir>');
      expect((await run('convert', '--help')).stdout).toContain('--from folders|csv|coco|gt-multilabel');
      expect((await run('split', '--help')).stdout).toContain('--test-ratio');
      expect((await run('stats', '--help')).stdout).toContain('--test <file>');
    });

    test('no sub-command prints usage to stderr and exits 2', async () => {
      const r = await run();
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^Usage: custom-labels manifest /);
    });
  });

  describe('validate', () => {
    test('a valid manifest: exit 0 and the JSON report on stdout', async () => {
      const r = await run('validate', valid(), '--format', 'json');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const report = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(report).toMatchObject({
        valid: true, useCase: 'IMAGE_LEVEL_LABELS', totalLines: 3, validLines: 3, invalidLines: 0, ignoredLines: 0,
        labels: { cat: { images: 2, boxes: 0 }, dog: { images: 1, boxes: 0 } }, errors: [], warnings: [],
      });
    });

    test('an invalid manifest: exit 1, errors with line numbers and codes', async () => {
      const file = write('bad.manifest', [line('a.jpg', 'cat'), '{oops', line('b.jpg', 'dog'), line('c.jpg', 'cat'), 'nope'].join('\n'));
      const r = await run('validate', 'bad.manifest', '--format', 'json');
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as { valid: boolean; errors: Array<{ line: number | null; code: string; message: string }> };
      expect(report.valid).toBe(false);
      expect(report.errors).toEqual(expect.arrayContaining([
        expect.objectContaining({ line: 2, code: 'ERROR_INVALID_JSON_LINE', message: 'The JSON Line has an invalid format.' }),
        expect.objectContaining({ line: 5, code: 'ERROR_INVALID_JSON_LINE' }),
        expect.objectContaining({ line: null, code: 'ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST' }),
      ]));
      // AND the text form names the line and the code
      const text = await run('validate', file);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('ERROR_INVALID_JSON_LINE');
      expect(text.stdout).toMatch(/\b2\b/);
    });

    test('with --test: the pair report', async () => {
      const test = write('test.manifest', [line('x.jpg', 'cat'), line('y.jpg', 'dog')].join('\n'));
      const r = await run('validate', valid(), '--test', test, '--format', 'json');
      expect(r.code).toBe(0);
      const pair = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
      expect(Object.keys(pair).sort()).toEqual(['errors', 'testing', 'training', 'valid']);
      expect(pair.training).toMatchObject({ valid: true, validLines: 3 });
      expect(pair.testing).toMatchObject({ valid: true, validLines: 2 });
      // AND an image in both sides makes the pair invalid
      const overlap = write('overlap.manifest', [line('a.jpg', 'cat'), line('y.jpg', 'dog')].join('\n'));
      const bad = await run('validate', valid(), '--test', overlap, '--format', 'json');
      expect(bad.code).toBe(1);
      expect(JSON.stringify(JSON.parse(bad.stdout))).toContain('ERROR_IMAGE_IN_TRAINING_AND_TESTING');
    });

    test('with --image-root: images are checked on disk', async () => {
      // GIVEN six lines whose images exist except the fourth's (1 in 6 is under the 20% threshold)
      const png = PNG.sync.write(new PNG({ width: 64, height: 64 }));
      const names = ['a', 'b', 'c', 'd', 'e', 'f'];
      for (const n of names) if (n !== 'd') write(`imgs/${n}.png`, png);
      const file = write('six.manifest', names.map((n, i) => line(`${n}.png`, i % 2 ? 'cat' : 'dog')).join('\n'));
      // WHEN validating with the image root
      const r = await run('validate', file, '--image-root', path.join(dir, 'imgs'), '--format', 'json');
      // THEN the missing image is an error on its line, and the manifest is still valid
      const report = JSON.parse(r.stdout) as { valid: boolean; errors: Array<{ line: number; code: string }> };
      expect(report.errors).toEqual([expect.objectContaining({ line: 4, code: 'ERROR_INVALID_IMAGE' })]);
      expect(report.valid).toBe(true);
      expect(r.code).toBe(0);
      // AND without the image root the same manifest has no error at all
      expect((JSON.parse((await run('validate', file, '--format', 'json')).stdout) as { errors: unknown[] }).errors).toEqual([]);
    });

    test('a missing file: exit 2, one line', async () => {
      expectOneLineError(await run('validate', 'missing.manifest'), 2, `manifest not found: ${path.join(dir, 'missing.manifest')}`);
    });

    test('a directory: exit 2, one line', async () => {
      expectOneLineError(await run('validate', dir), 2, `${dir} is a directory, not a manifest file`);
    });

    test('a binary file: exit 2, one line', async () => {
      const file = write('image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2, 3]));
      expectOneLineError(await run('validate', file), 2, 'looks like a binary file, not a JSON Lines manifest');
    });

    test('an unknown flag: exit 2, one line', async () => {
      expectOneLineError(await run('validate', valid(), '--bogus'), 2, "Unknown option '--bogus'");
    });

    test('a missing file argument, a bad format and a missing image root: exit 2', async () => {
      expectOneLineError(await run('validate'), 2, 'validate needs a manifest file');
      expectOneLineError(await run('validate', valid(), '--format', 'xml'), 2, '--format must be text or json, got: xml');
      expectOneLineError(await run('validate', valid(), '--image-root', 'nope'), 2, '--image-root is not a folder');
      expectOneLineError(await run('validate', valid(), '--test'), 2, "Option '--test <value>' argument missing");
    });

    test('an unknown sub-command: exit 2', async () => {
      expectOneLineError(await run('lint'), 2, "unknown sub-command 'lint'");
    });
  });

  describe('stats', () => {
    test('JSON stats on stdout, exit 0', async () => {
      const r = await run('stats', valid(), '--format', 'json');
      expect(r.code).toBe(0);
      const stats = JSON.parse(r.stdout) as { useCase: string; totalLines: number; labels: Array<{ label: string; images: number }> };
      expect(stats.useCase).toBe('IMAGE_LEVEL_LABELS');
      expect(stats.totalLines).toBe(3);
      expect(stats.labels.map((l) => [l.label, l.images]).sort()).toEqual([['cat', 2], ['dog', 1]]);
    });

    test('text stats, and a missing file exits 2', async () => {
      const r = await run('stats', valid());
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('cat');
      expectOneLineError(await run('stats', 'nope.manifest'), 2, 'manifest not found');
    });
  });

  describe('convert', () => {
    function images(): string {
      const root = path.join(dir, 'images');
      for (const f of ['cat/1.jpg', 'cat/2.jpg', 'dog/3.png', 'dog/notes.txt']) write(`images/${f}`, 'x');
      return root;
    }

    test('folders -> a valid manifest at --out; the summary on stderr', async () => {
      const r = await run('convert', '--from', 'folders', images(), '--bucket', 's3://my-bucket/data', '--out', 'out.manifest');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`wrote 3 line(s) to ${path.join(dir, 'out.manifest')}`);
      expect(r.stderr).toContain('dog/notes.txt: not a PNG or JPEG file');
      const lines = fs.readFileSync(path.join(dir, 'out.manifest'), 'utf8').trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as Record<string, string>)['source-ref']))
        .toEqual(['s3://my-bucket/data/cat/1.jpg', 's3://my-bucket/data/cat/2.jpg', 's3://my-bucket/data/dog/3.png']);
      const v = await run('validate', 'out.manifest', '--format', 'json');
      expect(v.code).toBe(0);
    });

    test('--format json: the summary as JSON on stdout', async () => {
      const csv = write('labels.csv', 'image,label\na.jpg,cat\nb.jpg,dog\nc.jpg\n');
      const r = await run('convert', '--from', 'csv', csv, '--bucket', 's3://bkt', '--out', 'o.manifest', '--format', 'json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        out: path.join(dir, 'o.manifest'), lines: 2, labels: { cat: { images: 1, boxes: 0 }, dog: { images: 1, boxes: 0 } },
        skipped: [{ item: 'row 4', reason: 'no label for c.jpg (expected image,label[,label...])' }],
      });
    });

    test('coco and gt-multilabel', async () => {
      const coco = write('coco.json', JSON.stringify({
        images: [{ id: 1, file_name: 'a.jpg', width: 100, height: 100 }],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 50, 50] }],
        categories: [{ id: 1, name: 'box' }],
      }));
      expect((await run('convert', '--from', 'coco', coco, '--bucket', 's3://bkt', '--out', 'c.manifest')).code).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'c.manifest'), 'utf8')).toContain('"class-map":{"1":"box"}');
      const gt = write('gt.manifest', JSON.stringify({
        'source-ref': 's3://b/1.jpg', j: [0, 1], 'j-metadata': { 'class-map': { 0: 'a', 1: 'b' }, 'human-annotated': 'yes',
          'creation-date': '2020-01-01T00:00:00', type: 'groundtruth/image-classification-multilabel' },
      }) + '\n');
      expect((await run('convert', '--from', 'gt-multilabel', gt, '--bucket', 's3://bkt', '--out', 'g.manifest')).code).toBe(0);
      expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'g.manifest'), 'utf8')) as object)).toEqual(
        ['source-ref', 'j-0', 'j-0-metadata', 'j-1', 'j-1-metadata']);
    });

    test('nothing converted: exit 1 and no output file', async () => {
      const csv = write('empty.csv', 'image,label\na.jpg\n');
      const r = await run('convert', '--from', 'csv', csv, '--bucket', 's3://bkt', '--out', 'o.manifest');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('no manifest line was produced from');
      expect(fs.existsSync(path.join(dir, 'o.manifest'))).toBe(false);
    });

    test('a missing input folder: exit 2, one line, no output file', async () => {
      expectOneLineError(await run('convert', '--from', 'folders', 'nope', '--bucket', 's3://bkt', '--out', 'o.manifest'), 2,
        `image folder not found: ${path.join(dir, 'nope')}`);
      expect(fs.readdirSync(dir)).toEqual([]);
    });

    test('an invalid COCO file: exit 1, one line', async () => {
      const bad = write('bad.json', '{"images": [');
      expectOneLineError(await run('convert', '--from', 'coco', bad, '--bucket', 's3://bkt', '--out', 'o.manifest'), 1, 'the COCO file is not valid JSON');
    });

    test('missing or bad flags: exit 2, one line', async () => {
      const root = images();
      expectOneLineError(await run('convert', '--from', 'folders', root, '--bucket', 's3://bkt'), 2, 'convert: --out is required');
      expectOneLineError(await run('convert', root, '--bucket', 's3://bkt', '--out', 'o'), 2, 'convert: --from is required');
      expectOneLineError(await run('convert', '--from', 'xml', root, '--bucket', 's3://bkt', '--out', 'o'), 2,
        'convert: --from must be one of folders, csv, coco, gt-multilabel, got: xml');
      expectOneLineError(await run('convert', '--from', 'folders', root, '--bucket', 's3://Bad_Bucket', '--out', 'o'), 2,
        'convert: --bucket must be s3://<bucket>[/<prefix>] with a valid bucket name, got: s3://Bad_Bucket');
      expectOneLineError(await run('convert', '--from', 'folders', '--bucket', 's3://bkt', '--out', 'o'), 2, 'convert needs an image folder');
      expectOneLineError(await run('convert', '--from', 'folders', root, '--bucket', 's3://bkt', '--out', 'no/such/dir/o'), 2,
        'its folder does not exist');
    });
  });

  describe('split', () => {
    function big(): string {
      const lines: string[] = [];
      for (let i = 0; i < 20; i++) lines.push(line(`cat/${i}.jpg`, 'cat'));
      for (let i = 0; i < 10; i++) lines.push(line(`dog/${i}.jpg`, 'dog'));
      return write('all.manifest', lines.join('\n') + '\n');
    }

    test('writes both manifests; the JSON result on stdout', async () => {
      const r = await run('split', big(), '--test-ratio', '0.2', '--seed', '7', '--out-train', 'tr.manifest', '--out-test', 'te.manifest',
        '--format', 'json');
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout) as { training: { lines: number }; testing: { lines: number; labels: Record<string, { images: number }> } };
      expect(result.training.lines).toBe(24);
      expect(result.testing.lines).toBe(6);
      expect(result.testing.labels.cat.images).toBe(4);
      expect(result.testing.labels.dog.images).toBe(2);
      expect(fs.readFileSync(path.join(dir, 'te.manifest'), 'utf8').trim().split('\n')).toHaveLength(6);
      expect(fs.readFileSync(path.join(dir, 'tr.manifest'), 'utf8').trim().split('\n')).toHaveLength(24);
    });

    test('the same seed twice gives byte-identical files; the text summary goes to stderr', async () => {
      const file = big();
      const a = await run('split', file, '--seed', '3', '--out-train', 'a1', '--out-test', 'a2');
      await run('split', file, '--seed', '3', '--out-train', 'b1', '--out-test', 'b2');
      expect(a.code).toBe(0);
      expect(a.stdout).toBe('');
      expect(a.stderr).toContain('testing:  6 line(s)');
      expect(fs.readFileSync(path.join(dir, 'a2'))).toEqual(fs.readFileSync(path.join(dir, 'b2')));
      expect(fs.readFileSync(path.join(dir, 'a1'))).toEqual(fs.readFileSync(path.join(dir, 'b1')));
    });

    test('bad flags: exit 2, one line', async () => {
      const file = big();
      expectOneLineError(await run('split', file, '--out-train', 'a'), 2, 'split: --out-test is required');
      expectOneLineError(await run('split', file, '--test-ratio', '1.5', '--out-train', 'a', '--out-test', 'b'), 2,
        'split: --test-ratio must be between 0 and 1 (exclusive), got: 1.5');
      expectOneLineError(await run('split', file, '--seed', 'x', '--out-train', 'a', '--out-test', 'b'), 2, 'split: --seed must be a number, got: x');
      expectOneLineError(await run('split', file, '--out-train', 'a', '--out-test', 'a'), 2, 'split: --out-train and --out-test must be different files');
      expectOneLineError(await run('split', 'missing', '--out-train', 'a', '--out-test', 'b'), 2, 'manifest not found');
    });

    test('a side left empty: exit 1', async () => {
      const one = write('one.manifest', line('a.jpg', 'cat') + '\n');
      const r = await run('split', one, '--out-train', 'a', '--out-test', 'b');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the testing manifest is empty');
    });
  });
});
