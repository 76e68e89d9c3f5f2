import * as fs from 'fs';
import * as jpeg from 'jpeg-js';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';

import {
  classificationSamples, cocoJsonFor, detectionSamples, rasterize, renderJpeg, renderPng, SampleImage, writeSamplesToFolder,
} from '../../lib/samples/shapes';

const pixel = (png: PNG, x: number, y: number): number[] => Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3));

describe('renderPng / renderJpeg', () => {
  test('paints a square exactly where it is asked, over the background', () => {
    // GIVEN a 10x10 red square at (5, 7) on white, no noise
    const png = PNG.sync.read(renderPng(32, 24, [{ kind: 'square', color: [224, 32, 32], left: 5, top: 7, size: 10 }], { background: [255, 255, 255] }));

    expect([png.width, png.height]).toEqual([32, 24]);
    expect(pixel(png, 5, 7)).toEqual([224, 32, 32]);
    expect(pixel(png, 14, 16)).toEqual([224, 32, 32]);
    expect(pixel(png, 4, 7)).toEqual([255, 255, 255]);
    expect(pixel(png, 15, 16)).toEqual([255, 255, 255]);
    expect(pixel(png, 14, 17)).toEqual([255, 255, 255]);
  });

  test('circles and triangles cover the pixels whose centres fall inside them; boxes are the painted bounds', () => {
    const { data, boxes } = rasterize(40, 40, [
      { kind: 'circle', color: [0, 0, 255], left: 5, top: 5, size: 10 },
      { kind: 'triangle', color: [0, 255, 0], left: 20, top: 20, size: 10 },
    ], { background: [0, 0, 0] });
    const at = (x: number, y: number): number[] => Array.from(data.subarray((y * 40 + x) * 4, (y * 40 + x) * 4 + 3));
    // circle centre (10,10) r=5: pixel (5,9) centre (5.5,9.5) is inside; corner (5,5) is not
    expect(at(5, 9)).toEqual([0, 0, 255]);
    expect(at(5, 5)).toEqual([0, 0, 0]);
    // triangle apex (25,20), base y=30: the top row (centre y 20.5, half-width 0.25) has no pixel centre inside
    expect(at(24, 20)).toEqual([0, 0, 0]);
    expect(at(24, 21)).toEqual([0, 255, 0]);
    expect(at(20, 29)).toEqual([0, 255, 0]);
    expect(boxes).toEqual([{ left: 5, top: 5, width: 10, height: 10 }, { left: 20, top: 21, width: 10, height: 9 }]);
  });

  test('noise is seeded: same seed same bytes, other seed other bytes, amplitude respected', () => {
    const shapes = [{ kind: 'square' as const, color: [224, 32, 32] as [number, number, number], left: 2, top: 2, size: 8 }];
    const a = renderPng(16, 16, shapes, { noiseSeed: 1 });
    expect(renderPng(16, 16, shapes, { noiseSeed: 1 }).equals(a)).toBe(true);
    expect(renderPng(16, 16, shapes, { noiseSeed: 2 }).equals(a)).toBe(false);
    const png = PNG.sync.read(a);
    const [r, g, b] = pixel(png, 0, 0);
    for (const v of [r, g, b]) expect(Math.abs(v - 200)).toBeLessThanOrEqual(12);
  });

  test('renderJpeg writes a JPEG of the right size', () => {
    const bytes = renderJpeg(48, 32, [{ kind: 'circle', color: [32, 32, 224], left: 8, top: 8, size: 16 }]);
    expect(Array.from(bytes.subarray(0, 3))).toEqual([0xff, 0xd8, 0xff]);
    const img = jpeg.decode(bytes, { useTArray: true });
    expect([img.width, img.height]).toEqual([48, 32]);
  });

  test('refuses a non-integer size', () => {
    expect(() => renderPng(10.5, 10, [])).toThrow('width and height must be positive integers, got: 10.5x10');
  });
});

describe('classificationSamples', () => {
  const samples = classificationSamples({ perLabel: 4, seed: 7 });

  test('perLabel images of each default label, in folders named after the label', () => {
    expect(samples).toHaveLength(12);
    expect(samples.map((s) => s.relPath).slice(0, 5)).toEqual([
      'red-circle/0001.png', 'red-circle/0002.png', 'red-circle/0003.png', 'red-circle/0004.png', 'blue-square/0001.png',
    ]);
    for (const s of samples) {
      expect(s.labels).toEqual([s.relPath.split('/')[0]]);
      expect(s.boxes).toEqual([]);
      const png = PNG.sync.read(s.bytes);
      expect([png.width, png.height, s.width, s.height]).toEqual([64, 64, 64, 64]);
    }
  });

  test('the image shows its label: a red circle is mostly red where it is not background', () => {
    const png = PNG.sync.read(samples[0].bytes);
    let red = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] > 180 && png.data[i + 1] < 80 && png.data[i + 2] < 80) red++;
    // the smallest circle (diameter 19) covers about 280 pixels
    expect(red).toBeGreaterThan(250);
  });

  test('varied: no two images alike; same seed same bytes; another seed other bytes', () => {
    expect(new Set(samples.map((s) => s.bytes.toString('base64'))).size).toBe(12);
    const again = classificationSamples({ perLabel: 4, seed: 7 });
    expect(again.every((s, i) => s.bytes.equals(samples[i].bytes))).toBe(true);
    expect(classificationSamples({ perLabel: 4, seed: 8 })[0].bytes.equals(samples[0].bytes)).toBe(false);
  });

  test('custom labels, size and JPEG format', () => {
    const s = classificationSamples({ perLabel: 1, seed: 1, size: 80, labels: ['orange-triangle'], format: 'jpeg' });
    expect(s[0].relPath).toBe('orange-triangle/0001.jpg');
    expect(jpeg.decode(s[0].bytes).width).toBe(80);
  });

  test('refuses a label it cannot draw, naming what it accepts', () => {
    expect(() => classificationSamples({ perLabel: 1, seed: 1, labels: ['pink-star'] })).toThrow(
      /^labels must be '<colour>-<shape>' with colour one of red, green, .* and shape one of circle, square, triangle, got: "pink-star"$/);
    expect(() => classificationSamples({ perLabel: -1, seed: 1 })).toThrow('perLabel must be a non-negative integer, got: -1');
  });
});

describe('detectionSamples', () => {
  const samples = detectionSamples({ images: 25, seed: 3 });

  test('1..3 shapes an image, boxes inside the image and apart from each other', () => {
    expect(samples).toHaveLength(25);
    const counts = new Set(samples.map((s) => s.boxes.length));
    expect([...counts].every((c) => c >= 1 && c <= 3)).toBe(true);
    expect(counts.size).toBeGreaterThan(1);
    for (const s of samples) {
      expect(s.relPath).toMatch(/^images\/\d{4}\.png$/);
      expect(s.labels).toEqual([...new Set(s.boxes.map((b) => b.label))]);
      s.boxes.forEach((a, i) => {
        expect(a.left).toBeGreaterThanOrEqual(0);
        expect(a.left + a.width).toBeLessThanOrEqual(64);
        expect(a.top + a.height).toBeLessThanOrEqual(64);
        s.boxes.slice(i + 1).forEach((b) => {
          const apart = a.left + a.width < b.left || b.left + b.width < a.left || a.top + a.height < b.top || b.top + b.height < a.top;
          expect(apart).toBe(true);
        });
      });
    }
  });

  test('boxes are exact: shape pixels on every edge of the box, background just outside it', () => {
    for (const s of samples.slice(0, 10)) {
      const png = PNG.sync.read(s.bytes);
      const bg = pixel(png, 0, 0);
      const isShape = (x: number, y: number): boolean => pixel(png, x, y).some((v, c) => Math.abs(v - bg[c]) > 60);
      for (const b of s.boxes) {
        const right = b.left + b.width - 1;
        const bottom = b.top + b.height - 1;
        const cols = Array.from({ length: b.width }, (_, k) => b.left + k);
        const rows = Array.from({ length: b.height }, (_, k) => b.top + k);
        expect(cols.some((x) => isShape(x, b.top))).toBe(true);
        expect(cols.some((x) => isShape(x, bottom))).toBe(true);
        expect(rows.some((y) => isShape(b.left, y))).toBe(true);
        expect(rows.some((y) => isShape(right, y))).toBe(true);
        if (b.top > 0) expect(cols.some((x) => isShape(x, b.top - 1))).toBe(false);
        if (bottom < 63) expect(cols.some((x) => isShape(x, bottom + 1))).toBe(false);
        if (b.left > 0) expect(rows.some((y) => isShape(b.left - 1, y))).toBe(false);
        if (right < 63) expect(rows.some((y) => isShape(right + 1, y))).toBe(false);
      }
    }
  });
});

describe('writeSamplesToFolder and cocoJsonFor', () => {
  test('writes <dir>/<relPath> with the sample bytes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samples-'));
    try {
      const samples = classificationSamples({ perLabel: 2, seed: 5, labels: ['red-circle', 'blue-square'] });
      writeSamplesToFolder(dir, samples);
      expect(fs.readdirSync(dir).sort()).toEqual(['blue-square', 'red-circle']);
      expect(fs.readFileSync(path.join(dir, 'blue-square', '0002.png')).equals(samples[3].bytes)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a COCO document whose annotations are the sample boxes', () => {
    const samples: SampleImage[] = [
      { relPath: 'images/a.png', bytes: Buffer.alloc(0), labels: ['red-circle'], width: 64, height: 48,
        boxes: [{ label: 'red-circle', left: 1, top: 2, width: 10, height: 12 }] },
      { relPath: 'images/b.png', bytes: Buffer.alloc(0), labels: ['blue-square', 'red-circle'], width: 64, height: 64,
        boxes: [{ label: 'blue-square', left: 3, top: 4, width: 5, height: 6 }, { label: 'red-circle', left: 30, top: 30, width: 8, height: 8 }] },
    ];
    const coco = JSON.parse(cocoJsonFor(samples));
    expect(coco.categories).toEqual([{ id: 1, name: 'blue-square', supercategory: 'shape' }, { id: 2, name: 'red-circle', supercategory: 'shape' }]);
    expect(coco.images.map((i: { id: number; file_name: string; width: number; height: number }) => [i.id, i.file_name, i.width, i.height])).toEqual([
      [1, 'images/a.png', 64, 48], [2, 'images/b.png', 64, 64],
    ]);
    expect(coco.annotations).toEqual([
      { id: 1, image_id: 1, category_id: 2, bbox: [1, 2, 10, 12], area: 120, iscrowd: 0 },
      { id: 2, image_id: 2, category_id: 1, bbox: [3, 4, 5, 6], area: 30, iscrowd: 0 },
      { id: 3, image_id: 2, category_id: 2, bbox: [30, 30, 8, 8], area: 64, iscrowd: 0 },
    ]);
    expect(typeof coco.images[0].date_captured).toBe('string');
  });
});
