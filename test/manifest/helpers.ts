/** Builders of manifest lines for the toolkit's tests: one JSON object per line, as Ground Truth writes them. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface Box { classId: number; left: number; top: number; width: number; height: number }

type Json = Record<string, unknown>;

export function clsMeta(label: string, over: Json = {}): Json {
  return {
    'confidence': 1,
    'job-name': 'labeling-job/test',
    'class-name': label,
    'human-annotated': 'yes',
    'creation-date': '2020-03-06T17:46:39.176',
    'type': 'groundtruth/image-classification',
    ...over,
  };
}

/** An image-level line; `over` replaces keys of the whole object (use undefined values to remove keys). */
export function clsLine(ref: string, label: string, over: { attr?: string; value?: unknown; meta?: Json; extra?: Json } = {}): string {
  const attr = over.attr ?? 'label';
  return JSON.stringify({ 'source-ref': ref, [attr]: 'value' in over ? over.value : 1, [`${attr}-metadata`]: clsMeta(label, over.meta), ...over.extra });
}

export interface DetOptions {
  size?: [number, number];
  classMap?: Record<string, string>;
  attr?: string;
  human?: 'yes' | 'no';
  objects?: unknown;
  meta?: Json;
  value?: Json;
}

/** A bounding-box line; `classMap` defaults to class i -> `label${i}`. */
export function detLine(ref: string, boxes: Box[], o: DetOptions = {}): string {
  const [width, height] = o.size ?? [640, 480];
  const attr = o.attr ?? 'bounding-box';
  const classMap = o.classMap ?? Object.fromEntries(boxes.map((b) => [String(b.classId), `label${b.classId}`]));
  return JSON.stringify({
    'source-ref': ref,
    [attr]: {
      image_size: [{ width, height, depth: 3 }],
      annotations: boxes.map((b) => ({ class_id: b.classId, top: b.top, left: b.left, width: b.width, height: b.height })),
      ...o.value,
    },
    [`${attr}-metadata`]: {
      'objects': o.objects ?? boxes.map(() => ({ confidence: 1 })),
      'class-map': classMap,
      'type': 'groundtruth/object-detection',
      'human-annotated': o.human ?? 'yes',
      'creation-date': '2013-11-18T02:53:27',
      'job-name': 'my job',
      ...o.meta,
    },
  });
}

export function box(classId: number, left = 10, top = 10, width = 50, height = 40): Box {
  return { classId, left, top, width, height };
}

/** n image-level lines with labels cycling through `labels`, refs s3://bucket/<prefix><i>.jpg. */
export function clsLines(n: number, labels: string[], prefix = 'img', bucket = 'bucket'): string[] {
  return Array.from({ length: n }, (_, i) => clsLine(`s3://${bucket}/${prefix}${i}.jpg`, labels[i % labels.length]));
}

export function manifest(lines: string[]): string {
  return lines.join('\n') + '\n';
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-test-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
