import * as fs from 'fs';
import * as jpeg from 'jpeg-js';
import * as path from 'path';
import { PNG } from 'pngjs';

import { ImageInspector, ImageProbe, LocalImageInspector, probeImageHeader } from '../../lib/manifest/image';
import { LineResult, validateManifest, validateManifestSync } from '../../lib/manifest/validator';
import { box, clsLine, detLine, manifest, removeDir, tmpDir } from './helpers';

function png(width: number, height: number): Buffer {
  return PNG.sync.write(new PNG({ width, height }));
}

function jpg(width: number, height: number): Buffer {
  return jpeg.encode({ data: Buffer.alloc(width * height * 4, 128), width, height }, 80).data;
}

/** A JPEG with `n` maximum-size APP1 segments after SOI, pushing the frame header past 64 KiB. */
function jpgWithBigExif(width: number, height: number, n: number): Buffer {
  const base = jpg(width, height);
  const app = Buffer.alloc(2 + 65535, 0x41);
  app[0] = 0xff;
  app[1] = 0xe1;
  app.writeUInt16BE(65535, 2);
  return Buffer.concat([base.subarray(0, 2), ...Array.from({ length: n }, () => app), base.subarray(2)]);
}

describe('probeImageHeader', () => {
  test('PNG and JPEG dimensions from real files', () => {
    expect(probeImageHeader(png(65, 70), 1234)).toEqual({ exists: true, bytes: 1234, format: 'png', width: 65, height: 70 });
    const j = jpg(100, 64);
    expect(probeImageHeader(j, j.length)).toEqual({ exists: true, bytes: j.length, format: 'jpeg', width: 100, height: 64 });
  });

  test('not an image: no format', () => {
    expect(probeImageHeader(Buffer.from('GIF89a......'), 12)).toEqual({ exists: true, bytes: 12 });
  });

  test('a JPEG whose frame header is not in the given bytes: format without dimensions', () => {
    const j = jpgWithBigExif(80, 90, 2);
    expect(probeImageHeader(j.subarray(0, 64 * 1024), j.length)).toEqual({ exists: true, bytes: j.length, format: 'jpeg' });
  });
});

describe('LocalImageInspector', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir();
  });
  afterEach(() => removeDir(dir));

  test('maps keys under rootDir; missing files and keys that leave rootDir do not exist', async () => {
    fs.mkdirSync(path.join(dir, 'a'));
    fs.writeFileSync(path.join(dir, 'a', 'b.png'), png(64, 64));
    fs.writeFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside.png`), png(64, 64));
    const inspector = new LocalImageInspector(dir);
    try {
      expect(inspector.probeSync('any-bucket', 'a/b.png')).toMatchObject({ exists: true, format: 'png', width: 64, height: 64 });
      expect(await inspector.probe('any-bucket', 'a/b.png')).toMatchObject({ exists: true, format: 'png', width: 64 });
      // A miss says which local file was tried, and why it could not be read
      expect(inspector.probeSync('b', 'a/none.png')).toEqual({ exists: false, location: path.join(dir, 'a', 'none.png'), problem: 'no such file' });
      expect(inspector.probeSync('b', 'a')).toEqual({ exists: false, location: path.join(dir, 'a'), problem: 'not a file' });
      expect(inspector.probeSync('b', `../${path.basename(dir)}-outside.png`)).toEqual({ exists: false, problem: `the key leaves ${dir}` });
      expect(await inspector.probe('b', 'a/none.png')).toMatchObject({ exists: false, location: path.join(dir, 'a', 'none.png') });
    } finally {
      fs.rmSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside.png`));
    }
  });

  test('a JPEG frame header behind 128 KiB of EXIF is still found', async () => {
    fs.writeFileSync(path.join(dir, 'big.jpg'), jpgWithBigExif(300, 200, 2));
    const inspector = new LocalImageInspector(dir);
    expect(inspector.probeSync('b', 'big.jpg')).toMatchObject({ format: 'jpeg', width: 300, height: 200 });
    expect(await inspector.probe('b', 'big.jpg')).toMatchObject({ format: 'jpeg', width: 300, height: 200 });
  });
});

describe('image checks in validation', () => {
  let dir: string;
  let inspector: LocalImageInspector;
  beforeAll(() => {
    dir = tmpDir();
    inspector = new LocalImageInspector(dir);
    const files: Record<string, Buffer> = {
      'ok.png': png(64, 64),
      'max.png': png(4096, 205),
      'small.png': png(63, 100),
      'big.png': png(4097, 100),
      'small.jpg': jpg(63, 63),
      'r20.png': png(1280, 64),
      'r21.png': png(1344, 64),
      'fake.jpg': Buffer.from('this is text'),
    };
    for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data);
    // over 15 MB: a real PNG header, then zeros (sparse)
    fs.writeFileSync(path.join(dir, 'heavy.png'), png(64, 64));
    fs.truncateSync(path.join(dir, 'heavy.png'), 15 * 1024 * 1024 + 1);
  });
  afterAll(() => removeDir(dir));

  function imageErrors(line: string): string[] {
    let result: LineResult | undefined;
    validateManifestSync(line, { images: inspector, onLine: (r) => (result = r) });
    return result!.errors.filter((e) => e.level === 'line').map((e) => e.code);
  }

  const cls = (file: string) => clsLine(`s3://bucket/${file}`, 'x');
  const det = (file: string) => detLine(`s3://bucket/${file}`, [box(0, 0, 0, 10, 10)], { size: [64, 64] });

  test.each([
    ['ok.png', []],
    ['max.png', []],
    ['r20.png', []],
    ['r21.png', ['ERROR_INVALID_IMAGE']],
    ['small.png', ['ERROR_INVALID_IMAGE']],
    ['big.png', ['ERROR_INVALID_IMAGE']],
    ['small.jpg', ['ERROR_INVALID_IMAGE']],
    ['fake.jpg', ['ERROR_INVALID_IMAGE']],
    ['heavy.png', ['ERROR_INVALID_IMAGE']],
    ['missing.png', ['ERROR_INVALID_IMAGE']],
  ])('an image-level line with %s -> %j', (file, expected) => {
    expect(imageErrors(cls(file))).toEqual(expected);
  });

  test.each([
    ['ok.png', []],
    ['small.png', ['ERROR_INVALID_IMAGE_DIMENSION']],
    ['big.png', ['ERROR_INVALID_IMAGE_DIMENSION']],
    ['small.jpg', ['ERROR_INVALID_IMAGE_DIMENSION']],
    ['r21.png', ['ERROR_INVALID_IMAGE']],
  ])('a line with boxes and %s -> %j', (file, expected) => {
    expect(imageErrors(det(file))).toEqual(expected);
  });

  test('the image errors carry the service messages and make the line invalid', () => {
    const v = validateManifestSync(manifest([cls('small.png'), det('big.png')]), { images: inspector });
    expect(v.invalidLines).toBe(2);
    expect(v.errors.filter((e) => e.line !== null).map((e) => [e.line, e.message])).toEqual([
      [1, 'The image is invalid. Check S3 path and/or image properties.'],
      [2, 'The image dimension(s) do not conform to allowed dimensions.'],
    ]);
  });

  test('lines that are invalid for other reasons are not probed', () => {
    expect(imageErrors(clsLine('s3://bucket/missing.png', 'x', { value: 'x' }))).toEqual(['ERROR_NO_VALID_LABEL_ATTRIBUTES']);
  });

  test('async: probes run concurrently (at most 16) and lines are delivered in order', async () => {
    // GIVEN an inspector that answers after a random delay and counts probes in flight
    let inFlight = 0;
    let maxInFlight = 0;
    const slow: ImageInspector = {
      probe: async (bucket: string, key: string): Promise<ImageProbe> => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5)));
        inFlight--;
        return inspector.probe(bucket, key);
      },
    };
    const lines = Array.from({ length: 60 }, (_, i) => clsLine(`s3://bucket/${i % 3 === 0 ? 'small.png' : 'ok.png'}?${i}`, i % 2 ? 'a' : 'b'));
    // the keys carry ?i to stay distinct; map them back to files
    const unique: ImageInspector = { probe: (b, k) => slow.probe(b, k.replace(/\?\d+$/, '')) };
    const order: number[] = [];
    // WHEN
    const v = await validateManifest(Buffer.from(manifest(lines)), { images: unique, onLine: (r) => order.push(r.lineNumber) });
    // THEN
    expect(order).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(16);
    expect(v.invalidLines).toBe(20);
    expect(v.errorLineNumbers).toEqual(Array.from({ length: 20 }, (_, i) => i * 3 + 1));
  });

  test('an inspector that throws counts as an unreadable image', async () => {
    const broken: ImageInspector = { probe: () => Promise.reject(new Error('network down')) };
    const v = await validateManifest(Buffer.from(manifest([cls('ok.png')])), { images: broken });
    expect(v.errors.map((e) => e.code)).toContain('ERROR_INVALID_IMAGE');
  });
});
