/**
 * Synthetic images of coloured shapes with exact ground truth, for tests, the benchmark and the demo.
 * Everything is a pure function of its arguments and seed: same call, same bytes.
 */
import * as fs from 'fs';
import * as jpeg from 'jpeg-js';
import * as path from 'path';
import { PNG } from 'pngjs';

import { Box } from '../emulator/learner/types';
import { mulberry32 } from '../manifest/random';

// Module-level copies: inside a vm context (jest) every global lookup such as Math.abs is ~50x slower.
const { abs, ceil, floor, max, min, round } = Math;

export type ShapeKind = 'circle' | 'square' | 'triangle';
export type Rgb = [number, number, number];

export interface ShapeSpec {
  kind: ShapeKind;
  color: Rgb;
  /** Pixels; the shape fits the size x size square whose top-left corner is (left, top). */
  left: number;
  top: number;
  size: number;
}

export interface RenderOptions {
  /** @default [200, 200, 200] */
  background?: Rgb;
  /** When given, every channel of every pixel moves by a seeded random amount within +-noiseAmplitude. */
  noiseSeed?: number;
  /** @default 12 */
  noiseAmplitude?: number;
}

export interface SampleImage {
  relPath: string;
  bytes: Buffer;
  labels: string[];
  boxes: Array<Box & { label: string }>;
  width: number;
  height: number;
}

export interface SampleOptions {
  seed: number;
  /** Side of the square images, pixels. @default 64 */
  size?: number;
  /** '<colour>-<shape>' names, e.g. 'red-circle'. @default DEFAULT_SAMPLE_LABELS */
  labels?: string[];
  /** @default 'png' */
  format?: 'png' | 'jpeg';
}

export const DEFAULT_SAMPLE_LABELS = ['red-circle', 'blue-square', 'green-triangle'];

/** Channel values sit on the learner's bin centres (32, 96, 160, 224) or between them; all are far from light grey. */
export const SAMPLE_COLOURS: Record<string, Rgb> = {
  red: [224, 32, 32],
  green: [32, 224, 32],
  blue: [32, 32, 224],
  yellow: [224, 224, 32],
  magenta: [224, 32, 224],
  cyan: [32, 224, 224],
  orange: [224, 128, 32],
  purple: [128, 32, 224],
  black: [32, 32, 32],
};
const SHAPES: ShapeKind[] = ['circle', 'square', 'triangle'];
const COCO_DATE = '2024-01-01 00:00:00';

/** The project's seeded generator (mulberry32), under the name the samples export. */
export const seededRandom = mulberry32;

function randomInt(rnd: () => number, low: number, high: number): number {
  return low + floor(rnd() * (high - low + 1));
}

function inside(shape: ShapeSpec, px: number, py: number): boolean {
  const { left, top, size } = shape;
  switch (shape.kind) {
    case 'square':
      return px >= left && px < left + size && py >= top && py < top + size;
    case 'circle': {
      const r = size / 2;
      const dx = px - (left + r);
      const dy = py - (top + r);
      return dx * dx + dy * dy <= r * r;
    }
    case 'triangle':
      // Apex at the top centre, base along the bottom edge.
      return py >= top && py <= top + size && abs(px - (left + size / 2)) <= (py - top) / 2;
  }
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : round(v);
}

/** RGBA pixels plus, for each shape, the box of the pixels it painted (pixel centres inside the shape). */
export function rasterize(width: number, height: number, shapes: ShapeSpec[], options: RenderOptions = {}): { data: Buffer; boxes: Box[] } {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`width and height must be positive integers, got: ${width}x${height}`);
  }
  const bg = options.background ?? [200, 200, 200];
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4] = bg[0];
    data[i * 4 + 1] = bg[1];
    data[i * 4 + 2] = bg[2];
    data[i * 4 + 3] = 255;
  }
  const boxes: Box[] = shapes.map((shape) => {
    let x0 = width, y0 = height, x1 = -1, y1 = -1;
    const xs = max(0, floor(shape.left)), xe = min(width - 1, ceil(shape.left + shape.size));
    const ys = max(0, floor(shape.top)), ye = min(height - 1, ceil(shape.top + shape.size));
    for (let y = ys; y <= ye; y++) {
      for (let x = xs; x <= xe; x++) {
        if (!inside(shape, x + 0.5, y + 0.5)) continue;
        const o = (y * width + x) * 4;
        data[o] = clampByte(shape.color[0]);
        data[o + 1] = clampByte(shape.color[1]);
        data[o + 2] = clampByte(shape.color[2]);
        x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y);
      }
    }
    return x1 < 0 ? { left: xs, top: ys, width: 0, height: 0 } : { left: x0, top: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
  });
  if (options.noiseSeed !== undefined) {
    const rnd = seededRandom(options.noiseSeed);
    const amplitude = options.noiseAmplitude ?? 12;
    for (let i = 0; i < data.length; i++) {
      if (i % 4 !== 3) data[i] = clampByte(data[i] + (rnd() * 2 - 1) * amplitude);
    }
  }
  return { data, boxes };
}

function encodeRgba(format: 'png' | 'jpeg', width: number, height: number, data: Buffer): Buffer {
  if (format === 'jpeg') return jpeg.encode({ width, height, data }, 90).data;
  const png = new PNG({ width, height });
  data.copy(png.data);
  // One fixed filter: pngjs then skips its per-row filter heuristic, which is slow and buys nothing on noisy images.
  return PNG.sync.write(png, { filterType: 1 });
}

export function renderPng(width: number, height: number, shapes: ShapeSpec[], options?: RenderOptions): Buffer {
  return encodeRgba('png', width, height, rasterize(width, height, shapes, options).data);
}

export function renderJpeg(width: number, height: number, shapes: ShapeSpec[], options?: RenderOptions): Buffer {
  return encodeRgba('jpeg', width, height, rasterize(width, height, shapes, options).data);
}

function parseLabel(label: string): { kind: ShapeKind; color: Rgb } {
  const dash = label.lastIndexOf('-');
  const colour = SAMPLE_COLOURS[label.slice(0, dash)];
  const kind = SHAPES.find((s) => s === label.slice(dash + 1));
  if (dash < 0 || !colour || !kind) {
    throw new Error(`labels must be '<colour>-<shape>' with colour one of ${Object.keys(SAMPLE_COLOURS).join(', ')} `
      + `and shape one of ${SHAPES.join(', ')}, got: "${label}"`);
  }
  return { kind, color: colour };
}

function jitter(rnd: () => number, colour: Rgb): Rgb {
  return colour.map((c) => clampByte(c + randomInt(rnd, -12, 12))) as Rgb;
}

function checkOptions(count: number, countName: string, options: SampleOptions): { size: number; labels: string[]; format: 'png' | 'jpeg' } {
  const size = options.size ?? 64;
  if (!Number.isInteger(count) || count < 0) throw new Error(`${countName} must be a non-negative integer, got: ${count}`);
  if (!Number.isInteger(size) || size < 16) throw new Error(`size must be an integer >= 16, got: ${size}`);
  const labels = options.labels ?? DEFAULT_SAMPLE_LABELS;
  if (labels.length === 0) throw new Error('labels must not be empty');
  labels.forEach(parseLabel);
  return { size, labels, format: options.format ?? 'png' };
}

const pad = (n: number): string => String(n).padStart(4, '0');

/** `perLabel` images of each label, one shape each, varied size, position, shade, background and noise. */
export function classificationSamples(options: SampleOptions & { perLabel: number }): SampleImage[] {
  const { size, labels, format } = checkOptions(options.perLabel, 'perLabel', options);
  const rnd = seededRandom(options.seed);
  const out: SampleImage[] = [];
  for (const label of labels) {
    const { kind, color } = parseLabel(label);
    for (let n = 1; n <= options.perLabel; n++) {
      const side = randomInt(rnd, round(size * 0.3), round(size * 0.7));
      const left = randomInt(rnd, 0, size - side);
      const top = randomInt(rnd, 0, size - side);
      const shape: ShapeSpec = { kind, color: jitter(rnd, color), left, top, size: side };
      const grey = randomInt(rnd, 180, 220);
      const { data } = rasterize(size, size, [shape], { background: [grey, grey, grey], noiseSeed: randomInt(rnd, 0, 0x7fffffff) });
      const bytes = encodeRgba(format, size, size, data);
      out.push({ relPath: `${label}/${pad(n)}.${format === 'png' ? 'png' : 'jpg'}`, bytes, labels: [label], boxes: [], width: size, height: size });
    }
  }
  return out;
}

/** `images` images of 1..3 non-overlapping shapes (2 px apart at least); boxes are the painted pixels' exact bounds. */
export function detectionSamples(options: SampleOptions & { images: number }): SampleImage[] {
  const { size, labels, format } = checkOptions(options.images, 'images', options);
  const rnd = seededRandom(options.seed);
  const out: SampleImage[] = [];
  for (let n = 1; n <= options.images; n++) {
    const wanted = randomInt(rnd, 1, 3);
    const shapes: ShapeSpec[] = [];
    const names: string[] = [];
    for (let attempt = 0; attempt < 100 && shapes.length < wanted; attempt++) {
      const side = randomInt(rnd, round(size * 0.18), round(size * 0.4));
      const left = randomInt(rnd, 0, size - side);
      const top = randomInt(rnd, 0, size - side);
      const clear = shapes.every((s) => left + side + 2 <= s.left || s.left + s.size + 2 <= left
        || top + side + 2 <= s.top || s.top + s.size + 2 <= top);
      if (!clear) continue;
      const label = labels[randomInt(rnd, 0, labels.length - 1)];
      const { kind, color } = parseLabel(label);
      shapes.push({ kind, color: jitter(rnd, color), left, top, size: side });
      names.push(label);
    }
    const grey = randomInt(rnd, 180, 220);
    const renderOptions: RenderOptions = { background: [grey, grey, grey], noiseSeed: randomInt(rnd, 0, 0x7fffffff) };
    const { data, boxes } = rasterize(size, size, shapes, renderOptions);
    out.push({
      relPath: `images/${pad(n)}.${format === 'png' ? 'png' : 'jpg'}`,
      bytes: encodeRgba(format, size, size, data),
      labels: [...new Set(names)],
      boxes: boxes.map((b, i) => ({ ...b, label: names[i] })),
      width: size,
      height: size,
    });
  }
  return out;
}

/** Writes each sample to <dir>/<relPath>, creating folders as needed. */
export function writeSamplesToFolder(dir: string, samples: SampleImage[]): void {
  for (const sample of samples) {
    const file = path.join(dir, ...sample.relPath.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, sample.bytes);
  }
}

/** A COCO object-detection document for the samples: file_name = relPath, category ids 1.. in label order. */
export function cocoJsonFor(samples: SampleImage[]): string {
  const names = [...new Set(samples.flatMap((s) => s.boxes.map((b) => b.label)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const categoryId = new Map(names.map((name, i) => [name, i + 1]));
  let annotationId = 0;
  const coco = {
    info: { description: 'Synthetic shapes', version: '1.0', year: 2024, date_created: COCO_DATE },
    licenses: [],
    images: samples.map((s, i) => ({ id: i + 1, file_name: s.relPath, width: s.width, height: s.height, date_captured: COCO_DATE })),
    annotations: samples.flatMap((s, i) => s.boxes.map((b) => ({
      id: ++annotationId,
      image_id: i + 1,
      category_id: categoryId.get(b.label)!,
      bbox: [b.left, b.top, b.width, b.height],
      area: b.width * b.height,
      iscrowd: 0,
    }))),
    categories: names.map((name) => ({ id: categoryId.get(name)!, name, supercategory: 'shape' })),
  };
  return JSON.stringify(coco, null, 2);
}
