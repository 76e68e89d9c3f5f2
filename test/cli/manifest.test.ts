import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { PNG } from 'pngjs';

import { main } from '../../lib/cli/main';
import { DEFAULT_SPLIT_SEED } from '../../lib/data/test-data';
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
    test.each([['--help'], ['-h'], ['validate', '--help'], ['stats', '-h'], ['convert', '--help'], ['split', '--help'], ['review', '--help'],
      ['merge', '-h']])(
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
      const file = write('image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
      expectOneLineError(await run('validate', file), 2, 'is not a text file (it looks like a PNG image); a JSON Lines manifest is expected');
    });

    test('an unknown flag: exit 2, one line', async () => {
      expectOneLineError(await run('validate', valid(), '--bogus'), 2, "Unknown option '--bogus'");
    });

    test('an invalid JSON line: the column and the reason, in text and JSON', async () => {
      // GIVEN a manifest whose second line misses a comma between two members
      const file = write('bad.manifest', [line('a.jpg', 'cat'), '{"source-ref":"s3://bkt/b.jpg" "l":0}', line('c.jpg', 'dog')].join('\n') + '\n');
      // WHEN / THEN the text report names the column and what was expected there
      const text = await run('validate', file);
      expect(text.stdout).toContain("line 2: column 32: expected ',' or '}' after a property value, got '\"'");
      // AND the JSON report carries the column for machines
      const json = JSON.parse((await run('validate', file, '--format', 'json')).stdout) as { errors: Array<Record<string, unknown>> };
      expect(json.errors.find((e) => e.code === 'ERROR_INVALID_JSON_LINE')).toMatchObject({ line: 2, column: 32 });
    });

    describe('--image-root', () => {
      function png(): Buffer {
        const image = new PNG({ width: 64, height: 64 });
        return PNG.sync.write(image);
      }

      test('after convert --bucket s3://bucket/images: the path tried, and the --image-prefix that fixes it', async () => {
        // GIVEN images converted with a prefix, as the README shows
        for (const f of ['cat/1.png', 'cat/2.png', 'dog/3.png', 'dog/4.png']) write(`images/${f}`, png());
        expect((await run('convert', '--from', 'folders', 'images', '--bucket', 's3://my-bucket/images', '--out', 'train.manifest')).code).toBe(0);
        // WHEN validated with the images folder as the root
        const r = await run('validate', 'train.manifest', '--image-root', 'images');
        // THEN each error names the local file tried
        expect(r.code).toBe(1);
        expect(r.stdout).toContain(`line 1: no such file: ${path.join(dir, 'images', 'images', 'cat', '1.png')}`);
        // AND one hint line says what to do
        expect(r.stderr).toBe('hint: 4 image(s) not found under --image-root; s3://my-bucket/images/cat/1.png was looked for at '
          + `${path.join(dir, 'images', 'images', 'cat', '1.png')}; ${path.join(dir, 'images')} holds cat/1.png: it stands for `
          + 's3://my-bucket/images/, so add --image-prefix images/\n');
        // AND following the hint validates the images
        const fixed = await run('validate', 'train.manifest', '--image-root', 'images', '--image-prefix', 'images/');
        expect(fixed.stderr).toBe('');
        expect(fixed.code).toBe(0);
        // AND so does the parent folder, which stands for the bucket's root
        expect((await run('validate', 'train.manifest', '--image-root', '.')).code).toBe(0);
      });

      test('--image-prefix needs --image-root', async () => {
        expectOneLineError(await run('validate', valid(), '--image-prefix', 'x/'), 2, 'validate: --image-prefix needs --image-root');
      });
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
        skipped: [{ item: 'row 4', reason: 'no label for c.jpg (expected image,label[,label...])' }], warnings: [], written: true,
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

    test('nothing converted: exit 1, the reasons, then one error line; no output file, and no "wrote" line', async () => {
      const csv = write('empty.csv', 'image,label\na.jpg\n');
      const r = await run('convert', '--from', 'csv', csv, '--bucket', 's3://bkt', '--out', 'o.manifest');
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('skipped 1:\n  row 2: no label for a.jpg (expected image,label[,label...])\n'
        + `custom-labels manifest convert: no manifest line was produced from ${csv}; ${path.join(dir, 'o.manifest')} was not written\n`);
      expect(fs.existsSync(path.join(dir, 'o.manifest'))).toBe(false);
      // AND in JSON, written is false
      const json = await run('convert', '--from', 'csv', csv, '--bucket', 's3://bkt', '--out', 'o.manifest', '--format', 'json');
      expect(JSON.parse(json.stdout)).toMatchObject({ written: false, lines: 0 });
    });

    test('deterministic: the same input twice gives the same bytes; --creation-date sets the date', async () => {
      // GIVEN one folder converted twice (a while apart, as a user would)
      const root = images();
      await run('convert', '--from', 'folders', root, '--bucket', 's3://bkt', '--out', 'a.manifest');
      await new Promise((resolve) => setTimeout(resolve, 5));
      await run('convert', '--from', 'folders', root, '--bucket', 's3://bkt', '--out', 'b.manifest');
      // THEN the manifests are byte-identical, with the fixed default date
      const a = fs.readFileSync(path.join(dir, 'a.manifest'), 'utf8');
      expect(fs.readFileSync(path.join(dir, 'b.manifest'), 'utf8')).toBe(a);
      expect(a).toContain('"creation-date":"2020-01-01T00:00:00.000"');
      // AND --creation-date overrides it, for every converter
      const csv = write('l.csv', 'a.jpg,cat\nb.jpg,dog\n');
      expect((await run('convert', '--from', 'csv', csv, '--bucket', 's3://bkt', '--out', 'c.manifest', '--creation-date', '2024-05-01T12:00:00.000')).code)
        .toBe(0);
      expect(fs.readFileSync(path.join(dir, 'c.manifest'), 'utf8')).toContain('"creation-date":"2024-05-01T12:00:00.000"');
      expectOneLineError(await run('convert', '--from', 'csv', csv, '--bucket', 's3://bkt', '--out', 'd.manifest', '--creation-date', 'yesterday'), 2,
        'convert: --creation-date must be a UTC date-time such as 2024-05-01T12:00:00.000, got: yesterday');
    });

    test.each(['csv', 'coco', 'gt-multilabel'])('--from %s of a PNG: exit 2, one line naming what it is, no output file', async (from) => {
      const image = write('photo.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('\n\r\n{"x":1}\n'),
        Buffer.alloc(64, 7)]));
      const r = await run('convert', '--from', from, image, '--bucket', 's3://bkt', '--out', 'o.manifest');
      expectOneLineError(r, 2, `${image} is not a text file (it looks like a PNG image)`);
      // no raw bytes of the image in the message: only printable ASCII and the newline that ends it
      expect([...r.stderr.trimEnd()].every((c) => c >= ' ' && c <= '~')).toBe(true);
      expect(fs.existsSync(path.join(dir, 'o.manifest'))).toBe(false);
    });

    test('--from folders of a file: exit 2, one line', async () => {
      const image = write('photo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expectOneLineError(await run('convert', '--from', 'folders', image, '--bucket', 's3://bkt', '--out', 'o.manifest'), 2,
        `${image} is not a folder (expected <root>/<label>/<image>)`);
    });

    test('COCO: a category no annotation uses is named in a warning', async () => {
      const coco = write('coco.json', JSON.stringify({
        images: [{ id: 1, file_name: 'a.jpg', width: 100, height: 100 }],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 50, 50] }, { id: 2, image_id: 1, category_id: 3, bbox: [0, 0, 500, 5] }],
        categories: [{ id: 1, name: 'box' }, { id: 2, name: 'ghost' }, { id: 3, name: 'huge' }],
      }));
      const r = await run('convert', '--from', 'coco', coco, '--bucket', 's3://bkt', '--out', 'c.manifest');
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('warning: category 2 "ghost" is not in the manifest: no annotation uses it\n');
      expect(r.stderr).toContain('warning: category 3 "huge" is not in the manifest: none of its 1 annotation(s) could be used (see skipped)\n');
      const json = await run('convert', '--from', 'coco', coco, '--bucket', 's3://bkt', '--out', 'c.manifest', '--format', 'json');
      expect((JSON.parse(json.stdout) as { warnings: string[] }).warnings).toHaveLength(2);
    });

    test('a missing input folder: exit 2, one line, no output file', async () => {
      expectOneLineError(await run('convert', '--from', 'folders', 'nope', '--bucket', 's3://bkt', '--out', 'o.manifest'), 2,
        `image folder not found: ${path.join(dir, 'nope')}`);
      expect(fs.readdirSync(dir)).toEqual([]);
    });

    test('an invalid COCO file: exit 1, one line with the line and column', async () => {
      const bad = write('bad.json', '{\n  "images": [],\n  "annotations": [}\n');
      expectOneLineError(await run('convert', '--from', 'coco', bad, '--bucket', 's3://bkt', '--out', 'o.manifest'), 1,
        "the COCO file is not valid JSON: line 3, column 19: unexpected '}', a value was expected");
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

    test('a side left empty: exit 1, and neither file is written', async () => {
      const one = write('one.manifest', line('a.jpg', 'cat') + '\n');
      const r = await run('split', one, '--out-train', 'a', '--out-test', 'b');
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n').pop()).toBe('custom-labels manifest split: the testing manifest would be empty; '
        + `neither ${path.join(dir, 'a')} nor ${path.join(dir, 'b')} was written`);
      expect(r.stderr).not.toContain('->');
      expect(fs.readdirSync(dir)).toEqual(['one.manifest']);
    });

    test('the seed defaults to 7, as TestData.split in the constructs', async () => {
      const file = big();
      await run('split', file, '--out-train', 'd1', '--out-test', 'd2');
      await run('split', file, '--seed', String(DEFAULT_SPLIT_SEED), '--out-train', 's1', '--out-test', 's2');
      await run('split', file, '--seed', '0', '--out-train', 'z1', '--out-test', 'z2');
      expect(DEFAULT_SPLIT_SEED).toBe(7);
      const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
      expect(read('d2')).toBe(read('s2'));
      expect(read('z2')).not.toBe(read('s2'));
      expect((await run('split', '--help')).stdout).toContain('(default 7, as TestData.split in the constructs)');
    });

    test('a negative number reaches the check: a real message, not "argument is ambiguous"', async () => {
      expectOneLineError(await run('split', big(), '--test-ratio', '-0.2', '--out-train', 'a', '--out-test', 'b'), 2,
        'split: --test-ratio must be between 0 and 1 (exclusive), got: -0.2');
    });
  });
  describe('review', () => {
    const prediction = (ref: string, confidence: number): string => `{"source-ref":"s3://bkt/${ref}","p":0,"p-metadata":{"class-name":"cat",`
      + `"confidence":${confidence},"human-annotated":"no","creation-date":"2026-01-01T00:00:00","type":"groundtruth/image-classification"}}`;

    test('GIVEN predictions THEN the low-confidence ones are written for review, with the counts as JSON', async () => {
      const file = write('predictions.manifest', [prediction('a.png', 0.3), prediction('b.png', 0.99), prediction('c.png', 0.5)].join('\n'));
      const r = await run('review', file, '--out', 'review.manifest', '--below', '0.6', '--sample', '0', '--format', 'json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ out: path.join(dir, 'review.manifest'), images: 3, lowConfidence: 2, sampled: 0, skippedLines: 0 });
      expect(fs.readFileSync(path.join(dir, 'review.manifest'), 'utf8')).toBe(`${prediction('a.png', 0.3)}\n${prediction('c.png', 0.5)}\n`);
      const text = await run('review', file, '--out', 'review.manifest', '--below', '0.6', '--sample', '0');
      expect(text.stderr).toBe(`2 of 3 image(s) to review -> ${path.join(dir, 'review.manifest')}\n  2 below 0.6, 0 sampled (0 of the rest)\n`);
    });

    test('GIVEN a band outside 0..1 or no --out THEN one line and exit 2', async () => {
      const file = write('predictions.manifest', prediction('a.png', 0.3));
      expectOneLineError(await run('review', file, '--out', 'r', '--below', '70'), 2, 'review: --below must be from 0 to 1, got: 70');
      expectOneLineError(await run('review', file), 2, 'review: --out is required');
      expectOneLineError(await run('review', 'missing.manifest', '--out', 'r'), 2, `review: cannot read ${path.join(dir, 'missing.manifest')}: no such file`);
    });
  });

  describe('merge', () => {
    const reviewed = (ref: string, label: string): string => line(ref, label).replace('2024-01-01T00:00:00', '2026-06-01T00:00:00');

    test('GIVEN a reviewed manifest THEN the training manifest is replaced in place, newest annotation winning', async () => {
      const train = valid();
      const review = write('reviewed.manifest', [reviewed('b.jpg', 'cat'), reviewed('d.jpg', 'dog')].join('\n'));
      const r = await run('merge', train, review, '--out', train, '--format', 'json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ out: train, written: true, added: 1, replaced: 1, older: 0, valid: true });
      expect(fs.readFileSync(train, 'utf8').trimEnd().split('\n')).toEqual([line('a.jpg', 'cat'), reviewed('b.jpg', 'cat'), line('c.jpg', 'cat'),
        reviewed('d.jpg', 'dog')]);
      expect(fs.readdirSync(dir).sort()).toEqual(['reviewed.manifest', 'train.manifest']);
    });

    test('GIVEN a merge that would be invalid THEN nothing is written, the service\'s error is printed, exit 1', async () => {
      const train = write('train.manifest', [line('a.jpg', 'cat'), line('b.jpg', 'dog')].join('\n'));
      const before = fs.readFileSync(train, 'utf8');
      const review = write('reviewed.manifest', reviewed('b.jpg', 'cat'));
      const r = await run('merge', train, review, '--out', train);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('nothing written: 0 added, 1 replaced');
      expect(r.stderr).toContain('error: ERROR_MANIFEST_TOO_FEW_LABELS The manifest file has too few labels.');
      expect(r.stderr).toContain(`the merged manifest is not a valid training manifest; ${train} was not written`);
      expect(fs.readFileSync(train, 'utf8')).toBe(before);
    });

    test('GIVEN fewer than two manifests THEN one line and exit 2', async () => {
      expectOneLineError(await run('merge', valid(), '--out', 'x'), 2, 'merge needs a training manifest and at least one reviewed manifest');
    });
  });
});
